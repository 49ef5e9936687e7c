"""What restoring one file produced, for the report: plain data, no PyTorch, so the report can be read cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaceReport:
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 in input pixels (after EXIF rotation), clipped to the image."""
    score: float
    """The detector's confidence."""
    fidelity: float
    """The fidelity the face was restored at (chosen per face with ``-w auto``)."""
    blend: float = 1.0
    """How much of the restored face was pasted (1: all)."""
    identity: float | None = None
    """Similarity in [-1, 1] of the restored face to the input face (or the reference photo); None when the
    identity network is not available."""
    identity_ok: bool | None = None
    """Whether that similarity says "same person" (the calibrated threshold)."""


@dataclass(frozen=True)
class RestoreOutcome:
    faces: list[FaceReport]
    notes: list[str] = field(default_factory=list)
    """What could not be kept exactly (e.g. a CMYK profile), for the report."""
    video: dict | None = None
    """A video's details (frames, frame rate, duration, faces per frame, sound ...); None for a photo."""

    @property
    def found_faces(self) -> bool:
        """Whether anything was restored: a face in the photo, or in some frame of the video."""
        if self.video is not None:
            return self.video.get("faces_per_frame", {}).get("frames_with_faces", 0) > 0
        return bool(self.faces)


def clipped_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    """A detector's box can reach past the photo's edge (a face cut by the frame); the report keeps it inside."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return (
        min(max(x0, 0.0), width),
        min(max(y0, 0.0), height),
        min(max(x1, 0.0), width),
        min(max(y1, 0.0), height),
    )
