"""The GUI's heavy work as generator tasks (run by ``workers.start_task``): each yields :class:`Progress`
between steps, which is also where a cancel takes effect, and returns its result.

Every network call happens under the engine lock. This module imports the core (and PyTorch) at the top; the
window imports it only once the engine is loading, after it is shown.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ..detection import DetectionOptions, detect_in_box
from ..errors import CodeFormerAppError
from ..imaging import Photo, WriteResult, photo_8bit_bgr, read_photo, write_bytes_atomic, write_photo
from ..pipeline.encodings import render
from ..pipeline.faces import FaceInPhoto, face_from_detection
from ..pipeline.likeness import IdentityCheck, choose_fidelity
from ..pipeline.paste import paste_face
from ..pipeline.photo import AnalysedPhoto, ComposeOptions, analyse_photo, compose
from ..pipeline.restore_file import Engine
from .qimages import THUMB_SIDE, bgr_to_qimage, thumbnail
from .quick_preview import ANCHOR_FIDELITIES, FaceLayer, face_layer
from .session import RenderedFace, Repair


@dataclass(frozen=True)
class Progress:
    text: str
    done: int = 0
    total: int = 0
    """0 when the step's length is unknown (a busy indicator)."""


@dataclass(frozen=True)
class OpenedPhoto:
    analysed: AnalysedPhoto
    image: QImage
    """The photo as shown on the 'before' side."""
    face_thumbs: list[QImage]


@dataclass(frozen=True)
class RenderOutput:
    rendered: dict[int, RenderedFace]
    """Faces rendered by this task (the others were reused)."""
    preview: np.ndarray
    image: QImage
    thumbs: dict[int, QImage]


@dataclass(frozen=True)
class FoundFace:
    """A face inside a box the user drew, aligned and cropped; the GUI thread adds it to the session."""

    face: FaceInPhoto
    thumb: QImage


def open_task(
    source: Path | Photo, engine: Engine, lock: threading.Lock, options: DetectionOptions
) -> Generator[Progress, None, OpenedPhoto]:
    """Read (unless already in memory) and analyse a photo: faces found, aligned and cropped; no encoding yet."""
    yield Progress(f"Reading {source.name}" if isinstance(source, Path) else "Reading the pasted image")
    photo = read_photo(source) if isinstance(source, Path) else source
    image = bgr_to_qimage(photo.color)
    yield Progress("Finding faces")
    with lock:
        analysed = analyse_photo(photo, engine.model, engine.detector, options)
    return OpenedPhoto(analysed, image, [thumbnail(face.crop, THUMB_SIDE) for face in analysed.faces])


@dataclass(frozen=True)
class PreviewLook:
    """How the faces are blended into the preview: the photo's blend and the faces' own ones."""

    feather: float
    blend: float = 1.0
    blend_per_face: dict[int, float] | None = None
    repairs: dict[int, Repair] | None = None
    """Scratches filled with the brush, pasted over the restored faces."""


def render_face(
    analysed: AnalysedPhoto, index: int, fidelity: float | None, check: IdentityCheck | None
) -> RenderedFace:
    """One face at ``fidelity`` (None: the lowest that keeps the likeness), with its likeness when ``check``
    is there. The caller holds the engine lock."""

    def at(w: float) -> np.ndarray:
        return render(analysed.encodings, index, w, analysed.grey)

    if check is None:
        if fidelity is None:
            raise CodeFormerAppError("automatic fidelity needs the identity network, which is not loaded")
        return RenderedFace(fidelity, at(fidelity))
    score = check.scorer(analysed.faces[index].crop)
    if fidelity is None:
        choice = choose_fidelity(at, score, check.threshold)
        return RenderedFace(choice.fidelity, choice.crop, choice.identity, auto=True)
    crop = at(fidelity)
    return RenderedFace(fidelity, crop, score(crop))


def render_faces_task(
    analysed: AnalysedPhoto, plan: dict[int, float | None], lock: threading.Lock, check: IdentityCheck | None = None
) -> Generator[Progress, None, dict[int, RenderedFace]]:
    """Render the faces of ``plan`` (face id -> fidelity, None: automatic) one by one, each with its likeness
    when ``check`` is there; the first render of a face encodes it."""
    rendered: dict[int, RenderedFace] = {}
    for number, (index, fidelity) in enumerate(plan.items()):
        yield Progress(f"Restoring face {number + 1} of {len(plan)}", number, len(plan))
        with lock:
            rendered[index] = render_face(analysed, index, fidelity, check)
    return rendered


def anchors_task(
    analysed: AnalysedPhoto, faces: list[int], feather: float, lock: threading.Lock
) -> Generator[Progress, None, dict[int, FaceLayer]]:
    """Each face at ``ANCHOR_FIDELITIES`` (decoder only), warped into the photo (``quick_preview``), so that
    the slider can show a mix of the two nearest at once while the exact render follows. Yields between
    renders, so that a newer render soon gets the lock."""
    layers: dict[int, FaceLayer] = {}
    shape = analysed.photo.color.shape[:2]
    for number, index in enumerate(faces):
        crops = {}
        for fidelity in ANCHOR_FIDELITIES:
            yield Progress(f"Preparing the quick preview: face {number + 1} of {len(faces)}", number, len(faces))
            with lock:
                crops[fidelity] = render(analysed.encodings, index, fidelity, analysed.grey)
        layers[index] = face_layer(crops, analysed.faces[index].alignment, feather, shape)
    return layers


def compose_preview(analysed: AnalysedPhoto, crops: dict[int, np.ndarray], look: PreviewLook) -> np.ndarray:
    """The 'after' photo at the input's size with the square feathered mask."""
    options = ComposeOptions(upscale=1, feather=look.feather, blend=look.blend)
    color, _alpha = compose(analysed, crops, options, blend_per_face=look.blend_per_face)
    paste_repairs(color, analysed, look.repairs or {}, 1.0, look.feather)
    return color


def paste_repairs(
    canvas: np.ndarray, analysed: AnalysedPhoto, repairs: dict[int, Repair], scale: float, feather: float
) -> None:
    """Paste the filled scratches into ``canvas`` (the composed photo, ``scale`` times the input) in place,
    each only around its hole."""
    for index, repair in repairs.items():
        paste_face(canvas, repair.crop, analysed.faces[index].alignment, scale, feather, repair.mask)


def all_crops(reuse: dict[int, np.ndarray], rendered: dict[int, RenderedFace]) -> dict[int, np.ndarray]:
    """The crops to paste: those still valid from earlier renders and the ones just rendered."""
    return {**reuse, **{index: face.crop for index, face in rendered.items()}}


def preview_task(
    analysed: AnalysedPhoto,
    plan: dict[int, float | None],
    reuse: dict[int, np.ndarray],
    look: PreviewLook,
    lock: threading.Lock,
    check: IdentityCheck | None = None,
) -> Generator[Progress, None, RenderOutput]:
    """The 'after' photo: faces of ``plan`` rendered, ``reuse`` pasted as they are, everything else untouched.

    The preview is at the input's size with the square feathered mask, so the slider stays quick; Save applies
    the upscale and the ParseNet mask (see ``save_task``). With an empty plan (a blend change) no network runs.
    """
    rendered = yield from render_faces_task(analysed, plan, lock, check)
    yield Progress("Blending the faces into the photo", len(plan), len(plan))
    color = compose_preview(analysed, all_crops(reuse, rendered), look)
    thumbs = {index: thumbnail(face.crop, THUMB_SIDE) for index, face in rendered.items()}
    return RenderOutput(rendered, color, bgr_to_qimage(color), thumbs)


def save_task(
    analysed: AnalysedPhoto,
    plan: dict[int, float | None],
    reuse: dict[int, np.ndarray],
    target: Path,
    fmt: str | None,
    quality: int | None,
    options: ComposeOptions,
    blend_per_face: dict[int, float],
    repairs: dict[int, Repair],
    engine: Engine,
    lock: threading.Lock,
) -> Generator[Progress, None, WriteResult]:
    """The final photo at full quality (upscale, ParseNet mask when installed), written atomically."""
    rendered = yield from render_faces_task(analysed, plan, lock, engine.identity)
    crops = all_crops(reuse, rendered)
    yield Progress(f"Writing {target.name}")
    with lock:
        color, alpha = compose(analysed, crops, options, engine.upscaler, engine.parser, blend_per_face)
    paste_repairs(color, analysed, repairs, float(options.upscale), options.feather)
    return write_photo(target, color, alpha, analysed.photo.info, fmt, quality)


def export_crops_task(
    analysed: AnalysedPhoto,
    plan: dict[int, float | None],
    reuse: dict[int, np.ndarray],
    folder: Path,
    stem: str,
    lock: threading.Lock,
    check: IdentityCheck | None = None,
) -> Generator[Progress, None, list[Path]]:
    """Each restored face as ``<stem>_face<N>.png`` (N as in the face list), at the network's size."""
    rendered = yield from render_faces_task(analysed, plan, lock, check)
    crops = all_crops(reuse, rendered)
    written: list[Path] = []
    for number, (index, crop) in enumerate(sorted(crops.items())):
        yield Progress(f"Writing face {index + 1}", number, len(crops))
        ok, data = cv2.imencode(".png", crop)
        if not ok:
            raise CodeFormerAppError(f"face {index + 1}: could not be encoded as PNG")
        path = folder / f"{stem}_face{index + 1:02d}.png"
        write_bytes_atomic(path, data.tobytes())
        written.append(path)
    return written


def find_face_task(
    analysed: AnalysedPhoto, box: Sequence[float], engine: Engine, lock: threading.Lock
) -> Generator[Progress, None, FoundFace]:
    """A face the detector missed, inside a box the user drew: its landmarks are found there. The photo is
    only read; the face is returned for the GUI thread to add."""
    yield Progress("Looking for a face inside the box")
    image = photo_8bit_bgr(analysed.photo)
    with lock:
        detected = detect_in_box(image, box, engine.detector)
    if detected is None:
        raise CodeFormerAppError(
            "No face was found inside the box. Draw it around the whole face, from the hairline to the chin."
        )
    face = face_from_detection(image, detected, analysed.encodings.model.config.img_size)
    return FoundFace(face, thumbnail(face.crop, THUMB_SIDE))
