"""File helpers shared by download, import and the index: hashing and crash-safe placement."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from ..durable import fsync_folder

#: Read size when hashing; large enough to keep hashing of 400 MB files I/O bound.
HASH_CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_file(path: Path) -> None:
    """Push a written file's bytes to disk so a crash after ``os.replace`` cannot leave it empty."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def temp_path_for(final: Path) -> Path:
    """A hidden temporary name next to ``final``: same folder, so ``os.replace`` is atomic."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def write_atomically(final: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(temp)``, sync it and rename it over ``final``; on any failure ``final`` is untouched."""
    temp = temp_path_for(final)
    try:
        write(temp)
        fsync_file(temp)
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    fsync_folder(final.parent)


def place_atomically(source: Path, final: Path) -> None:
    """Sync ``source`` (in the same folder) and rename it to ``final``."""
    fsync_file(source)
    os.replace(source, final)
    fsync_folder(final.parent)
