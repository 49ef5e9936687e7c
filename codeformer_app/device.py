"""Choosing where the network runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .defaults import DEVICE_CHOICES

if TYPE_CHECKING:
    import torch


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` prefers CUDA, then Apple MPS, then the CPU; an explicit choice that is absent is an error."""
    import torch  # here, not at the top: the GUI reads DEVICE_CHOICES before it may import PyTorch

    if name not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ValueError(f"device {name!r} was asked for but is not available on this computer")
    return torch.device(name)
