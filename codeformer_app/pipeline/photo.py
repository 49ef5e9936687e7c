"""The photo-level API shared by the command line and the GUI.

analyse once (find faces, align, keep encodings) -> render each face at its fidelity -> compose the final image
-> save. Each step is a function; the only state kept between steps is the :class:`AnalysedPhoto`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..defaults import DEFAULT_BLEND
from ..detection import DetectionOptions, FaceDetector
from ..imaging import Photo, photo_8bit_bgr
from ..networks.codeformer import CodeFormer
from .encodings import DEFAULT_BUDGET_BYTES, EncodingCache, render
from .face_upsample import needs_upsampling, upsample_face
from .faces import FaceInPhoto, face_from_detection, locate_faces
from .grey import looks_grey
from .parsing import FaceParser
from .paste import DEFAULT_FEATHER, paste_face
from .upscale import RealEsrganX2, upscale_alpha, upscale_image


@dataclass
class AnalysedPhoto:
    """A photo with its faces found and their encodings available for re-rendering."""

    photo: Photo
    faces: list[FaceInPhoto]
    encodings: EncodingCache = field(repr=False)
    pixels_grey: bool | None = None
    """Whether the pixels are black and white (``grey.looks_grey``); None: decided from the file alone."""

    @property
    def grey(self) -> bool:
        """Faces come out grey when the file has one channel or its three channels are grey (a scan)."""
        return self.photo.info.grey or bool(self.pixels_grey)


@dataclass(frozen=True)
class ComposeOptions:
    upscale: int = 1
    """Output size as a multiple of the input (1-4)."""
    feather: float = DEFAULT_FEATHER
    """Width of the soft mask edge as a fraction of the face size."""
    blend: float = DEFAULT_BLEND
    """How much of the restored face shows (1: all of it, 0: the photo unchanged), for every face."""
    face_upsample: bool = False
    """Enlarge restored faces that end up larger than the crop with Real-ESRGAN (when it is installed)."""


def analyse_photo(
    photo: Photo,
    model: CodeFormer,
    detector: FaceDetector,
    options: DetectionOptions = DetectionOptions(),
    budget_bytes: int = DEFAULT_BUDGET_BYTES,
    adain_codes: bool = True,
    rerender: bool | None = None,
) -> AnalysedPhoto:
    """Find, align and crop the faces; encodings are computed on first render and then kept.

    ``adain_codes=False`` for the inpainting network (``model.variants``); ``rerender``: see ``EncodingCache``."""
    image = photo_8bit_bgr(photo)
    faces = locate_faces(image, detector, options, crop_size=model.config.img_size)
    encodings = EncodingCache(model, [f.crop for f in faces], budget_bytes, adain_codes, rerender)
    return AnalysedPhoto(photo, faces, encodings, pixels_grey=looks_grey(image))


def add_face(analysed: AnalysedPhoto, detected) -> int:
    """Add a face found by other means (a box drawn by the user); returns its index."""
    face = face_from_detection(photo_8bit_bgr(analysed.photo), detected, analysed.encodings.model.config.img_size)
    analysed.faces.append(face)
    return analysed.encodings.add(face.crop)


def render_faces(
    analysed: AnalysedPhoto,
    fidelity: float,
    per_face: Mapping[int, float] | None = None,
    include: Collection[int] | None = None,
    grey: bool | None = None,
) -> dict[int, np.ndarray]:
    """Restored crops by face index; ``per_face`` overrides the fidelity, ``include`` limits the faces.

    ``grey`` overrides whether faces come out grey (colorization: never); None follows the photo."""
    chosen = range(len(analysed.faces)) if include is None else sorted(include)
    overrides = per_face or {}
    as_grey = analysed.grey if grey is None else grey
    return {i: render(analysed.encodings, i, overrides.get(i, fidelity), as_grey) for i in chosen}


def compose(
    analysed: AnalysedPhoto,
    restored: Mapping[int, np.ndarray],
    options: ComposeOptions = ComposeOptions(),
    upscaler: RealEsrganX2 | None = None,
    parser: FaceParser | None = None,
    blend_per_face: Mapping[int, float] | None = None,
    masks: Mapping[int, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The final colour image and alpha: the (upscaled) photo with the restored faces pasted in.

    ``blend_per_face`` overrides ``options.blend`` for some faces; ``masks`` (soft, over a face's crop) limit
    where a face is pasted (inpainting: the hole), combined with the parsing mask by the minimum."""
    photo = analysed.photo
    canvas = upscale_image(photo.color, options.upscale, upscaler)
    if canvas is photo.color:
        canvas = canvas.copy()
    for index, crop in restored.items():
        face = analysed.faces[index]
        extra_mask = parser.mask(crop) if parser is not None else None
        if masks is not None and index in masks:
            extra_mask = masks[index] if extra_mask is None else np.minimum(extra_mask, masks[index])
        blend = (blend_per_face or {}).get(index, options.blend)
        if blend <= 0.0:
            continue  # nothing of the restored face shows
        alignment = face.alignment
        if options.face_upsample and upscaler is not None and needs_upsampling(alignment, options.upscale):
            crop, alignment, extra_mask = upsample_face(crop, alignment, extra_mask, upscaler)
        paste_face(canvas, crop, alignment, float(options.upscale), options.feather, extra_mask, blend)
    alpha = None if photo.alpha is None else upscale_alpha(photo.alpha, options.upscale)
    return canvas, alpha
