"""Weights management: the registry of official files, download, import/convert, verify, and lookup.

Core code only (no Qt, no terminal UI). The CLI front end is ``codeformer_app.cli.weights_cmd``.
Names are imported from their modules on first use, so ``from codeformer_app.weights import find_installed``
does not load the HTTP client or PyTorch with it.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module (in this package) that defines it.
_HOMES = {
    "DownloadCancelled": "download",
    "download": "download",
    "InstalledRecord": "index",
    "load_index": "index",
    "import_weights": "install",
    "install_official": "install",
    "VerifyResult": "inventory",
    "WeightsStatus": "inventory",
    "verify_installed": "inventory",
    "weights_status": "inventory",
    "WEIGHTS_DIR_ENV": "paths",
    "installed_path": "paths",
    "weights_dir": "paths",
    "import_original": "originals",
    "DEFAULT_REGISTRY": "registry",
    "URL_BASE_ENV": "registry",
    "NetworkKind": "registry",
    "Registry": "registry",
    "WeightsEntry": "registry",
    "WeightsMissingError": "resolve",
    "find_installed": "resolve",
    "missing_message": "resolve",
    "resolve_codeformer_weights": "resolve",
    "resolve_weights": "resolve",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
