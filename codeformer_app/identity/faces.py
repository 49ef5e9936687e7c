"""The largest face of a photo and its embedding: what ``codeformer-app identity`` and ``--reference`` use."""

from __future__ import annotations

import numpy as np

from ..detection import DetectedFace, DetectionOptions, FaceDetector, find_faces
from .model import Embedding, IdentityModel

#: One face per photo: the largest box (``find_faces`` keeps the N largest by area).
LARGEST_FACE = DetectionOptions(max_faces=1)


def largest_face(photo_bgr: np.ndarray, detector: FaceDetector) -> DetectedFace | None:
    """The photo's largest face (detector defaults otherwise), or None when it has none."""
    faces = find_faces(photo_bgr, detector, LARGEST_FACE)
    return faces[0] if faces else None


def embed_largest_face(model: IdentityModel, photo_bgr: np.ndarray, detector: FaceDetector) -> Embedding | None:
    """The embedding of the photo's largest face, or None when it has no face."""
    face = largest_face(photo_bgr, detector)
    return None if face is None else model.embed_face(photo_bgr, face.landmarks)
