"""Turning pixels upright according to the EXIF Orientation tag (values 1..8, TIFF 6.0 / EXIF 2.3)."""

from __future__ import annotations

import cv2
import numpy as np

#: The EXIF / TIFF tag that says how the stored pixels must be turned to be shown upright.
ORIENTATION_TAG = 0x0112
UPRIGHT = 1
ORIENTATIONS = range(1, 9)
#: Orientations 5..8 swap width and height.
SWAPS_AXES = frozenset({5, 6, 7, 8})


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Return ``image`` (H, W) or (H, W, C) turned upright; the same array for orientation 1.

    Uses OpenCV's flips and rotations (several times faster than a contiguous copy of ``np.rot90``).
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"EXIF orientation must be 1..8, got {orientation}")
    if orientation == UPRIGHT:
        return image
    if orientation == 2:  # mirrored left-right
        return cv2.flip(image, 1)
    if orientation == 3:  # upside down
        return cv2.rotate(image, cv2.ROTATE_180)
    if orientation == 4:  # mirrored top-bottom
        return cv2.flip(image, 0)
    if orientation == 5:  # mirrored along the main diagonal
        return cv2.transpose(image)
    if orientation == 6:  # stored turned 90 degrees counter-clockwise
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:  # mirrored along the anti-diagonal
        return cv2.flip(cv2.transpose(image), -1)
    return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)  # 8: stored turned 90 degrees clockwise
