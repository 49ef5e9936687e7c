"""CodeFormer from a state dict: recognise it by its keys, read its hyperparameters off the tensor shapes, and
build the network with the tensors loaded strictly.

The shapes are the source of truth, so the official checkpoint, the colorization and inpainting members of
the family, and small test or fine-tuned networks all load through this one path. Files are read by
``weights.safe_load``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ...errors import WeightsError
from ..architecture import Architecture
from ..state_dict import StateDict, load_strict, missing_keys, without_random_init
from .codeformer import CodeFormer, CodeFormerConfig

#: safetensors metadata key holding the network configuration as JSON (our own exports carry it).
CONFIG_METADATA_KEY = "codeformer_app.config"
#: Keys every CodeFormer state dict has; their absence means "some other network".
SIGNATURE_KEYS = (
    "position_emb",
    "feat_emb.weight",
    "idx_pred_layer.1.weight",
    "quantize.embedding.weight",
    "encoder.blocks.0.weight",
    "generator.blocks.0.weight",
)


def _block_indices(state_dict: StateDict, prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.")
    return sorted({int(m.group(1)) for key in state_dict if (m := pattern.match(key))})


def describe_codeformer(state_dict: StateDict, path: Path | None = None, n_head: int | None = None) -> CodeFormerConfig:
    """Read the CodeFormer hyperparameters off the shapes of a state dict.

    ``n_head`` cannot be seen in the shapes; it defaults to the official 8.
    """
    missing = missing_keys(state_dict, SIGNATURE_KEYS)
    if missing:
        raise WeightsError(path, "this is not a CodeFormer checkpoint (missing keys: " + ", ".join(missing) + ")")
    nf = state_dict["encoder.blocks.0.weight"].shape[0]
    codebook_size, emb_dim = state_dict["quantize.embedding.weight"].shape
    latent_size, dim_embd = state_dict["position_emb"].shape
    latent_side = math.isqrt(latent_size)
    if latent_side**2 != latent_size:
        raise WeightsError(path, f"position_emb has {latent_size} positions, which is not a square grid")

    # Walk the encoder's flat block list: residual blocks grouped into levels split by downsampling.
    levels: list[dict] = [{"res_out": [], "attn": False}]
    for index in _block_indices(state_dict, "encoder.blocks")[1:]:
        prefix = f"encoder.blocks.{index}."
        if prefix + "norm1.weight" in state_dict:
            levels[-1]["res_out"].append(state_dict[prefix + "conv1.weight"].shape[0])
        elif prefix + "q.weight" in state_dict:
            # attention inside a level's residual run (not the bottleneck's) marks an attention resolution
            if len(levels[-1]["res_out"]) <= len(levels[0]["res_out"]):
                levels[-1]["attn"] = True
        elif prefix + "conv.weight" in state_dict:
            levels.append({"res_out": [], "attn": False})
    res_blocks = len(levels[0]["res_out"])
    if res_blocks == 0:
        raise WeightsError(path, "the encoder has no residual blocks; this is not a CodeFormer checkpoint")
    ch_mult = tuple(level["res_out"][0] // nf for level in levels)
    img_size = latent_side * 2 ** (len(levels) - 1)
    attn_resolutions = tuple(img_size // 2**i for i, level in enumerate(levels) if level["attn"])
    connect_list = tuple(sorted({int(key.split(".")[1]) for key in state_dict if key.startswith("fuse_convs_dict.")}))
    return CodeFormerConfig(
        dim_embd=dim_embd,
        n_head=n_head or CodeFormerConfig.n_head,
        n_layers=len(_block_indices(state_dict, "ft_layers")),
        codebook_size=codebook_size,
        latent_size=latent_size,
        connect_list=connect_list,
        img_size=img_size,
        nf=nf,
        ch_mult=ch_mult,
        res_blocks=res_blocks,
        attn_resolutions=attn_resolutions,
        emb_dim=emb_dim,
    )


def config_from_metadata(metadata: dict[str, str]) -> CodeFormerConfig | None:
    text = metadata.get(CONFIG_METADATA_KEY)
    if not text:
        return None
    return CodeFormerConfig.from_dict(json.loads(text))


def build_codeformer(
    state_dict: StateDict, metadata: dict[str, str] | None = None, path: Path | None = None
) -> CodeFormer:
    """A CodeFormer with this state dict loaded strictly; ``WeightsError`` lists what does not fit."""
    config = config_from_metadata(metadata or {}) or describe_codeformer(state_dict, path)
    try:
        with without_random_init():  # every tensor is loaded strictly below
            model = CodeFormer(config)
    except ValueError as error:
        raise WeightsError(path, f"the checkpoint describes an unsupported network ({error})") from None
    load_strict(model, state_dict, path, "CodeFormer")
    return model.eval()


def no_fidelity_warning(path: Path) -> str:
    """Weights without fusion (CFT) blocks load and restore, but the fidelity weight cannot change anything."""
    return (
        f"{path}: these weights have no fidelity (CFT) blocks, so the fidelity setting (-w) has no effect: "
        "every face is restored as at w = 0"
    )


def _build(state_dict: StateDict, path: Path | None) -> CodeFormer:
    return build_codeformer(state_dict, None, path)


ARCHITECTURE: Architecture[CodeFormerConfig] = Architecture(
    name="CodeFormer", signature_keys=SIGNATURE_KEYS, describe=describe_codeformer, build=_build
)
