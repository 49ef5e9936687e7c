"""Training faces for tests, made from photos that ship inside installed packages (nothing third-party is committed).

The faces are the 100 face crops of scikit-image's ``lfw_subset`` (greyscale, written as 3-channel images),
scikit-image's astronaut, and matplotlib's Grace Hopper when matplotlib is installed. The two photos are
aligned to the CodeFormer template the way the app does it (offline MTCNN landmarks, ``estimate_alignment``,
``warp_face``), so they look like FFHQ faces. The aligned photos are kept for the session: the detector runs
at most twice per test session, however many folders are written.

Use it from a session-scoped fixture in the test module::

    @pytest.fixture(scope="session")
    def face_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
        folder = tmp_path_factory.mktemp("faces")
        write_training_faces(folder, size=32)
        return folder
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import cv2
import numpy as np
from photo_samples import LFW_FACE_COUNT, astronaut_bgr, grace_hopper_bgr, lfw_crops

from codeformer_app.detection import FaceDetector, create_detector, find_faces
from codeformer_app.detection.align import TEMPLATE_SIZE, estimate_alignment, warp_face

#: Whether matplotlib (and so its grace_hopper.jpg) is installed.
HAS_GRACE_HOPPER = importlib.util.find_spec("matplotlib") is not None
#: Aligned photos written besides the LFW crops: the astronaut, and Grace Hopper with matplotlib.
ALIGNED_PHOTO_COUNT = 2 if HAS_GRACE_HOPPER else 1
#: How many faces ``write_training_faces`` writes.
TRAINING_FACE_COUNT = LFW_FACE_COUNT + ALIGNED_PHOTO_COUNT


def _aligned(photo: np.ndarray, detector: FaceDetector) -> np.ndarray:
    (face,) = find_faces(photo, detector)  # each photo holds exactly one face
    return warp_face(photo, estimate_alignment(face.landmarks, TEMPLATE_SIZE))


@functools.cache
def aligned_photos() -> tuple[np.ndarray, ...]:
    """The astronaut (and Grace Hopper) aligned to the 512 template, 8-bit BGR; computed once per session."""
    detector = create_detector("mtcnn")
    photos = [astronaut_bgr()]
    grace = grace_hopper_bgr()
    if grace is not None:
        photos.append(grace)
    return tuple(_aligned(photo, detector) for photo in photos)


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def _write_png(path: Path, image: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"{path}: OpenCV could not encode the test face as PNG")
    encoded.tofile(path)
    return path


def write_training_faces(folder: Path, size: int) -> list[Path]:
    """Write ``TRAINING_FACE_COUNT`` square 8-bit BGR PNG faces of ``size`` px into ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, crop in enumerate(lfw_crops(faces=True)):
        face = cv2.cvtColor(_resized(crop, size), cv2.COLOR_GRAY2BGR)
        paths.append(_write_png(folder / f"lfw_{index:03d}.png", face))
    for name, photo in zip(("astronaut", "grace_hopper"), aligned_photos(), strict=False):
        paths.append(_write_png(folder / f"{name}.png", _resized(photo, size)))
    return paths
