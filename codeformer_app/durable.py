"""The one crash-safe way to write a file: the final name holds either nothing new or the complete new file.

Shared by every writer (photos, reports, weights, training checkpoints): write a hidden temporary file in the
same folder, fsync it, rename it into place, fsync the folder.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Callable
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
    errno.EEXIST: "a file with this name already exists and is never replaced",
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


def _create_temp(path: Path) -> Path:
    """A new, empty, hidden file next to ``path`` (same folder, so the rename is atomic), created with the
    usual permissions (umask applies, unlike mkstemp)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
    for _ in range(_TEMP_NAME_ATTEMPTS):
        temp = path.with_name(f".{path.name[:_TEMP_NAME_STEM_CHARS]}.{secrets.token_hex(8)}.part")
        try:
            os.close(os.open(temp, flags, 0o666))
            return temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _write_file(path: Path, data: bytes) -> None:
    """``os.write`` until everything is written (it may write less than asked)."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | _O_BINARY)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_atomically(final: Path, write: Callable[[Path], None], replace: bool = True) -> None:
    """Run ``write(temp)`` on a new temporary file next to ``final``, fsync it, and rename it to ``final``.

    With ``replace=False`` an existing ``final`` is never replaced, even one that appeared a moment ago: the
    file is linked into place, which fails when the name is taken (``FileExistsError``). On any failure the
    temporary file is removed and ``final`` keeps what it had; the error propagates.
    """
    temp = _create_temp(final)
    try:
        write(temp)
        fsync_file(temp)
        if replace:
            os.replace(temp, final)
        else:
            _place_new(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(final.parent)


def rename_into_place(written: Path, final: Path) -> None:
    """Give a file already written next to ``final`` (a finished download's ``.part``) its final name, durably.

    The second half of :func:`write_atomically`, for a writer that must keep its file under a known name
    until it is complete (a download resumed across runs cannot use a fresh temporary name).
    """
    fsync_file(written)
    os.replace(written, final)
    fsync_folder(final.parent)


def write_bytes_atomic(path: Path, data: bytes, replace: bool = True) -> None:
    """:func:`write_atomically` of a bytes object."""
    write_atomically(Path(path), lambda temp: _write_file(temp, data), replace)


def fsync_file(path: Path) -> None:
    """Push a written file's bytes to disk so a crash after the rename cannot leave it empty."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _place_new(temp: Path, path: Path) -> None:
    """Give ``temp`` the name ``path`` only if no file has it; the temporary name goes away."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:
        # No hard links on this disk (FAT, some network shares): check, then rename. Only a file created in
        # the instant between the two steps could still be replaced.
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "a file with this name already exists", str(path)) from None
        os.replace(temp, path)
        return
    temp.unlink()
