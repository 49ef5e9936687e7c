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
from .outcome import FaceReport, RestoreOutcome, clipped_box
from .parsing import FaceParser
from .photo import ComposeOptions, analyse_photo, compose, render_faces
from .upscale import RealEsrganX2

#: ``(faces done, faces in the photo)``, called after detection and after each face.
FaceProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Engine:
    """The networks, built once and shared by every photo of a run."""

    model: CodeFormer
    detector: FaceDetector | None = None
    """None for an engine that only restores pre-aligned crops."""
    parser: FaceParser | None = None
    upscaler: RealEsrganX2 | None = None
    warnings: tuple[str, ...] = ()
    """What the user should know about these networks (e.g. weights on which the fidelity has no effect)."""


@dataclass(frozen=True)
class RestoreSettings:
    fidelity: float = 0.5
    detection: DetectionOptions = field(default_factory=DetectionOptions)
    compose: ComposeOptions = field(default_factory=ComposeOptions)
    output_format: str | None = None
    """png | jpg | webp | tif, or None for the input's format."""
    quality: int | None = None
    overwrite: bool = False
    """Replace a file already at the target (``--overwrite``); otherwise writing there fails."""


def restore_file(
    source: Path,
    target: Path,
    engine: Engine,
    settings: RestoreSettings,
    on_face: FaceProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RestoreOutcome:
    """Restore every face of ``source`` and write the result atomically to ``target``.

    A photo without faces is written unchanged in content (and metadata), so a mirrored folder is complete;
    the outcome then lists no faces. ``target`` is never replaced unless ``settings.overwrite``.
    ``cancelled()`` is asked before each face; when it says so, ``OperationCancelled`` is raised and nothing
    is written.
    """
    if engine.detector is None:
        raise ValueError("this engine was built without a face detector (for pre-aligned crops only)")
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
    written = write_photo(
        target, color, alpha, photo.info, settings.output_format, settings.quality, replace=settings.overwrite
    )
    faces = [
        FaceReport(
            box=clipped_box(f.detected.box, photo.info.width, photo.info.height),
            score=float(f.detected.score),
            fidelity=settings.fidelity,
        )
        for f in analysed.faces
    ]
    return RestoreOutcome(faces, [*photo.info.notes, *written.notes])


__all__ = ["Engine", "FaceProgress", "FaceReport", "RestoreOutcome", "RestoreSettings", "restore_file"]
