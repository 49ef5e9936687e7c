"""dlib's HOG and CNN detectors as the app's ``FaceDetector``, for ``detector_eval.py``; and what dlib's own
5-point model would need to become our five landmarks.

Not part of the app. dlib is imported only when a detector is built, so ``report`` (which reads
``dlib5_offsets`` off a saved result) needs numpy alone; dlib runs in a throwaway venv (see detector_eval.py).
"""

from __future__ import annotations

import statistics
from pathlib import Path

import cv2
import numpy as np

from codeformer_app.detection import DetectedFace, Landmark


class DlibDetector:
    """dlib's HOG or CNN (MMOD) detector with the 68-point model, as a ``FaceDetector``; also records the
    5-point model's raw points per face so the report can show what converting them would involve."""

    def __init__(self, kind: str, upsample: int) -> None:
        import dlib
        import face_recognition_models as models

        self.name = f"dlib-{kind}"
        self._upsample = upsample
        self.default_min_score = 0.0
        self._dlib = dlib
        model_dir = Path(models.__file__).parent / "models"
        self._cnn = (
            dlib.cnn_face_detection_model_v1(str(model_dir / "mmod_human_face_detector.dat")) if kind == "cnn" else None
        )
        self._hog = dlib.get_frontal_face_detector() if kind == "hog" else None
        self._shape68 = dlib.shape_predictor(str(model_dir / "shape_predictor_68_face_landmarks.dat"))
        self._shape5 = dlib.shape_predictor(str(model_dir / "shape_predictor_5_face_landmarks.dat"))
        #: (five points from the 68-point model, raw 5-point model output) per face of the last ``detect``,
        #: in the coordinates of the image it was given: ratios of distances do not depend on them.
        self.pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        if self._hog is not None:
            rects, scores, _ = self._hog.run(rgb, self._upsample, 0.0)
        else:
            found = self._cnn(rgb, self._upsample)
            rects, scores = [d.rect for d in found], [d.confidence for d in found]
        faces = []
        self.pairs = []
        for rect, score in zip(rects, scores, strict=True):
            shape = self._shape68(rgb, rect)
            points68 = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            face = DetectedFace(
                (rect.left(), rect.top(), rect.right(), rect.bottom()), float(score), five_from_68(points68)
            )
            shape5 = self._shape5(rgb, rect)
            self.pairs.append((face.landmarks.astype(np.float64), np.array([(p.x, p.y) for p in shape5.parts()])))
            faces.append(face)
        return faces


def five_from_68(points: np.ndarray) -> np.ndarray:
    """Our five landmarks from dlib's 68 (iBUG 300-W numbering): eye centres = mean of each eye's six contour
    points (36-41 and 42-47), nose tip = 30, mouth corners = 48 and 54; left/right by image x."""
    eyes = sorted([points[36:42].mean(axis=0), points[42:48].mean(axis=0)], key=lambda p: p[0])
    mouth = sorted([points[48], points[54]], key=lambda p: p[0])
    return np.array([eyes[0], eyes[1], points[30], mouth[0], mouth[1]])


def dlib5_offsets(result: dict) -> dict:
    """Where dlib's 5-point model puts its points relative to the 68-point derived eye centres and nose tip,
    in eye distances: what a conversion to our five points would have to correct."""
    eye_errors, nose_drop = [], []
    for photo in result["photos"]:
        if photo["group"] not in ("single", "lfw"):
            continue
        for ours, five in photo["dlib_pairs"]:
            ours, five = np.array(ours), np.array(five)
            eye_distance = float(np.hypot(*(ours[1] - ours[0])))
            centres = sorted([five[0:2].mean(axis=0), five[2:4].mean(axis=0)], key=lambda p: p[0])
            eye_errors.append(float(np.mean([np.hypot(*(centres[i] - ours[i])) for i in range(2)])) / eye_distance)
            nose_drop.append(float(five[4, 1] - ours[Landmark.NOSE_TIP, 1]) / eye_distance)
    return {
        "eye_centre_from_corners_error": statistics.median(eye_errors) if eye_errors else float("nan"),
        "nose_base_below_tip": statistics.median(nose_drop) if nose_drop else float("nan"),
        "faces": len(eye_errors),
    }
