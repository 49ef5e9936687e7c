"""Pasting a restored face back into the photo through a feathered mask.

Only the face's region of interest (the bounding box of its crop in photo coordinates) is warped and blended:
the official pipeline warps every face onto a full-size canvas, which costs a full-image warp per face. Pixels
where the mask is zero are never written, so everything away from faces stays exactly as it was.

The mask is the official one (``docs/composition.md``): the warped square is eroded by ``2 x upscale`` pixels
(its bilinear edge), the feather width ``w`` is ``int(sqrt(area)) * feather`` of that eroded square, the square
is eroded once more by a ``2w`` kernel and blurred by a ``2w + 1`` Gaussian, so the blur never reaches past
the square's own edge, where the warped face is black. The face is weighted by the first eroded mask, as
officially. On the region of interest these steps give the same pixels as on the whole image, because the
region holds the square's whole support plus a margin of zeros.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..defaults import DEFAULT_FEATHER
from ..detection.align import Alignment

__all__ = ["DEFAULT_FEATHER", "Region", "crop_to_output", "face_region", "feathered_mask", "paste_face"]

#: Side of the square kernel that trims the crop's bilinear edge, per unit of upscale (official: 2 x upscale).
EDGE_TRIM_PER_UPSCALE = 2
#: Zero pixels kept around the square's support, so erosion and blur at the region's border see what the
#: whole image would show there (zeros), and the blur's one-pixel overhang on the far side fits.
ROI_MARGIN_PX = 2
#: An empty kernel is what OpenCV (and so the official code) erodes with when the feather width is 0: 3x3.
EMPTY_KERNEL_SIDE = 3
#: Slack for ``sqrt(area) * feather`` landing a hair under a whole number.
FEATHER_EPSILON = 1e-9


@dataclass(frozen=True)
class Region:
    """A rectangle in output-image pixels: rows y0:y1, columns x0:x1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0


def crop_to_output(alignment: Alignment, scale: float = 1.0) -> np.ndarray:
    """2x3 affine from the aligned crop to the output image, which is the photo enlarged ``scale`` times."""
    inverse = alignment.inverse * scale
    inverse[:, 2] += 0.5 * (scale - 1.0)  # keep pixel centres aligned when enlarging
    return inverse


def face_region(crop_to_out: np.ndarray, size: int, out_shape: tuple[int, int]) -> Region:
    """Where the crop lands in the output, clipped to the image: every pixel the bilinear warp of the
    ``size`` x ``size`` square can touch (crop coordinates -1 .. size), plus ``ROI_MARGIN_PX``."""
    corners = np.array([[-1, -1, 1], [size, -1, 1], [size, size, 1], [-1, size, 1]], dtype=np.float64)
    corners = corners @ crop_to_out.T
    h, w = out_shape
    x0 = max(math.floor(corners[:, 0].min()) - ROI_MARGIN_PX, 0)
    y0 = max(math.floor(corners[:, 1].min()) - ROI_MARGIN_PX, 0)
    x1 = min(math.ceil(corners[:, 0].max()) + ROI_MARGIN_PX + 1, w)
    y1 = min(math.ceil(corners[:, 1].max()) + ROI_MARGIN_PX + 1, h)
    return Region(x0, y0, x1, y1)


@dataclass(frozen=True)
class PasteMasks:
    """The two masks of one face over its region: ``trimmed`` weights the warped face, ``soft`` blends it."""

    trimmed: np.ndarray
    soft: np.ndarray


def feather_width(trimmed: np.ndarray, feather: float) -> int:
    """Feather width in output pixels: the official ``int(sqrt(area)) // 20`` when ``feather`` is 1/20."""
    root = int(math.sqrt(float(trimmed.sum(dtype=np.float64))))
    return math.floor(root * feather + FEATHER_EPSILON)


def paste_masks(size: int, to_region: np.ndarray, region: Region, feather: float, scale: float = 1.0) -> PasteMasks:
    """The square mask warped into the region, trimmed, then eroded and blurred by the feather width."""
    square = np.ones((size, size), np.float32)
    mask = cv2.warpAffine(square, to_region, (region.width, region.height), flags=cv2.INTER_LINEAR)
    trim = max(int(EDGE_TRIM_PER_UPSCALE * scale), 1)
    trimmed = cv2.erode(mask, np.ones((trim, trim), np.uint8))
    if feather <= 0:
        return PasteMasks(trimmed, trimmed)
    edge = feather_width(trimmed, feather)
    side = 2 * edge if edge > 0 else EMPTY_KERNEL_SIDE
    centre = cv2.erode(trimmed, np.ones((side, side), np.uint8))
    soft = cv2.GaussianBlur(centre, (2 * edge + 1, 2 * edge + 1), 0)
    return PasteMasks(trimmed, soft)


def feathered_mask(size: int, to_region: np.ndarray, region: Region, feather: float, scale: float = 1.0) -> np.ndarray:
    """Soft mask in [0, 1] over the region: 1 inside the face square, falling smoothly to 0 at its edges."""
    return paste_masks(size, to_region, region, feather, scale).soft


def paste_face(
    canvas: np.ndarray,
    face: np.ndarray,
    alignment: Alignment,
    scale: float = 1.0,
    feather: float = DEFAULT_FEATHER,
    extra_mask: np.ndarray | None = None,
    blend: float = 1.0,
) -> Region:
    """Blend ``face`` (the restored aligned crop, 8-bit BGR) into ``canvas`` in place; returns the region touched.

    ``canvas`` is the output image (uint8 or uint16, HxWx3). ``extra_mask`` is an optional soft mask over the
    crop (e.g. from face parsing), combined with the square mask by taking the minimum. ``blend`` in [0, 1]
    scales the mask: 1 pastes the restored face, 0 leaves the photo exactly as it was, between mixes the two
    (what other tools call visibility).
    """
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be within [0, 1], got {blend}")
    size = alignment.size
    to_out = crop_to_output(alignment, scale)
    region = face_region(to_out, size, canvas.shape[:2])
    if region.is_empty():
        return region
    to_region = to_out.copy()
    to_region[:, 2] -= (region.x0, region.y0)
    dims = (region.width, region.height)
    # The 8-bit face is warped as 8 bits (rounded), as officially; weighting by the trimmed mask follows.
    warped = cv2.warpAffine(face, to_region, dims, flags=cv2.INTER_LINEAR).astype(np.float32)
    masks = paste_masks(size, to_region, region, feather, scale)
    warped *= masks.trimmed[:, :, None]
    mask = masks.soft
    if extra_mask is not None:
        mask = np.minimum(mask, cv2.warpAffine(extra_mask.astype(np.float32), to_region, dims, flags=cv2.INTER_LINEAR))
    if canvas.dtype == np.uint16:
        warped *= 257.0  # 8-bit network output onto a 16-bit photo
    target = canvas[region.y0 : region.y1, region.x0 : region.x1]
    if blend < 1.0:
        mask = mask * np.float32(blend)
    touched = mask > 0
    alpha = mask[touched][:, None]
    blended = alpha * warped[touched] + (1.0 - alpha) * target[touched].astype(np.float32)
    limit = np.iinfo(canvas.dtype).max
    target[touched] = np.clip(np.rint(blended), 0, limit).astype(canvas.dtype)
    return region
