"""Faces that end up larger than the network's 512 crop in an enlarged photo (the official --face_upsample):
the restored crop is enlarged by Real-ESRGAN before pasting, instead of the paste's bilinear stretch."""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..detection.align import Alignment
from .upscale import NETWORK_SCALE, RealEsrganX2


def size_in_output(alignment: Alignment, upscale: float) -> float:
    """How many output pixels the crop's side covers (the crop is ``alignment.size`` pixels wide)."""
    photo_to_crop = math.sqrt(abs(np.linalg.det(alignment.matrix[:, :2])))
    return alignment.size * upscale / photo_to_crop


def needs_upsampling(alignment: Alignment, upscale: float) -> bool:
    return size_in_output(alignment, upscale) > alignment.size


def upsample_face(
    crop: np.ndarray, alignment: Alignment, extra_mask: np.ndarray | None, upscaler: RealEsrganX2
) -> tuple[np.ndarray, Alignment, np.ndarray | None]:
    """The crop enlarged by the network, the alignment to that larger crop, and the mask brought along."""
    bigger = upscaler.upscale(crop)
    size = alignment.size * NETWORK_SCALE
    scaled = Alignment(matrix=alignment.matrix * NETWORK_SCALE, size=size)
    if extra_mask is not None:
        extra_mask = cv2.resize(extra_mask, (size, size), interpolation=cv2.INTER_LINEAR)
    return bigger, scaled, extra_mask
