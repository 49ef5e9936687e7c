"""Aligning a face to CodeFormer's 512x512 FFHQ template with five landmarks, and the way back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Where the five landmarks sit in a 512x512 aligned face (FFHQ alignment as used by CodeFormer):
#: left eye centre, right eye centre, nose tip, left mouth corner, right mouth corner ("left" = smaller x).
TEMPLATE_SIZE = 512
TEMPLATE_LANDMARKS_512 = np.array(
    [
        [192.98138, 239.94708],
        [318.90277, 240.19360],
        [256.63416, 314.01935],
        [201.26117, 371.41043],
        [313.08905, 371.15118],
    ],
    dtype=np.float32,
)
#: Fill (B, G, R) for the parts of the aligned crop that fall outside the photo: the official grey, which the
#: official code hands to OpenCV as it stands, so on its BGR photos it is blue 135, green 133, red 132.
OUTSIDE_FILL_BGR = (135, 133, 132)
#: Photos whose short side is below this are enlarged to it by the official pipeline before cropping;
#: we crop them from their own pixels with ``SMALL_PHOTO_INTERPOLATION`` instead (see ``crop_interpolation``).
SMALL_PHOTO_SIDE = 512
SMALL_PHOTO_INTERPOLATION = cv2.INTER_LANCZOS4


@dataclass(frozen=True)
class Alignment:
    """A similarity transform from photo coordinates to an aligned ``size`` x ``size`` face crop."""

    matrix: np.ndarray
    """2x3 affine, photo -> crop (pixel centres at integer coordinates)."""
    size: int

    @property
    def inverse(self) -> np.ndarray:
        """2x3 affine, crop -> photo."""
        return cv2.invertAffineTransform(self.matrix)


def estimate_alignment(landmarks: np.ndarray, size: int = TEMPLATE_SIZE) -> Alignment:
    """Best similarity transform (rotation, uniform scale, shift) taking the landmarks onto the template."""
    template = TEMPLATE_LANDMARKS_512 * (size / TEMPLATE_SIZE)
    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(landmarks, np.float32), template, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("the five landmarks are degenerate; no alignment can be estimated")
    return Alignment(matrix=matrix, size=size)


def crop_interpolation(image_shape: tuple[int, ...]) -> int:
    """Bilinear (the official crop, bit for bit) unless the photo's short side is under ``SMALL_PHOTO_SIDE``.

    The official pipeline enlarges such a photo bilinearly to 512 and crops from that copy (two bilinear
    steps). We keep the photo's size and crop straight from its own pixels with Lanczos, the source that came
    closest to a crop of the full-size original in our measurements (docs/composition.md).
    """
    return SMALL_PHOTO_INTERPOLATION if min(image_shape[:2]) < SMALL_PHOTO_SIDE else cv2.INTER_LINEAR


def warp_face(image: np.ndarray, alignment: Alignment, interpolation: int | None = None) -> np.ndarray:
    """The aligned face crop (``crop_interpolation`` unless given); areas outside the photo are grey."""
    fill = OUTSIDE_FILL_BGR if image.dtype == np.uint8 else tuple(v * 257 for v in OUTSIDE_FILL_BGR)
    if interpolation is None:
        interpolation = crop_interpolation(image.shape)
    return cv2.warpAffine(
        image,
        alignment.matrix,
        (alignment.size, alignment.size),
        flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
