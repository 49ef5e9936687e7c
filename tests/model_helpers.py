"""Helpers for tests: tiny networks with seeded random weights, saved the way the official checkpoint is."""

from __future__ import annotations

from pathlib import Path

import torch

from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig

#: A CodeFormer small enough for fast tests: 32x32 faces, 8x8 latent grid, fusion at 16 and 32.
TINY_CONFIG = dict(
    img_size=32,
    nf=32,
    ch_mult=(1, 1, 2),
    attn_resolutions=(8,),
    latent_size=64,
    connect_list=(16, 32),
    emb_dim=32,
    dim_embd=32,
    n_head=8,
    n_layers=2,
    codebook_size=16,
)
#: Like TINY_CONFIG but with 64x64 faces, so Winograd convolutions (>= 32x32 maps) are exercised.
SMALL_CONFIG = {**TINY_CONFIG, "img_size": 64, "ch_mult": (1, 1, 2, 2), "connect_list": (32, 64)}


def perturb_(model: torch.nn.Module, seed: int, scale: float = 0.05) -> torch.nn.Module:
    """Add seeded noise to every parameter so that none stays at its initial value (zeros, ones...)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            spread = param.std() if param.numel() > 1 and param.std() > 0 else torch.tensor(1.0)
            param.add_(scale * spread * torch.randn(param.shape, generator=generator))
    return model


def make_model(config: dict, seed: int = 0) -> CodeFormer:
    torch.manual_seed(seed)
    return perturb_(CodeFormer(CodeFormerConfig(**config)), seed + 1).eval()


def save_official_style(model: torch.nn.Module, path: Path) -> Path:
    """Save as the official ``codeformer.pth`` is saved: the state dict under ``params_ema``."""
    torch.save({"params_ema": model.state_dict()}, path)
    return path


def random_faces(batch: int, size: int, seed: int) -> torch.Tensor:
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


#: TINY_CONFIG's widths with 512x512 faces (six halvings to the 8x8 grid): real-size crops, so that whole-photo
#: tests see the official crop and paste geometry; about 1 s per face on one CPU thread.
FACE_512_CONFIG = {**TINY_CONFIG, "img_size": 512, "ch_mult": (1, 1, 1, 1, 1, 1, 2)}
