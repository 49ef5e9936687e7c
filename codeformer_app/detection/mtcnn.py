"""The offline default detector: MTCNN with the weights that ship inside ``facenet-pytorch==2.5.3``.

Nothing is downloaded: the three small networks (P-, R-, O-Net, about 2 MB together) are package data of
the wheel. They are read with the app's safe loader (``torch.load(weights_only=True)``) and built by
``networks/mtcnn/`` rather than by facenet-pytorch's own constructors, so loading is safe on every torch
version we support, and the three stages run through
facenet-pytorch's ``detect_face`` (the MTCNN cascade) under ``torch.inference_mode``.

facenet-pytorch returns its five points as (x, y) rows in the order left eye, right eye, nose tip, left
mouth corner, right mouth corner ("left" = smaller x in the image): the same order as ``Landmark``, which
``tests/test_detection.py`` checks on a real photo.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from facenet_pytorch.models.utils.detect_face import detect_face

from ..networks.mtcnn.load import Stage, build_stage, packaged_weights
from ..weights.safe_load import read_state_dict
from .find import check_image
from .types import LANDMARK_COUNT, DetectedFace

#: Smallest face the image pyramid looks for, in pixels of the image given to ``detect`` (facenet default).
MIN_FACE_PX = 20
#: Scale step of the image pyramid (the MTCNN paper's value).
PYRAMID_FACTOR = 0.709
#: Confidence each cascade stage (P-, R-, O-Net) needs to pass a candidate on (facenet defaults).
STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
#: Default ``min_score`` for ``find_faces``; see docs/detector-choice.md for how it was picked.
DEFAULT_MIN_SCORE = 0.9
#: MTCNN's boxes count pixels from 1 (it was written in MATLAB); ours count from 0.
MATLAB_INDEX_BASE = 1.0


class MtcnnDetector:
    """MTCNN on ``device``; holds only its networks and settings, so one instance can serve many images."""

    name = "mtcnn"
    default_min_score = DEFAULT_MIN_SCORE

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self._pnet = _load_stage(Stage.PROPOSAL, self.device)
        self._rnet = _load_stage(Stage.REFINE, self.device)
        self._onet = _load_stage(Stage.OUTPUT, self.device)

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in an 8-bit BGR image, in its pixel coordinates; [] when it is smaller than one face."""
        check_image(image_bgr)
        if min(image_bgr.shape[:2]) < MIN_FACE_PX:
            return []
        # The networks were trained on RGB.
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        with torch.inference_mode():
            batch_boxes, batch_points = detect_face(
                rgb,
                MIN_FACE_PX,
                self._pnet,
                self._rnet,
                self._onet,
                list(STAGE_THRESHOLDS),
                PYRAMID_FACTOR,
                self.device,
            )
        # One image in, one entry out; rows of boxes are x0, y0, x1, y1, score.
        boxes = np.asarray(batch_boxes[0], dtype=np.float64).reshape(-1, 5)
        points = np.asarray(batch_points[0], dtype=np.float64).reshape(-1, LANDMARK_COUNT, 2)
        return [
            DetectedFace(tuple(row[:4] - MATLAB_INDEX_BASE), float(row[4]), landmarks)
            for row, landmarks in zip(boxes, points, strict=True)
        ]


def _load_stage(stage: Stage, device: torch.device) -> torch.nn.Module:
    """One cascade stage with its packaged weights, in evaluation mode on ``device``."""
    with packaged_weights(stage) as path:
        state_dict, _metadata = read_state_dict(path)
    return build_stage(state_dict, path).to(device)
