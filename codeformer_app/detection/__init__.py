"""Face detection: find faces and their five landmarks in a photo, for alignment to the CodeFormer template.

- ``find_faces(image, detector, options)``: detect on a copy of the standard size, map back, filter, order.
- ``detect_in_box(image, box, detector)``: the face inside a box the user drew (a face the detector missed).
- ``create_detector(name)``: ``mtcnn`` (offline default, weights inside facenet-pytorch), ``retinaface``
  (the official detector, ResNet-50) or ``retinaface-mobile`` (its light MobileNet-0.25 variant), each
  RetinaFace when its weights are installed.

Core code: no Qt. Importing this package does not import torch; creating a detector does.
"""

from .find import detect_in_box, find_faces
from .registry import DEFAULT_DETECTOR, DETECTOR_NAMES, available_detectors, create_detector
from .select import nearest_centre, reading_order, select_faces
from .types import LANDMARK_COUNT, DetectedFace, DetectionOptions, FaceDetector, Landmark

__all__ = [
    "DEFAULT_DETECTOR",
    "DETECTOR_NAMES",
    "LANDMARK_COUNT",
    "DetectedFace",
    "DetectionOptions",
    "FaceDetector",
    "Landmark",
    "available_detectors",
    "create_detector",
    "detect_in_box",
    "find_faces",
    "nearest_centre",
    "reading_order",
    "select_faces",
]
