"""Reading network weights from a file safely, and writing our own ``.safetensors`` exports.

``.pth`` files are only ever opened with ``torch.load(weights_only=True)``, so a checkpoint that smuggles in
Python objects is refused instead of executed. Every problem becomes a ``WeightsError`` naming the file.
Turning the tensors into a network is each network folder's job (``codeformer_app.networks``).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import WeightsError
from ..networks.codeformer import CodeFormer, CodeFormerConfig
from ..networks.codeformer.load import CONFIG_METADATA_KEY, build_codeformer
from ..networks.state_dict import StateDict

#: Wrapper keys under which training frameworks (basicsr) store the network's state dict.
STATE_DICT_WRAPPERS = ("params_ema", "params")


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
