"""Errors of a training run, phrased for the person running it: which file or setting, and what to do."""

from __future__ import annotations

from pathlib import Path

from codeformer_app.errors import CodeFormerAppError


class TrainingError(CodeFormerAppError):
    """A run cannot start or continue; ``str(error)`` names the file (if any) and the reason."""

    def __init__(self, path: Path | str | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path is not None else reason)
