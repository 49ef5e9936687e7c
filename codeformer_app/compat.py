"""Importing basicsr 1.4.2 (the last release on PyPI) with current torchvision.

basicsr's ``data/degradations.py`` imports ``rgb_to_grayscale`` from ``torchvision.transforms.functional_tensor``,
a private module torchvision removed in 0.17; the same function lives on in
``torchvision.transforms.functional``. Before basicsr is imported we register a module under the old name that
re-exports it. Nothing else of basicsr changes, and nothing is patched on disk.
"""

from __future__ import annotations

import importlib
import sys
import types
from types import ModuleType

REMOVED_MODULE = "torchvision.transforms.functional_tensor"


def _provide_functional_tensor() -> None:
    if REMOVED_MODULE in sys.modules:
        return
    try:
        importlib.import_module(REMOVED_MODULE)  # an older torchvision still has it
        return
    except ModuleNotFoundError:
        pass
    from torchvision.transforms import functional

    stand_in = types.ModuleType(REMOVED_MODULE, "Stand-in for the module torchvision removed in 0.17.")
    stand_in.rgb_to_grayscale = functional.rgb_to_grayscale
    sys.modules[REMOVED_MODULE] = stand_in


def import_basicsr(submodule: str = "") -> ModuleType:
    """``basicsr`` or one of its submodules (e.g. ``"archs.rrdbnet_arch"``), importable with new torchvision."""
    _provide_functional_tensor()
    return importlib.import_module("basicsr" + (f".{submodule}" if submodule else ""))
