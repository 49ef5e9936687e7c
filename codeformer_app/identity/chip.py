"""dlib's 150x150 face chip, cut with the app's own five landmarks.

dlib's recognition network was trained on chips that ``dlib.get_face_chip`` cuts from dlib's own landmarks
(eye corners and nose base, which our detectors do not give). So the chip is cut here by a similarity
transform of *our* five points (eye centres, nose tip, mouth corners) onto where those points sit in dlib's
chip, ``CHIP_LANDMARKS_150``. Those positions were measured, not guessed: on 99 real faces, dlib's own chip
(HOG detector + 5-point model, ``get_face_chip_details(size=150, padding=0.25)``) was computed and MTCNN's
five points mapped into it; the medians are below (``bench/identity_calibration.py template``,
``docs/identity.md``).

The aligned 512 crops of the pipeline are related to the chip by one fixed transform (template to chip), so
an input crop and its restored crop are cut into chips by exactly the same pixels-to-pixels mapping, and a
whole photo goes to its chip in one warp with the same geometry as ``photo -> 512 crop -> chip``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..detection.align import TEMPLATE_LANDMARKS_512, TEMPLATE_SIZE, estimate_alignment

#: dlib's recognition network takes 150x150 RGB chips.
CHIP_SIZE = 150
#: Where our five landmarks (left eye centre, right eye centre, nose tip, left and right mouth corner) sit in
#: dlib's 150 px chip with its default padding of 0.25: medians over 99 real faces (see the module text).
CHIP_LANDMARKS_150 = np.array(
    [
        [48.5, 47.2],
        [103.0, 46.3],
        [73.8, 78.5],
        [53.5, 106.0],
        [99.8, 105.5],
    ],
    dtype=np.float32,
)
#: Fill for chip pixels that fall outside the image: the pipeline's grey for outside-the-photo areas.
OUTSIDE_FILL_BGR = (132, 133, 135)
#: A chip that would shrink the image by more than this is warped at a larger size first and then area-
#: averaged down, so a large face is not aliased (bilinear sampling alone skips pixels).
MAX_SUPERSAMPLE = 8


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (2x3: rotation, uniform scale, shift) taking ``source`` onto
    ``target``: every point counts (both are templates, there are no outliers to reject)."""
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    # x' = a x - b y + tx, y' = b x + a y + ty: linear in (a, b, tx, ty).
    rows = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append(([x, -y, 1.0, 0.0], u))
        rows.append(([y, x, 0.0, 1.0], v))
    design = np.array([row for row, _ in rows])
    values = np.array([value for _, value in rows])
    (a, b, tx, ty), *_ = np.linalg.lstsq(design, values, rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


#: The fixed map from a 512 aligned crop (CodeFormer's template) to dlib's chip.
ALIGNED_TO_CHIP = _similarity(TEMPLATE_LANDMARKS_512, CHIP_LANDMARKS_150)


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine ``outer(inner(x))``."""
    return (np.vstack([outer, [0.0, 0.0, 1.0]]) @ np.vstack([inner, [0.0, 0.0, 1.0]]))[:2]


def chip_matrix_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Photo -> chip (2x3) for a face with our five landmarks: the app's 512 alignment, then the fixed map.

    Going through the app's own alignment (same LMEDS fit) makes the chip of a photo the same as the chip of
    that photo's aligned crop, so ``embed_face`` and ``embed_aligned`` agree.
    """
    alignment = estimate_alignment(np.asarray(landmarks, np.float32), TEMPLATE_SIZE)
    return _compose(ALIGNED_TO_CHIP, alignment.matrix)


def _scale_of(matrix: np.ndarray) -> float:
    """How many chip pixels one image pixel becomes (a similarity transform's uniform scale)."""
    return math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))


def cut_chip(image_bgr: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The 150x150 8-bit BGR chip of ``image_bgr`` under ``matrix`` (image -> chip).

    Grey (2-D) images are expanded to three channels; shrinking by 2x or more is supersampled.
    """
    if image_bgr.dtype != np.uint8:
        raise ValueError(f"a face chip is cut from an 8-bit image, got {image_bgr.dtype}")
    if image_bgr.ndim == 2:
        image_bgr = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f"a face chip is cut from a BGR image (H x W x 3), got shape {image_bgr.shape}")
    factor = min(MAX_SUPERSAMPLE, max(1, math.floor(1.0 / max(_scale_of(matrix), 1e-6))))
    size = CHIP_SIZE * factor
    # Pixel centres: a chip pixel at c is the supersampled pixel block around factor * c + (factor - 1) / 2.
    scaled = matrix * factor
    scaled[:, 2] += (factor - 1) / 2.0
    chip = cv2.warpAffine(
        image_bgr,
        scaled,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=OUTSIDE_FILL_BGR,
    )
    if factor > 1:
        chip = cv2.resize(chip, (CHIP_SIZE, CHIP_SIZE), interpolation=cv2.INTER_AREA)
    return chip


def chip_from_aligned(crop_bgr: np.ndarray) -> np.ndarray:
    """The chip of an aligned crop (the pipeline's 512 template, or any size of the same template)."""
    size = crop_bgr.shape[0]
    if crop_bgr.shape[1] != size:
        raise ValueError(f"an aligned face crop is square, got shape {crop_bgr.shape}")
    to_template = np.array([[TEMPLATE_SIZE / size, 0.0, 0.0], [0.0, TEMPLATE_SIZE / size, 0.0]])
    # Pixel centres map to pixel centres when the crop is not 512: (x + 0.5) * s - 0.5.
    to_template[:, 2] = 0.5 * TEMPLATE_SIZE / size - 0.5
    return cut_chip(crop_bgr, _compose(ALIGNED_TO_CHIP, to_template))


def chip_from_photo(photo_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The chip of one face of a photo, from its five landmarks, in one warp."""
    return cut_chip(photo_bgr, chip_matrix_from_landmarks(landmarks))
