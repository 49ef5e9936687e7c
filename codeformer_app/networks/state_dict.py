"""What every network folder needs to turn a state dict into a module: strict loading and building without
PyTorch's random fill. No file is read here (files are ``weights.safe_load``'s job)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from ..errors import WeightsError

StateDict = dict[str, torch.Tensor]

#: PyTorch's initialisers that layers call while they are built.
_INITIALISERS = ("kaiming_uniform_", "uniform_", "normal_", "zeros_", "ones_", "constant_", "xavier_uniform_")
#: How many names a mismatch message lists before it says "... (N more)".
LISTED_NAMES = 12


@contextlib.contextmanager
def without_random_init() -> Iterator[None]:
    """Build layers without filling them with random numbers: a strict load overwrites every tensor next, and
    the random fill of the full-size CodeFormer costs ~0.8 s of a cold start. (Not for concurrent model
    building on other threads: the initialisers are swapped process-wide for the moment.)"""
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


def missing_keys(state_dict: StateDict, required: tuple[str, ...]) -> list[str]:
    """The signature keys of a network that this state dict lacks (none: it is that network)."""
    return [key for key in required if key not in state_dict]


def _listing(items: list[str], limit: int = LISTED_NAMES) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
