"""One photo file in, one restored photo file out: what the command line and the batch runner call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..defaults import DEFAULT_FIDELITY
from ..detection import DetectionOptions, FaceDetector
from ..errors import OperationCancelled
from ..imaging import photo_8bit_bgr, read_photo, write_photo
from ..networks.codeformer import CodeFormer
from ..networks.codeformer.variants import RECIPES, FaceTask
from .encodings import ONE_SHOT_BUDGET_BYTES
from .inpaint import crop_hole, keep_outside, paste_mask, read_photo_mask, with_hole
from .likeness import IdentityCheck, render_face
from .outcome import FaceReport, RestoreOutcome, clipped_box
from .parsing import FaceParser
from .photo import AnalysedPhoto, ComposeOptions, analyse_photo, compose, render_faces
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
    identity: IdentityCheck | None = None
    """The identity network, when the report should say how much each face is still the person."""
    warnings: tuple[str, ...] = ()
    """What the user should know about these networks (e.g. weights on which the fidelity has no effect)."""


@dataclass(frozen=True)
class RestoreSettings:
    fidelity: float = DEFAULT_FIDELITY
    auto_fidelity: bool = False
    """Each face at the lowest fidelity that keeps its identity (``-w auto``; needs ``Engine.identity``)."""
    task: FaceTask = FaceTask.RESTORE
    """What the weights do (``model.variants``): restore, colorize (w = 0, colour kept), inpaint (needs mask)."""
    mask: Path | None = None
    """Inpainting: an image the photo's size, white where the face is to be filled."""
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
    recipe = RECIPES[settings.task]
    analysed = analyse_photo(
        photo,
        engine.model,
        engine.detector,
        settings.detection,
        ONE_SHOT_BUDGET_BYTES,
        recipe.adain_codes,
        rerender=settings.auto_fidelity,  # the search renders each face a few times
    )
    holes = _holes(analysed, settings) if settings.task is FaceTask.INPAINT else {}
    total = len(analysed.faces)
    restored: dict[int, np.ndarray] = {}
    faces: list[FaceReport] = []
    for index, face in enumerate(analysed.faces):
        if on_face is not None:
            on_face(index, total)
        if cancelled is not None and cancelled():
            raise OperationCancelled(f"{source}: cancelled; nothing was written")
        if settings.task is FaceTask.INPAINT and index not in holes:
            continue  # the mask does not touch this face: it stays as it is
        fidelity, restored[index], identity = _restore_face(analysed, index, settings, engine.identity)
        if index in holes:
            restored[index] = keep_outside(restored[index], face.crop, holes[index])
        faces.append(
            FaceReport(
                box=clipped_box(face.detected.box, photo.info.width, photo.info.height),
                score=float(face.detected.score),
                fidelity=fidelity,
                blend=settings.compose.blend,
                identity=identity,
                identity_ok=None
                if identity is None or engine.identity is None
                else identity >= engine.identity.threshold,
            )
        )
    if on_face is not None:
        on_face(total, total)
    paste_masks = {index: paste_mask(hole) for index, hole in holes.items()}
    color, alpha = compose(analysed, restored, settings.compose, engine.upscaler, engine.parser, masks=paste_masks)
    written = write_photo(
        target, color, alpha, photo.info, settings.output_format, settings.quality, replace=settings.overwrite
    )
    return RestoreOutcome(faces, [*photo.info.notes, *written.notes])


def _restore_face(
    analysed: AnalysedPhoto, index: int, settings: RestoreSettings, check: IdentityCheck | None
) -> tuple[float, np.ndarray, float | None]:
    """(fidelity used, restored crop, identity or None) of one face: at the asked fidelity, or the lowest that
    keeps the person recognisable (``settings.auto_fidelity``)."""

    grey = False if settings.task is FaceTask.COLORIZE else None

    def render_at(w: float) -> np.ndarray:
        return render_faces(analysed, w, include=[index], grey=grey)[index]

    fixed = RECIPES[settings.task].fidelity
    fidelity, auto = (fixed, False) if fixed is not None else (settings.fidelity, settings.auto_fidelity)
    return render_face(render_at, analysed.faces[index].crop, fidelity, auto, check)


def _holes(analysed: AnalysedPhoto, settings: RestoreSettings) -> dict[int, np.ndarray]:
    """Inpainting: each touched face's hole over its crop, and the crop the network sees (white holes)."""
    if settings.mask is None:
        raise ValueError("inpainting a photo needs a mask (--mask MASK.png: white where to fill)")
    info = analysed.photo.info
    photo_mask = read_photo_mask(photo_8bit_bgr(read_photo(settings.mask)), info.width, info.height)
    holes = {}
    for index, face in enumerate(analysed.faces):
        hole = crop_hole(photo_mask, face.alignment)
        if hole.any():
            holes[index] = hole
            analysed.encodings.crops[index] = with_hole(face.crop, hole)
    return holes


__all__ = ["Engine", "FaceProgress", "FaceReport", "RestoreOutcome", "RestoreSettings", "restore_file"]
