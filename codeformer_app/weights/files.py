"""File helpers shared by download, import and the index: hashing and crash-safe placement."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..durable import fsync_file, fsync_folder, write_atomically

__all__ = ["place_atomically", "sha256_file", "write_atomically"]

#: Read size when hashing; large enough to keep hashing of 400 MB files I/O bound.
HASH_CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def place_atomically(source: Path, final: Path) -> None:
    """Sync ``source`` (in the same folder) and rename it to ``final``."""
    fsync_file(source)
    os.replace(source, final)
    fsync_folder(final.parent)
