"""Weights management: the registry of official files, download, import/convert, verify, and lookup.

Core code only (no Qt, no terminal UI). The CLI front end is ``codeformer_app.cli.weights_cmd``.
"""

from .download import DownloadCancelled, download
from .index import InstalledRecord, load_index
from .install import import_weights, install_official
from .inventory import VerifyResult, WeightsStatus, verify_installed, weights_status
from .paths import WEIGHTS_DIR_ENV, installed_path, weights_dir
from .registry import URL_BASE_ENV, NetworkKind, WeightsEntry, entries, find_entry, lookup
from .resolve import (
    WeightsMissingError,
    find_installed,
    missing_message,
    resolve_codeformer_weights,
    resolve_weights,
)

__all__ = [
    "URL_BASE_ENV",
    "WEIGHTS_DIR_ENV",
    "DownloadCancelled",
    "InstalledRecord",
    "NetworkKind",
    "VerifyResult",
    "WeightsEntry",
    "WeightsMissingError",
    "WeightsStatus",
    "download",
    "entries",
    "find_entry",
    "find_installed",
    "import_weights",
    "install_official",
    "installed_path",
    "load_index",
    "lookup",
    "missing_message",
    "resolve_codeformer_weights",
    "resolve_weights",
    "verify_installed",
    "weights_dir",
    "weights_status",
]
