"""Reading CodeFormer weights safely and building the matching network from them.

``.pth`` files are only ever opened with ``torch.load(weights_only=True)``, so a checkpoint that smuggles in
Python objects is refused instead of executed. The hyperparameters are read off the tensor shapes, so the
official checkpoint and small test or fine-tuned ones load through the same path.
"""

from __future__ import annotations

import contextlib
import json
import math
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import WeightsError
from .codeformer import CodeFormer, CodeFormerConfig

StateDict = dict[str, torch.Tensor]

#: Wrapper keys under which training frameworks (basicsr) store the network's state dict.
STATE_DICT_WRAPPERS = ("params_ema", "params")
#: safetensors metadata key holding the network configuration as JSON.
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


def read_state_dict(path: Path) -> tuple[StateDict, dict[str, str]]:
    """Tensors and metadata from a ``.safetensors`` or ``.pth`` file; ``WeightsError`` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(path, "file not found")
    if path.stat().st_size == 0:
        raise WeightsError(path, "file is empty (0 bytes)")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    return _read_pth(path), {}


def _read_safetensors(path: Path) -> tuple[StateDict, dict[str, str]]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = dict(f.metadata() or {})
            tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 - safe_open has no iterator
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(path, f"not a readable safetensors file, it may be truncated ({error})") from None
    return tensors, metadata


#: How PyTorch checkpoints begin: a zip archive's local header (PyTorch >= 1.6) or the protocol mark of a
#: pickle (older releases). Checked on the first bytes, so a truncated file still counts as a checkpoint.
CHECKPOINT_MAGIC = (b"PK\x03\x04", b"\x80")


def _is_pytorch_container(path: Path) -> bool:
    """Anything else is not a checkpoint at all (a text file, an image ...)."""
    with path.open("rb") as file:
        head = file.read(4)
    return any(head.startswith(magic) for magic in CHECKPOINT_MAGIC)


def _read_pth(path: Path) -> StateDict:
    try:
        if not _is_pytorch_container(path):
            raise WeightsError(path, "not a PyTorch checkpoint (neither a zip archive nor a pickle)")
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(
            path,
            "refused to load: the file contains Python objects other than tensors, which could run code "
            f"on this computer. Use the official file or a .safetensors file. ({first_line})",
        ) from None
    except WeightsError:
        raise
    except Exception as error:  # torch's safe loader raises many kinds (IndexError, KeyError ...) on junk
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise WeightsError(path, f"not a readable PyTorch checkpoint, it may be truncated ({reason})") from None
    return unwrap_state_dict(loaded, path)


def unwrap_state_dict(loaded: object, path: Path | None = None) -> StateDict:
    """The plain ``name -> tensor`` mapping inside a loaded checkpoint object."""
    if isinstance(loaded, dict):
        for wrapper in STATE_DICT_WRAPPERS:
            if isinstance(loaded.get(wrapper), dict):
                loaded = loaded[wrapper]
                break
    if not isinstance(loaded, dict) or not loaded:
        raise WeightsError(path, "the checkpoint holds no state dict (no tensors found)")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()):
        raise WeightsError(path, "the checkpoint holds something other than a flat name -> tensor state dict")
    return dict(loaded)


def _block_indices(state_dict: StateDict, prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)\.")
    return sorted({int(m.group(1)) for key in state_dict if (m := pattern.match(key))})


def describe_codeformer(state_dict: StateDict, path: Path | None = None, n_head: int | None = None) -> CodeFormerConfig:
    """Read the CodeFormer hyperparameters off the shapes of a state dict.

    ``n_head`` cannot be seen in the shapes; it defaults to the official 8.
    """
    missing = [key for key in SIGNATURE_KEYS if key not in state_dict]
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


def _config_from_metadata(metadata: dict[str, str]) -> CodeFormerConfig | None:
    text = metadata.get(CONFIG_METADATA_KEY)
    if not text:
        return None
    return CodeFormerConfig.from_dict(json.loads(text))


def build_codeformer(state_dict: StateDict, metadata: dict[str, str] | None = None, path: Path | None = None):
    """A CodeFormer with this state dict loaded strictly; ``WeightsError`` lists what does not fit."""
    config = _config_from_metadata(metadata or {}) or describe_codeformer(state_dict, path)
    try:
        with _without_random_init():  # every tensor is loaded strictly below
            model = CodeFormer(config)
    except ValueError as error:
        raise WeightsError(path, f"the checkpoint describes an unsupported network ({error})") from None
    load_strict(model, state_dict, path, "CodeFormer")
    return model.eval()


#: PyTorch's initialisers that layers call while they are built.
_INITIALISERS = ("kaiming_uniform_", "uniform_", "normal_", "zeros_", "ones_", "constant_", "xavier_uniform_")


@contextlib.contextmanager
def _without_random_init() -> Iterator[None]:
    """Build layers without filling them with random numbers: a strict load overwrites every tensor next, and
    the random fill of the full-size network costs ~0.8 s of a cold start. (Not for concurrent model building
    on other threads: the initialisers are swapped process-wide for the moment.)"""
    saved = {name: getattr(torch.nn.init, name) for name in _INITIALISERS}
    try:
        for name in _INITIALISERS:
            setattr(torch.nn.init, name, _leave_as_is)
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def _leave_as_is(tensor: torch.Tensor, *_args: object, **_kwargs: object) -> torch.Tensor:
    return tensor


def load_strict(network: torch.nn.Module, state_dict: StateDict, path: Path | None, network_name: str) -> None:
    """Load a state dict with strict=True; anything that does not fit becomes one ``WeightsError`` listing
    the missing keys, unexpected keys and tensors of the wrong shape (shared by every network we load)."""
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    wrong_shape = sorted(
        f"{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and state_dict[k].shape != v.shape
    )
    problems = [
        f"{len(items)} {what}: {_listing(items)}"
        for what, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("tensors of the wrong shape", wrong_shape),
        )
        if items
    ]
    if problems:
        raise WeightsError(path, f"does not match the {network_name} network: " + "; ".join(problems))
    network.load_state_dict(state_dict, strict=True)


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def no_fidelity_warning(path: Path) -> str:
    """Weights without fusion (CFT) blocks load and restore, but the fidelity weight cannot change anything."""
    return (
        f"{path}: these weights have no fidelity (CFT) blocks, so the fidelity setting (-w) has no effect: "
        "every face is restored as at w = 0"
    )


def load_codeformer(path: Path, device: str | torch.device = "cpu") -> CodeFormer:
    """Read, validate and build the network from a weights file, ready for inference on ``device``."""
    state_dict, metadata = read_state_dict(Path(path))
    return build_codeformer(state_dict, metadata, Path(path)).to(device)


def save_codeformer_safetensors(
    state_dict: StateDict, path: Path, config: CodeFormerConfig, extra_metadata: dict[str, str] | None = None
) -> None:
    """Write a state dict as safetensors with the network configuration in its metadata."""
    metadata = {CONFIG_METADATA_KEY: json.dumps(config.to_dict()), **(extra_metadata or {})}
    tensors = {k: v.detach().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(path), metadata=metadata)
