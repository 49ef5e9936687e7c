"""Weights kept as published (``WeightsEntry.keep_original``): no conversion and no index record.

Such a file is only ever read with ``torch.load(weights_only=True)`` by its user (the training recipe's
perceptual loss), so converting it buys nothing. Without a record, its pinned size and SHA-256 are what it is
checked against, on import and at every lookup. Downloading is the common ``download.py``; this module
identifies, copies and checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..errors import WeightsError
from .files import HASH_CHUNK_BYTES, read_sha256, write_atomically
from .paths import ensure_folder, installed_path
from .registry import WeightsEntry

#: How many candidates "neither" covers; with more, the message says "none of".
_PAIR = 2


def original_problem(entry: WeightsEntry, path: Path) -> str | None:
    """Why the file at ``path`` is not ``entry``'s official file (its size or SHA-256), or None when it is."""
    size = path.stat().st_size
    if size != entry.size:
        return f"{size:,} bytes, expected {entry.size:,}"
    digest = read_sha256(path)
    return None if digest == entry.sha256 else f"SHA-256 {digest}, expected {entry.sha256}"


def identify_original(source: Path, candidates: Sequence[WeightsEntry], what: str) -> WeightsEntry:
    """Which of ``candidates`` ``source`` is, by size first (cheap) and then SHA-256; else a ``WeightsError``
    that lists what was expected (``what`` names the kind of file, e.g. "perceptual loss weights file")."""
    if source.is_dir():
        raise WeightsError(source, "this is a folder, not a weights file")
    if not source.is_file():
        raise WeightsError(source, "file not found")
    size = source.stat().st_size
    same_size = [entry for entry in candidates if entry.size == size]
    if not same_size:
        raise WeightsError(source, _unknown_file_reason(f"its size ({size:,} bytes)", candidates, what))
    digest = read_sha256(source)
    entry = next((entry for entry in same_size if entry.sha256 == digest), None)
    if entry is None:
        raise WeightsError(source, _unknown_file_reason(f"its SHA-256 ({digest})", candidates, what))
    return entry


def import_original(
    source: Path, folder: Path, candidates: Sequence[WeightsEntry], *, what: str = "weights file"
) -> tuple[WeightsEntry, Path]:
    """Identify ``source`` among ``candidates`` and copy it into ``folder`` atomically; the user's file is only
    read. Returns the entry and the installed path."""
    source = Path(source)
    entry = identify_original(source, candidates, what)
    target = installed_path(entry, ensure_folder(folder))
    if target.is_file() and target.resolve() == source.resolve():
        return entry, target
    try:
        write_atomically(target, lambda temp: _copy_checked(source, temp, entry))
    except OSError as error:
        raise WeightsError(target, f"could not copy {source} here ({error})") from None
    return entry, target


def _unknown_file_reason(found: str, candidates: Sequence[WeightsEntry], what: str) -> str:
    expected = " or ".join(f"{entry.file_name} ({entry.size:,} bytes, SHA-256 {entry.sha256})" for entry in candidates)
    matches = "neither official file" if len(candidates) == _PAIR else "none of the official files"
    return f"not a {what}: {found} matches {matches}; expected {expected}"


def _copy_checked(source: Path, temp: Path, entry: WeightsEntry) -> None:
    """Copy while hashing what is written, so a file changed since it was identified is not installed."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(temp, "wb") as writer:
        while chunk := reader.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            writer.write(chunk)
    if digest.hexdigest() != entry.sha256:
        raise WeightsError(source, "the file changed while it was being copied; nothing was installed, try again")
