"""Finding the faces of a photo and cutting out their aligned crops (no network involved)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..detection import DetectedFace, DetectionOptions, FaceDetector, find_faces
from ..detection.align import TEMPLATE_SIZE, Alignment, estimate_alignment, warp_face


@dataclass(frozen=True)
class FaceInPhoto:
    """One face: what the detector saw, how it maps to the template, and its aligned 8-bit BGR crop."""

    detected: DetectedFace
    alignment: Alignment
    crop: np.ndarray


def locate_faces(
    image_bgr8: np.ndarray,
    detector: FaceDetector,
    options: DetectionOptions = DetectionOptions(),
    crop_size: int = TEMPLATE_SIZE,
) -> list[FaceInPhoto]:
    """Detect, align and crop every face of an 8-bit BGR photo."""
    return [face_from_detection(image_bgr8, face, crop_size) for face in find_faces(image_bgr8, detector, options)]


def face_from_detection(image_bgr8: np.ndarray, face: DetectedFace, crop_size: int = TEMPLATE_SIZE) -> FaceInPhoto:
    """Align and crop one detected face (also used for faces the user marks by hand)."""
    alignment = estimate_alignment(face.landmarks, crop_size)
    return FaceInPhoto(detected=face, alignment=alignment, crop=warp_face(image_bgr8, alignment))
