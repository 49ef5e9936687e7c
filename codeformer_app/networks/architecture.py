"""The small typed descriptor every network folder exports, spandrel-style.

Each folder (``codeformer/``, ``parsenet/``, ``realesrgan/``, ``retinaface/``, ``mtcnn/``) knows three things
about its network and nothing else: which keys a state dict of it has (``detect``), which hyperparameters its
tensor shapes imply (``describe``, a typed config), and how to build the module with those tensors loaded
strictly (``build``). Reading files, knowing where they are installed and using the networks on photos live
above this layer (``weights/``, ``detection/``, ``pipeline/``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import torch

from .state_dict import StateDict, missing_keys

ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class Architecture(Generic[ConfigT]):
    """One network family: how to recognise, describe and build it from a state dict."""

    name: str
    """Shown in messages ("does not match the ParseNet network")."""
    signature_keys: tuple[str, ...]
    """Keys every state dict of this network has; their absence means "some other network"."""
    describe: Callable[[StateDict, Path | None], ConfigT]
    """Hyperparameters read off the shapes; ``WeightsError`` naming the file when they make no sense."""
    build: Callable[[StateDict, Path | None], torch.nn.Module]
    """The module with the state dict loaded strictly, in evaluation mode, on the CPU."""
    keys_of: Callable[[StateDict], StateDict] = field(default=lambda state_dict: state_dict)
    """The state dict as the module names it (e.g. without a ``module.`` prefix), before ``detect`` looks."""

    def detect(self, state_dict: StateDict) -> bool:
        """Whether this state dict is one of this network's (by its keys only: cheap)."""
        return not missing_keys(self.keys_of(state_dict), self.signature_keys)


def identify(state_dict: StateDict, architectures: tuple[Architecture, ...]) -> Architecture | None:
    """The first architecture whose keys this state dict has, or None for an unknown network."""
    return next((arch for arch in architectures if arch.detect(state_dict)), None)
