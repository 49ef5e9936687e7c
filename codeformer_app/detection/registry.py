"""Detectors by name, built on demand.

The detector modules (and torch, facenet-pytorch, facexlib behind them) are imported only when a detector is
created, so importing ``codeformer_app.detection`` for its types stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..defaults import DEFAULT_DETECTOR, DETECTOR_NAMES
from .types import FaceDetector

__all__ = ["DEFAULT_DETECTOR", "DETECTOR_NAMES", "available_detectors", "create_detector"]

if TYPE_CHECKING:
    import torch

#: The detectors that need installed weights; each name is also its weights' registry name.
RETINAFACE_DETECTORS = ("retinaface", "retinaface-mobile")


def create_detector(name: str, device: torch.device | str = "cpu", weights_folder: Path | None = None) -> FaceDetector:
    """The detector called ``name`` on ``device``.

    ``retinaface`` (ResNet-50) and ``retinaface-mobile`` (MobileNet-0.25) raise ``WeightsMissingError``
    (whose message says to run ``codeformer-app weights download NAME``) when their weights are not installed
    in ``weights_folder`` (default: the app's weights folder); ``mtcnn`` always works offline.
    """
    key = name.strip().lower()
    if key == "mtcnn":
        from .mtcnn import MtcnnDetector

        return MtcnnDetector(device)
    if key in RETINAFACE_DETECTORS:
        from .retinaface import VARIANTS, RetinaFaceDetector

        return RetinaFaceDetector.from_installed(device, weights_folder, VARIANTS[key])
    raise ValueError(f"unknown face detector {name!r}; choose one of {', '.join(DETECTOR_NAMES)}")


def available_detectors(weights_folder: Path | None = None) -> tuple[str, ...]:
    """The detectors that can be created now: ``mtcnn`` always, each RetinaFace when its weights are installed."""
    from ..weights import find_installed

    return tuple(
        name
        for name in DETECTOR_NAMES
        if name not in RETINAFACE_DETECTORS or find_installed(name, weights_folder) is not None
    )
