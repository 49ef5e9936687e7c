"""Where the app keeps its weights: a per-user data folder, overridable for portable installs and tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from ..errors import WeightsError
from .registry import WeightsEntry

#: Folder name under the platform's per-user data folder.
APP_DATA_NAME = "CodeFormerApp"
#: Environment variable that replaces the default weights folder.
WEIGHTS_DIR_ENV = "CODEFORMER_APP_WEIGHTS_DIR"
#: Record of what is installed (see ``index.py``).
INDEX_FILE_NAME = "installed.json"
#: Suffix of a download in progress; kept on failure so the next attempt resumes.
PARTIAL_SUFFIX = ".part"


def weights_dir(override: Path | str | None = None) -> Path:
    """The weights folder: ``override``, else ``$CODEFORMER_APP_WEIGHTS_DIR``, else the per-user folder."""
    if override:
        return Path(override).expanduser()
    from_env = os.environ.get(WEIGHTS_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_data_dir(APP_DATA_NAME, appauthor=False)) / "weights"


def ensure_folder(folder: Path) -> Path:
    """Create the weights folder if needed; ``WeightsError`` when that is not possible (read-only, a file)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WeightsError(folder, f"cannot create the weights folder ({error.strerror or error})") from None
    return folder


def installed_path(entry: WeightsEntry, folder: Path) -> Path:
    """Where the installed file of ``entry`` lives: its ``.safetensors`` copy, or the file kept as published."""
    return folder / entry.installed_name


def download_path(entry: WeightsEntry, folder: Path) -> Path:
    """Where a finished, hash-checked download of the original file is placed before conversion."""
    return folder / entry.file_name


def partial_path(entry: WeightsEntry, folder: Path) -> Path:
    """Where an unfinished download is kept for resuming."""
    return folder / (entry.file_name + PARTIAL_SUFFIX)


def index_path(folder: Path) -> Path:
    """The ``installed.json`` record of the folder."""
    return folder / INDEX_FILE_NAME
