"""File helpers shared by download, import and the index: hashing; every write goes through ``durable.py``."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..durable import rename_into_place, write_atomically
from ..errors import WeightsError

__all__ = ["HASH_CHUNK_BYTES", "read_sha256", "rename_into_place", "sha256_file", "write_atomically"]

#: Read size when hashing; large enough to keep hashing of 400 MB files I/O bound.
HASH_CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def read_sha256(path: Path) -> str:
    """:func:`sha256_file` of a file the user named: a read failure is a ``WeightsError`` saying why."""
    try:
        return sha256_file(path)
    except OSError as error:
        raise WeightsError(path, f"cannot read the file ({error.strerror or error})") from None
