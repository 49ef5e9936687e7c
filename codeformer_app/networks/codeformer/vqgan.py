"""VQGAN parts: the encoder, the nearest-neighbour codebook quantizer and the generator (decoder).

The encoder and generator keep their layers in one flat ``blocks`` list, as the official checkpoint does
(``encoder.blocks.N.*``, ``generator.blocks.N.*``). Instead of hard-coding which list index sits where, both
record while they are built where each resolution's features can be tapped or fused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .layers import AttnBlock, Downsample, ResBlock, Upsample, conv3x3, group_norm

FuseFn = Callable[[int, torch.Tensor], torch.Tensor]


def level_resolutions(img_size: int, num_levels: int) -> list[int]:
    """Spatial size at each encoder level, from the input size down to the latent grid."""
    return [img_size // 2**level for level in range(num_levels)]


class Encoder(nn.Module):
    """Image -> latent grid of ``emb_dim`` channels, ``2 ** (len(ch_mult) - 1)`` times smaller."""

    def __init__(
        self,
        in_channels: int,
        nf: int,
        emb_dim: int,
        ch_mult: tuple[int, ...],
        res_blocks: int,
        img_size: int,
        attn_resolutions: Collection[int],
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = [conv3x3(in_channels, nf)]
        #: resolution -> index of the block after which that resolution's skip features are read
        #: (the last residual block of the level, before any attention block).
        self.skip_points: dict[int, int] = {}
        channels = nf
        resolutions = level_resolutions(img_size, len(ch_mult))
        for level, (mult, resolution) in enumerate(zip(ch_mult, resolutions, strict=True)):
            for _ in range(res_blocks):
                blocks.append(ResBlock(channels, nf * mult))
                channels = nf * mult
                self.skip_points[resolution] = len(blocks) - 1
                if resolution in attn_resolutions:
                    blocks.append(AttnBlock(channels))
            if level != len(ch_mult) - 1:
                blocks.append(Downsample(channels))
        # bottleneck: residual, attention, residual; then project to the codebook dimension
        blocks += [ResBlock(channels, channels), AttnBlock(channels), ResBlock(channels, channels)]
        blocks += [group_norm(channels), conv3x3(channels, emb_dim)]
        self.blocks = nn.ModuleList(blocks)

    def forward(
        self, x: torch.Tensor, skip_resolutions: Collection[int] = ()
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Return the latent grid and the features at ``skip_resolutions`` (for the fusion blocks)."""
        wanted = {self.skip_points[r]: r for r in skip_resolutions}
        skips: dict[int, torch.Tensor] = {}
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in wanted:
                skips[wanted[index]] = x
        return x, skips


class Generator(nn.Module):
    """Latent grid -> RGB image; a mirror of the encoder with upsampling instead of downsampling."""

    def __init__(
        self,
        nf: int,
        emb_dim: int,
        ch_mult: tuple[int, ...],
        res_blocks: int,
        img_size: int,
        attn_resolutions: Collection[int],
        out_channels: int = 3,
    ) -> None:
        super().__init__()
        channels = nf * ch_mult[-1]
        blocks: list[nn.Module] = [conv3x3(emb_dim, channels)]
        blocks += [ResBlock(channels, channels), AttnBlock(channels), ResBlock(channels, channels)]
        #: resolution -> index of the block after which encoder features may be fused in
        #: (the first residual block of the level).
        self.fusion_points: dict[int, int] = {}
        resolutions = level_resolutions(img_size, len(ch_mult))
        for level in reversed(range(len(ch_mult))):
            resolution = resolutions[level]
            for block_number in range(res_blocks):
                blocks.append(ResBlock(channels, nf * ch_mult[level]))
                channels = nf * ch_mult[level]
                if block_number == 0:
                    self.fusion_points[resolution] = len(blocks) - 1
                if resolution in attn_resolutions:
                    blocks.append(AttnBlock(channels))
            if level != 0:
                blocks.append(Upsample(channels))
        blocks += [group_norm(channels), conv3x3(channels, out_channels)]
        self.blocks = nn.ModuleList(blocks)

    def run(self, x: torch.Tensor, start: int = 0, stop: int | None = None, fuse: FuseFn | None = None) -> torch.Tensor:
        """Run blocks ``start`` to ``stop`` (exclusive); ``fuse`` is called at each fusion point."""
        stop = len(self.blocks) if stop is None else stop
        fusion_at = {index: resolution for resolution, index in self.fusion_points.items()}
        for index in range(start, stop):
            x = self.blocks[index](x)
            if fuse is not None and index in fusion_at:
                x = fuse(fusion_at[index], x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)


@dataclass(frozen=True)
class QuantizerOutput:
    quantized: torch.Tensor
    """Codebook vectors in place of the input, with a straight-through gradient to the input."""
    indices: torch.Tensor
    """Chosen code per position, shape (B, H*W)."""
    loss: torch.Tensor
    """Codebook term plus ``beta`` times the commitment term."""
    perplexity: torch.Tensor
    """exp(entropy) of the code usage in this batch: how many codes are in effective use."""


class NearestQuantizer(nn.Module):
    """Vector quantizer that replaces each latent vector by its nearest codebook entry."""

    def __init__(self, codebook_size: int, emb_dim: int, beta: float = 0.25) -> None:
        super().__init__()
        self.codebook_size = codebook_size
        self.emb_dim = emb_dim
        self.beta = beta
        self.embedding = nn.Embedding(codebook_size, emb_dim)
        nn.init.uniform_(self.embedding.weight, -1.0 / codebook_size, 1.0 / codebook_size)

    def nearest_indices(self, z: torch.Tensor) -> torch.Tensor:
        """Latent grid (B, C, H, W) -> index of the nearest code at each position, (B, H*W)."""
        b = z.shape[0]
        flat = z.permute(0, 2, 3, 1).reshape(-1, self.emb_dim)
        codebook = self.embedding.weight
        distances = flat.pow(2).sum(dim=1, keepdim=True) + codebook.pow(2).sum(dim=1) - 2.0 * flat @ codebook.t()
        return distances.argmin(dim=1).reshape(b, -1)

    def lookup(self, indices: torch.Tensor, grid_size: tuple[int, int]) -> torch.Tensor:
        """Indices (B, H*W) -> codebook vectors arranged as a latent grid (B, C, H, W)."""
        h, w = grid_size
        vectors = F.embedding(indices, self.embedding.weight)  # (B, H*W, C)
        return vectors.reshape(indices.shape[0], h, w, self.emb_dim).permute(0, 3, 1, 2).contiguous()

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        indices = self.nearest_indices(z)
        codes = self.lookup(indices, (z.shape[2], z.shape[3]))
        codebook_term = F.mse_loss(codes, z.detach())
        commitment_term = F.mse_loss(z, codes.detach())
        usage = F.one_hot(indices.reshape(-1), self.codebook_size).float().mean(dim=0)
        perplexity = torch.exp(-(usage * torch.log(usage + 1e-10)).sum())
        return QuantizerOutput(
            quantized=z + (codes - z).detach(),
            indices=indices,
            loss=codebook_term + self.beta * commitment_term,
            perplexity=perplexity,
        )
