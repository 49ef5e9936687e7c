"""One photo file in, one restored photo file out: what the command line and the batch runner call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..detection import DetectionOptions, FaceDetector
from ..errors import OperationCancelled
from ..imaging import read_photo, write_photo
from ..model import CodeFormer
from .encodings import ONE_SHOT_BUDGET_BYTES
from .parsing import FaceParser
from .photo import ComposeOptions, analyse_photo, compose, render_faces
from .upscale import RealEsrganX2

#: ``(faces done, faces in the photo)``, called after detection and after each face.
FaceProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Engine:
    """The networks, built once and shared by every photo of a run."""

    model: CodeFormer
    detector: FaceDetector
    parser: FaceParser | None = None
    upscaler: RealEsrganX2 | None = None


@dataclass(frozen=True)
class RestoreSettings:
    fidelity: float = 0.5
    detection: DetectionOptions = field(default_factory=DetectionOptions)
    compose: ComposeOptions = field(default_factory=ComposeOptions)
    output_format: str | None = None
    """png | jpg | webp | tif, or None for the input's format."""
    quality: int | None = None


@dataclass(frozen=True)
class FaceReport:
    box: tuple[float, float, float, float]
    """x0, y0, x1, y1 in input pixels (after EXIF rotation)."""
    score: float
    fidelity: float


@dataclass(frozen=True)
class RestoreOutcome:
    faces: list[FaceReport]
    notes: list[str] = field(default_factory=list)
    """What could not be kept exactly (e.g. a CMYK profile), for the report."""


def restore_file(
    source: Path,
    target: Path,
    engine: Engine,
    settings: RestoreSettings,
    on_face: FaceProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RestoreOutcome:
    """Restore every face of ``source`` and write the result atomically to ``target``.

    A photo without faces is written unchanged in content (and metadata); that is not an error.
    ``cancelled()`` is asked before each face; when it says so, ``OperationCancelled`` is raised and nothing
    is written.
    """
    photo = read_photo(source)
    analysed = analyse_photo(photo, engine.model, engine.detector, settings.detection, ONE_SHOT_BUDGET_BYTES)
    total = len(analysed.faces)
    restored = {}
    for index in range(total):
        if on_face is not None:
            on_face(index, total)
        if cancelled is not None and cancelled():
            raise OperationCancelled(f"{source}: cancelled; nothing was written")
        restored |= render_faces(analysed, settings.fidelity, include=[index])
    if on_face is not None:
        on_face(total, total)
    color, alpha = compose(analysed, restored, settings.compose, engine.upscaler, engine.parser)
    written = write_photo(target, color, alpha, photo.info, settings.output_format, settings.quality)
    faces = [
        FaceReport(
            box=tuple(float(v) for v in f.detected.box), score=float(f.detected.score), fidelity=settings.fidelity
        )
        for f in analysed.faces
    ]
    return RestoreOutcome(faces, [*photo.info.notes, *written.notes])
