"""Face crops already aligned to the FFHQ template (``--aligned``), through the same encode/render path as the
faces of a whole photo: one encoding, then a decoder render per fidelity; grey crops get grey faces.

A task (``model.variants``) fixes how the crop is run: restoration at the user's fidelity (or ``-w auto``),
colorization at w = 0, inpainting at w = 1 without AdaIN with the network's output used only inside the hole
mask (the crop's pure-white pixels, as the official script takes them, or a mask image).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import CodeFormerAppError
from ..imaging import photo_8bit_bgr, read_photo, write_photo
from ..networks.codeformer import CodeFormer
from ..networks.codeformer.variants import RECIPES, FaceTask
from .encodings import ONE_SHOT_BUDGET_BYTES, EncodingCache, render
from .face_tensor import fit_square
from .grey import looks_grey
from .likeness import IdentityCheck, render_face
from .outcome import FaceReport, RestoreOutcome

#: A hole pixel in a crop to inpaint, as the official script finds them: every channel at full white.
HOLE_LEVEL = 255
#: A mask image's pixels at or above this level mark the hole.
MASK_THRESHOLD = 128


@dataclass(frozen=True)
class AlignedSettings:
    task: FaceTask = FaceTask.RESTORE
    fidelity: float = 0.5
    auto_fidelity: bool = False
    mask: Path | None = None
    """Inpainting: white where the face is to be filled; None: the crop's pure-white pixels."""
    replace: bool = False


def hole_mask(crop_bgr: np.ndarray, mask_file: Path | None, size: int) -> np.ndarray:
    """Float mask (size, size) in {0, 1} of the pixels to fill: found at the crop's own size (resizing would
    blur the pure white), then brought to the network's size without interpolation."""
    if mask_file is None:
        hole = np.all(crop_bgr >= HOLE_LEVEL, axis=2).astype(np.uint8)
    else:
        grey = cv2.cvtColor(photo_8bit_bgr(read_photo(mask_file)), cv2.COLOR_BGR2GRAY)
        hole = (grey >= MASK_THRESHOLD).astype(np.uint8)
    return cv2.resize(hole, (size, size), interpolation=cv2.INTER_NEAREST).astype(np.float32)


def restore_aligned_crop(
    model: CodeFormer, crop_bgr: np.ndarray, settings: AlignedSettings, check: IdentityCheck | None = None
) -> tuple[np.ndarray, float, float | None]:
    """(restored crop at the network's size, fidelity used, identity or None)."""
    recipe = RECIPES[settings.task]
    crop = fit_square(crop_bgr, model.config.img_size)
    fixed = recipe.fidelity
    fidelity, auto = (fixed, False) if fixed is not None else (settings.fidelity, settings.auto_fidelity)
    cache = EncodingCache(model, [crop], ONE_SHOT_BUDGET_BYTES, adain_codes=recipe.adain_codes, rerender=auto)
    grey = settings.task is not FaceTask.COLORIZE and looks_grey(crop)

    def render_at(w: float) -> np.ndarray:
        return render(cache, 0, w, grey)

    fidelity, out, identity = render_face(render_at, crop, fidelity, auto, check)
    if recipe.keep_outside_mask:
        mask = hole_mask(crop_bgr, settings.mask, model.config.img_size)[:, :, None]
        if not mask.any():
            raise CodeFormerAppError("nothing to inpaint: the crop has no pure-white pixels (or give --mask MASK.png)")
        out = np.clip(np.rint(mask * out + (1.0 - mask) * crop), 0, 255).astype(np.uint8)
    return out, fidelity, identity


def aligned_process(
    model: CodeFormer, settings: AlignedSettings, check: IdentityCheck | None = None
) -> Callable[[Path, Path], RestoreOutcome]:
    """``--aligned``: each job's crop restored whole (same format, 8-bit, metadata kept); the report shows the
    crop as its one face."""

    def process(source: Path, target: Path) -> RestoreOutcome:
        photo = read_photo(source)
        try:
            out, fidelity, identity = restore_aligned_crop(model, photo_8bit_bgr(photo), settings, check)
        except CodeFormerAppError as error:
            raise CodeFormerAppError(f"{source}: {error}") from None
        write_photo(target, out, None, photo.info, replace=settings.replace)
        box = (0.0, 0.0, float(photo.info.width), float(photo.info.height))
        identity_ok = None if identity is None or check is None else identity >= check.threshold
        face = FaceReport(box=box, score=1.0, fidelity=fidelity, identity=identity, identity_ok=identity_ok)
        return RestoreOutcome([face])

    return process
