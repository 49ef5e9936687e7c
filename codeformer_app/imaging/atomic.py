"""Crash-safe file writing: the final name holds either nothing new or the complete new file."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from ..durable import fsync_folder

#: Attempts at a fresh temporary name before giving up (a clash needs 64 random bits to repeat).
_TEMP_NAME_ATTEMPTS = 5
#: Characters of the final name kept in the temporary name, so a stray one is recognisable but never too long.
_TEMP_NAME_STEM_CHARS = 40
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

_WRITE_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EFBIG: "the file is too large for this disk or account",
    errno.EROFS: "the output folder is on a read-only disk",
    errno.EACCES: "permission denied: the output folder is not writable",
    errno.EPERM: "permission denied: the output folder is not writable",
    errno.ENOENT: "the output folder does not exist",
    errno.ENOTDIR: "a part of the output folder path is a file, not a folder",
    errno.EISDIR: "a folder with this name is in the way",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EIO: "the disk reported an input/output error",
}
if hasattr(errno, "EDQUOT"):
    _WRITE_REASONS[errno.EDQUOT] = "the disk quota is used up"


def describe_write_error(error: OSError) -> str:
    """The reason a write failed, in words a user can act on."""
    reason = _WRITE_REASONS.get(error.errno)
    if reason is None:
        reason = error.strerror or str(error)
    return f"cannot be written: {reason}"


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, empty file next to ``path``, created with the usual permissions (umask applies, unlike mkstemp)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
    for _ in range(_TEMP_NAME_ATTEMPTS):
        temp = path.with_name(f".{path.name[:_TEMP_NAME_STEM_CHARS]}.{secrets.token_hex(8)}.part")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until everything is written (it may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, fsync it, and rename it onto ``path``.

    On any failure the temporary file is removed and ``path`` keeps what it had; the OSError propagates.
    """
    fd, temp = _create_temp(path)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
