"""Is it the same person? A similarity in [-1, 1] of two dlib embeddings, and the threshold calibrated for it.

dlib's network was trained so that the Euclidean distance d between two descriptors is the measure (its
rule: the same person when d < 0.6). Its descriptors are not unit vectors (lengths 1.26-1.52 on the
calibration faces) and share a large common direction, so their plain cosine is squeezed into about
[0.74, 1] for any two faces and separates people worse than d does (docs/identity.md has both). The app
therefore reports ``similarity = 1 - d**2 / 2``, clipped to [-1, 1]: exactly the cosine for unit vectors,
1 for the same descriptor, symmetric, and a monotone map of dlib's own measure, so dlib's d = 0.6 is
similarity 0.82. ``IDENTITY_THRESHOLD`` was chosen on real photos (``bench/identity_calibration.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Embedding, IdentityModel

#: ``same_person`` is ``similarity >= IDENTITY_THRESHOLD``; calibrated in docs/identity.md.
IDENTITY_THRESHOLD = 0.82
#: dlib's documented rule, for reference: same person when the Euclidean distance is below this.
DLIB_DISTANCE_THRESHOLD = 0.6


def distance(a: Embedding, b: Embedding) -> float:
    """dlib's Euclidean distance between two embeddings (its rule: same person below 0.6)."""
    return float(np.linalg.norm(a.vector - b.vector))


def similarity_from_distance(value: float) -> float:
    """``1 - d**2 / 2`` clipped to [-1, 1]: the cosine two unit vectors at distance ``d`` would have."""
    return float(np.clip(1.0 - value * value / 2.0, -1.0, 1.0))


def similarity(a: Embedding, b: Embedding) -> float:
    """How alike two faces are, in [-1, 1] (1: the same descriptor); symmetric. See the module text."""
    return similarity_from_distance(distance(a, b))


def cosine(a: Embedding, b: Embedding) -> float:
    """Plain cosine of the two descriptors (measured in the calibration; not what the app reports)."""
    norms = float(np.linalg.norm(a.vector) * np.linalg.norm(b.vector))
    return 0.0 if norms == 0.0 else float(np.clip(np.dot(a.vector, b.vector) / norms, -1.0, 1.0))


def is_same_person(value: float, threshold: float = IDENTITY_THRESHOLD) -> bool:
    """The verdict for a similarity."""
    return value >= threshold


@dataclass(frozen=True)
class IdentityVerdict:
    """A comparison as the report and the ``identity`` command give it."""

    similarity: float
    same_person: bool
    threshold: float = IDENTITY_THRESHOLD

    @classmethod
    def of(cls, value: float, threshold: float = IDENTITY_THRESHOLD) -> IdentityVerdict:
        return cls(similarity=value, same_person=is_same_person(value, threshold), threshold=threshold)

    def as_json(self) -> dict[str, float | bool]:
        """``{"similarity": float, "same_person": bool, "threshold": float}``."""
        return {"similarity": self.similarity, "same_person": self.same_person, "threshold": self.threshold}


def restored_identity(model: IdentityModel, input_crop: np.ndarray, restored_crop: np.ndarray) -> float:
    """Similarity of a restored face to its input: both aligned crops (the pipeline's ``FaceInPhoto.crop``
    and the rendered crop) go through the same chip geometry, so only the pixels differ."""
    return similarity(model.embed_aligned(input_crop), model.embed_aligned(restored_crop))


def identity_to_reference(model: IdentityModel, reference: Embedding, restored_crop: np.ndarray) -> float:
    """Similarity of a restored face to a clear photo of the person (``--reference``), embedded once."""
    return similarity(reference, model.embed_aligned(restored_crop))
