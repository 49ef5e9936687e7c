"""The errors of image reading and writing: one type each, whose text names the file and the reason."""

from __future__ import annotations

from pathlib import Path

from ..errors import CodeFormerAppError


class ImageError(CodeFormerAppError):
    """An image file could not be read or written; ``str()`` is ``"<file>: <reason>"`` in plain words."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageReadError(ImageError):
    """The input is missing, unreadable, not an image, damaged, too large or too small."""


class ImageWriteError(ImageError):
    """The result could not be saved; nothing was left under its name."""
