"""Finding faces in a photo of any size, and finding the one face inside a box the user drew.

Detection runs on a copy resized to a fixed short side (like the official pipeline), so its cost and the
face sizes the detector sees do not depend on the photo's resolution; results are mapped back to the
photo's pixels before any filtering, so every option is in the photo's own units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from .select import select_faces
from .types import Box, DetectedFace, DetectionOptions, FaceDetector

#: A drawn box is widened by this fraction of its size on every side before detecting, so a tight box
#: still shows the detector the whole head and some background.
DRAWN_BOX_MARGIN = 0.5
#: The drawn box is resized so that its long side is this many pixels: small faces are enlarged enough for
#: any detector (MTCNN looks for faces >= 20 px, RetinaFace's smallest anchor is 16 px), large ones shrunk.
DRAWN_BOX_SIDE = 256


def check_image(image_bgr: np.ndarray) -> None:
    """``ValueError`` unless the image is what detectors take: 8-bit, ``H x W x 3``."""
    if not isinstance(image_bgr, np.ndarray) or image_bgr.dtype != np.uint8:
        raise ValueError(f"face detection needs an 8-bit image, got {getattr(image_bgr, 'dtype', type(image_bgr))}")
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f"face detection needs a 3-channel BGR image (H x W x 3), got shape {image_bgr.shape}")
    if image_bgr.shape[0] == 0 or image_bgr.shape[1] == 0:
        raise ValueError(f"face detection needs a non-empty image, got shape {image_bgr.shape}")


def detection_scale(height: int, width: int, options: DetectionOptions) -> float:
    """Factor from the photo to the detection copy: short side to ``detect_side``, enlarging at most
    ``max_upscale`` times."""
    return min(options.detect_side / min(height, width), options.max_upscale)


def resized(image: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """``image`` scaled by ``scale`` (area averaging when shrinking, so small faces keep their features),
    and the exact per-axis factors after rounding to whole pixels."""
    height, width = image.shape[:2]
    new_width, new_height = max(1, round(width * scale)), max(1, round(height * scale))
    if (new_width, new_height) == (width, height):
        return image, 1.0, 1.0
    # Shrinking: area averaging, as the official CodeFormer. Enlarging: bicubic (official: bilinear), whose
    # landmarks were as close or closer on small photos (docs/composition.md).
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    image = cv2.resize(image, (new_width, new_height), interpolation=interpolation)
    return image, new_width / width, new_height / height


def find_faces(
    image_bgr: np.ndarray, detector: FaceDetector, options: DetectionOptions = DetectionOptions()
) -> list[DetectedFace]:
    """The faces in a photo that ``options`` keeps, in the photo's pixel coordinates, in reading order
    (rows top to bottom, left to right: the numbering a person would use; see ``select.reading_order``)."""
    check_image(image_bgr)
    height, width = image_bgr.shape[:2]
    copy, scale_x, scale_y = resized(image_bgr, detection_scale(height, width, options))
    faces = [face.transformed(scale_x, scale_y) for face in detector.detect(copy)]
    return select_faces(faces, (height, width), options, detector.default_min_score)


def detect_in_box(image_bgr: np.ndarray, box: Sequence[float], detector: FaceDetector) -> DetectedFace | None:
    """The face inside a box the user drew around a face the detector missed, or None if there is none.

    The box (x0, y0, x1, y1, photo pixels) is widened by ``DRAWN_BOX_MARGIN``, cut out, resized so the box is
    ``DRAWN_BOX_SIDE`` px (any part outside the photo filled by repeating its edge), and detected on.
    Of the detections whose centre lies inside the drawn box, the most confident one is returned, mapped back
    to the photo. No score threshold is applied: the user has said there is a face here.
    """
    check_image(image_bgr)
    x0, y0, x1, y1 = _checked_box(box)
    height, width = image_bgr.shape[:2]
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise ValueError(f"the box {tuple(box)} lies outside the {width}x{height} image")
    margin_x, margin_y = (x1 - x0) * DRAWN_BOX_MARGIN, (y1 - y0) * DRAWN_BOX_MARGIN
    left, top = math.floor(x0 - margin_x), math.floor(y0 - margin_y)
    right, bottom = math.ceil(x1 + margin_x), math.ceil(y1 + margin_y)
    # Resize the part inside the photo first, then pad: a box around a whole 100 MP photo stays cheap.
    inner_left, inner_top = max(left, 0), max(top, 0)
    inner = image_bgr[inner_top : min(bottom, height), inner_left : min(right, width)]
    copy, scale_x, scale_y = resized(inner, DRAWN_BOX_SIDE / max(x1 - x0, y1 - y0))
    pad_left, pad_top = round((inner_left - left) * scale_x), round((inner_top - top) * scale_y)
    pad_right = round((right - min(right, width)) * scale_x)
    pad_bottom = round((bottom - min(bottom, height)) * scale_y)
    if pad_left or pad_top or pad_right or pad_bottom:
        copy = cv2.copyMakeBorder(copy, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    offset_x, offset_y = inner_left - pad_left / scale_x, inner_top - pad_top / scale_y
    inside = [
        face
        for face in (face.transformed(scale_x, scale_y, offset_x, offset_y) for face in detector.detect(copy))
        if x0 <= face.centre[0] <= x1 and y0 <= face.centre[1] <= y1
    ]
    if not inside:
        return None
    return max(inside, key=lambda face: (face.score, face.area))


def _checked_box(box: Sequence[float]) -> Box:
    values = tuple(float(value) for value in box)
    if len(values) != 4 or not all(math.isfinite(value) for value in values):
        raise ValueError(f"a box is four finite numbers (x0, y0, x1, y1), got {box!r}")
    x0, y0, x1, y1 = values
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise ValueError(f"the box {box!r} is empty: it needs x1 > x0 and y1 > y0 (at least one pixel)")
    return values
