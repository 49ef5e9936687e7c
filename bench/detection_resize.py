"""How the detection copy's enlargement (bilinear, bicubic, Lanczos) moves MTCNN's landmarks on small photos.

Usage (from the repository root)::

    .venv/bin/python -m bench.detection_resize

The astronaut and Grace Hopper are shrunk (area averaging) to 1/2 and 0.3 of their size; each small photo is
detected on a copy whose short side is 640 px, enlarged with each interpolation, and its landmarks are
compared with those of the full-size photo (mean over the three interpolations, mapped to the small photo),
as a mean distance in eye distances. Also: faces found on the 20-face LFW grid at half size.
The numbers are in docs/composition.md ("Detection copy and threshold").
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

TESTS = Path(__file__).resolve().parent.parent / "tests"
DETECT_SIDE = 640
FACTORS = (0.5, 0.3)
INTERPOLATIONS = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


def detect(detector, image: np.ndarray, interpolation: int) -> list[tuple[float, np.ndarray]]:
    """(score, landmarks in ``image`` pixels) of every face found on the 640 px copy."""
    height, width = image.shape[:2]
    scale = DETECT_SIDE / min(height, width)
    size = (round(width * scale), round(height * scale))
    copy = cv2.resize(image, size, interpolation=interpolation if scale > 1 else cv2.INTER_AREA)
    factors = np.array([size[0] / width, size[1] / height])
    return [(face.score, (face.landmarks + 0.5) / factors - 0.5) for face in detector.detect(copy)]


def main() -> int:
    sys.path.insert(0, str(TESTS))
    from photo_samples import astronaut_bgr, grace_hopper_bgr, lfw_face_grid

    from codeformer_app.detection import create_detector

    detector = create_detector("mtcnn")
    for name, big in (("astronaut", astronaut_bgr()), ("grace_hopper", grace_hopper_bgr())):
        if big is None:
            continue
        native = [max(detect(detector, big, i), key=lambda f: f[0])[1] for i in INTERPOLATIONS.values()]
        reference = np.mean(native, axis=0)
        eye = np.linalg.norm(reference[0] - reference[1])
        for factor in FACTORS:
            small = cv2.resize(big, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            ratio = np.array(small.shape[1::-1]) / big.shape[1::-1]
            truth = (reference + 0.5) * ratio - 0.5
            cells = []
            for label, interpolation in INTERPOLATIONS.items():
                faces = detect(detector, small, interpolation)
                if not faces:
                    cells.append(f"{label}: missed")
                    continue
                score, landmarks = max(faces, key=lambda f: f[0])
                error = np.linalg.norm(landmarks - truth, axis=1).mean() / (eye * factor)
                cells.append(f"{label}: error {error:.4f} score {score:.4f}")
            print(f"{name} {small.shape[1]}x{small.shape[0]}: " + "; ".join(cells))
    grid = cv2.resize(lfw_face_grid().image_bgr, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    found = {label: len(detect(detector, grid, i)) for label, i in INTERPOLATIONS.items()}
    print("LFW grid at half size, faces found:", found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
