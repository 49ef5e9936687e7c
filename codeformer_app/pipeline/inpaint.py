"""Scratches and tears across a face: a hole mask drawn on the photo, carried into each face's crop, filled
by the inpainting network, and pasted back only where the mask is.

The inpainting network was trained on crops whose holes are pure white (the official script finds them that
way), so the hole is painted white in the crop it sees; outside the hole the crop keeps its own pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detection.align import Alignment

#: What the inpainting network sees inside a hole.
HOLE_FILL = 255
#: A mask pixel at or above this level is part of the hole.
MASK_THRESHOLD = 128
#: The paste-back mask grows by this fraction of the crop's side (3 px of a 512 crop) and is softened by as
#: much, so the fill meets the photo without a hard edge.
HOLE_MARGIN_FRACTION = 3 / 512


def crop_hole(photo_mask: np.ndarray, alignment: Alignment) -> np.ndarray:
    """The photo's hole mask (H, W; nonzero = hole) as a {0, 1} float mask over the face's aligned crop."""
    hole = (photo_mask >= MASK_THRESHOLD).astype(np.uint8)
    size = alignment.size
    warped = cv2.warpAffine(hole, alignment.matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=0)
    return warped.astype(np.float32)


def with_hole(crop_bgr: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The crop as the network expects it: white where the hole is."""
    out = crop_bgr.copy()
    out[hole > 0] = HOLE_FILL
    return out


def keep_outside(filled: np.ndarray, original: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The network's pixels inside the hole, the crop's own elsewhere (the official inpainting composite)."""
    mask = hole[:, :, None]
    return np.clip(np.rint(mask * filled + (1.0 - mask) * original), 0, 255).astype(np.uint8)


def paste_mask(hole: np.ndarray) -> np.ndarray:
    """Soft mask for pasting an inpainted crop: the hole, a little wider, with a soft edge."""
    margin = max(1, round(HOLE_MARGIN_FRACTION * hole.shape[0]))
    grown = cv2.dilate(hole, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return np.clip(cv2.GaussianBlur(grown, (0, 0), margin / 2), 0.0, 1.0)


def read_photo_mask(mask_photo_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """A mask image (white = hole) as an 8-bit single channel at the photo's size."""
    grey = cv2.cvtColor(mask_photo_bgr, cv2.COLOR_BGR2GRAY) if mask_photo_bgr.ndim == 3 else mask_photo_bgr
    if grey.shape != (height, width):
        grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_NEAREST)
    return grey
