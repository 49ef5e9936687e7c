"""Errors that carry a message meant for the user: which file, and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class CodeFormerAppError(Exception):
    """Base class: ``str(error)`` is a complete sentence a user can act on."""


class WeightsError(CodeFormerAppError):
    """A weights file is missing, unreadable, unsafe, or not the network we expect."""

    def __init__(self, path: Path | str | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{reason}")


class OperationCancelled(CodeFormerAppError):
    """The user cancelled; nothing partial was written (outputs appear only when complete)."""
