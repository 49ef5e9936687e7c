"""Pasting a restored face back into the photo through a feathered mask.

Only the face's region of interest (the bounding box of its crop in photo coordinates) is warped and blended:
the official pipeline warps every face onto a full-size canvas, which costs a full-image warp per face. Pixels
where the mask is zero are never written, so everything away from faces stays exactly as it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..defaults import DEFAULT_FEATHER
from .align import Alignment

__all__ = ["DEFAULT_FEATHER", "Region", "crop_to_output", "face_region", "feathered_mask", "paste_face"]

#: Pixels trimmed from the crop's edge before feathering, so bilinear edge pixels never show.
EDGE_TRIM_PX = 2
#: Extra pixels around the region of interest so interpolation at its border has support.
ROI_MARGIN_PX = 2


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
    """Where the crop lands in the output, clipped to the image."""
    s = size - 1
    corners = np.array([[0, 0, 1], [s, 0, 1], [s, s, 1], [0, s, 1]], dtype=np.float64) @ crop_to_out.T
    h, w = out_shape
    x0 = max(math.floor(corners[:, 0].min()) - ROI_MARGIN_PX, 0)
    y0 = max(math.floor(corners[:, 1].min()) - ROI_MARGIN_PX, 0)
    x1 = min(math.ceil(corners[:, 0].max()) + ROI_MARGIN_PX + 1, w)
    y1 = min(math.ceil(corners[:, 1].max()) + ROI_MARGIN_PX + 1, h)
    return Region(x0, y0, x1, y1)


def feathered_mask(size: int, to_region: np.ndarray, region: Region, feather: float) -> np.ndarray:
    """Soft mask in [0, 1] over the region: 1 inside the face square, falling smoothly to 0 at its edges."""
    square = np.ones((size, size), np.float32)
    mask = cv2.warpAffine(square, to_region, (region.width, region.height), flags=cv2.INTER_LINEAR)
    trim = np.ones((2 * EDGE_TRIM_PX + 1, 2 * EDGE_TRIM_PX + 1), np.uint8)
    mask = cv2.erode(mask, trim)
    if feather <= 0:
        return mask
    edge = max(int(math.sqrt(float(mask.sum())) * feather), 1)
    mask = cv2.erode(mask, np.ones((2 * edge + 1, 2 * edge + 1), np.uint8))
    return cv2.GaussianBlur(mask, (4 * edge + 1, 4 * edge + 1), 0)


def paste_face(
    canvas: np.ndarray,
    face: np.ndarray,
    alignment: Alignment,
    scale: float = 1.0,
    feather: float = DEFAULT_FEATHER,
    extra_mask: np.ndarray | None = None,
) -> Region:
    """Blend ``face`` (the restored aligned crop, 8-bit BGR) into ``canvas`` in place; returns the region touched.

    ``canvas`` is the output image (uint8 or uint16, HxWx3). ``extra_mask`` is an optional soft mask over the
    crop (e.g. from face parsing), combined with the square mask by taking the minimum.
    """
    size = alignment.size
    to_out = crop_to_output(alignment, scale)
    region = face_region(to_out, size, canvas.shape[:2])
    if region.is_empty():
        return region
    to_region = to_out.copy()
    to_region[:, 2] -= (region.x0, region.y0)
    dims = (region.width, region.height)
    warped = cv2.warpAffine(face.astype(np.float32), to_region, dims, flags=cv2.INTER_LINEAR)
    mask = feathered_mask(size, to_region, region, feather)
    if extra_mask is not None:
        mask = np.minimum(mask, cv2.warpAffine(extra_mask.astype(np.float32), to_region, dims, flags=cv2.INTER_LINEAR))
    if canvas.dtype == np.uint16:
        warped *= 257.0  # 8-bit network output onto a 16-bit photo
    target = canvas[region.y0 : region.y1, region.x0 : region.x1]
    touched = mask > 0
    alpha = mask[touched][:, None]
    blended = alpha * warped[touched] + (1.0 - alpha) * target[touched].astype(np.float32)
    limit = np.iinfo(canvas.dtype).max
    target[touched] = np.clip(np.rint(blended), 0, limit).astype(canvas.dtype)
    return region
