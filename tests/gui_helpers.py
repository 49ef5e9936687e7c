"""Shared pieces of the GUI tests: a small engine, real photos on disk, waiting for the window to settle."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from model_helpers import TINY_CONFIG, make_model

from codeformer_app.detection import create_detector
from codeformer_app.pipeline.restore_file import Engine


def tiny_engine(seed: int = 0) -> Engine:
    """A tiny CodeFormer (32 px faces, seeded random weights) with the real offline MTCNN detector."""
    return Engine(model=make_model(TINY_CONFIG, seed=seed), detector=create_detector("mtcnn"))


def write_image(path: Path, image_bgr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image_bgr):
        raise OSError(f"could not write {path}")
    return path
