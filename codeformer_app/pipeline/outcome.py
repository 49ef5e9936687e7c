"""What restoring one file produced, for the report: plain data, no PyTorch, so the report can be read cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaceReport:
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 in input pixels (after EXIF rotation), clipped to the image."""
    score: float
    fidelity: float


@dataclass(frozen=True)
class RestoreOutcome:
    faces: list[FaceReport]
    notes: list[str] = field(default_factory=list)
    """What could not be kept exactly (e.g. a CMYK profile), for the report."""


def clipped_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    """A detector's box can reach past the photo's edge (a face cut by the frame); the report keeps it inside."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return (
        min(max(x0, 0.0), width),
        min(max(y0, 0.0), height),
        min(max(x1, 0.0), width),
        min(max(y1, 0.0), height),
    )
