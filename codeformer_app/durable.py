"""Making a rename survive a crash or power cut: shared by every atomic writer (photos, reports, weights)."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk so a file renamed into it is still there after a power cut.

    POSIX only: Windows has no folder handles to sync (its rename is made durable by the file system).
    """
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
