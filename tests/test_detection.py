"""Face detection on real photos (scikit-image's astronaut, coffee, and LFW faces), with the real detectors.

MTCNN runs with its real weights (inside the facenet-pytorch wheel). RetinaFace has no real weights here
(no internet), so its loading path is tested with seeded random weights: it must build, load, run offline
and return well-formed results; its accuracy is not tested.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from photo_samples import (
    ASTRONAUT_FACE_REGION,
    GRID_COLUMNS,
    GRID_ROWS,
    astronaut_bgr,
    coffee_bgr,
    contains,
    grace_hopper_bgr,
    lfw_face_grid,
    lfw_non_face_grid,
)

from codeformer_app.detection import (
    DETECTOR_NAMES,
    LANDMARK_COUNT,
    DetectedFace,
    DetectionOptions,
    Landmark,
    available_detectors,
    create_detector,
    detect_in_box,
    find_faces,
    reading_order,
)
from codeformer_app.detection.mtcnn import MtcnnDetector
from codeformer_app.errors import WeightsError
from codeformer_app.weights import DEFAULT_REGISTRY, WeightsMissingError, import_weights, weights_dir
from codeformer_app.weights.paths import installed_path
from codeformer_app.weights.registry import RETINAFACE

REPO = Path(__file__).resolve().parents[1]
#: The astronaut's head (hair to chin) in the 512 px photo; pasted into the composite photos below.
ASTRONAUT_HEAD = (130, 20, 300, 240)
#: Where the face's centre lies in that head crop (read off MTCNN's box on the original photo).
HEAD_FACE_CENTRE = (92, 98)
#: The upscaled-photo test: the astronaut enlarged to this size must give the same face, scaled.
LARGE_SIDE = 2048
#: Landmarks found on the large photo, scaled back, must be this close (px of the 512 photo) to those found
#: on the original: both are detected on a 640 px copy, resampled differently.
SCALE_TOLERANCE_PX = 2.0


@pytest.fixture(scope="module")
def mtcnn() -> MtcnnDetector:
    return MtcnnDetector("cpu")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection (or resolve a name) fails the test."""
    _refuse_network(monkeypatch)


def _refuse_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a detector tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _check_landmark_order(face: DetectedFace) -> None:
    """Our landmark order, on an upright frontal face: eyes left to right, above the nose, above the mouth."""
    left_eye, right_eye = face.point(Landmark.LEFT_EYE), face.point(Landmark.RIGHT_EYE)
    nose = face.point(Landmark.NOSE_TIP)
    mouth_left, mouth_right = face.point(Landmark.MOUTH_LEFT), face.point(Landmark.MOUTH_RIGHT)
    assert left_eye[0] < right_eye[0]
    assert mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert left_eye[0] < nose[0] < right_eye[0]
    for point in face.landmarks:
        assert contains(face.box, (float(point[0]), float(point[1])))


def _centres(faces: list[DetectedFace]) -> np.ndarray:
    """Box centres, one row per face: faces compare by identity, so tests compare where they are."""
    return np.array([face.centre for face in faces], dtype=np.float64).reshape(-1, 2)


def _paste_head(canvas: np.ndarray, scale: float, x: int, y: int) -> tuple[float, float]:
    """Paste the astronaut's head, scaled, with its top-left at (x, y); returns the scale actually used
    per axis, so expected landmark positions can be computed from those found on the original photo."""
    x0, y0, x1, y1 = ASTRONAUT_HEAD
    head = astronaut_bgr()[y0:y1, x0:x1]
    width, height = round((x1 - x0) * scale), round((y1 - y0) * scale)
    canvas[y : y + height, x : x + width] = cv2.resize(head, (width, height), interpolation=cv2.INTER_AREA)
    return width / (x1 - x0), height / (y1 - y0)


def _moved(points: np.ndarray, scales: tuple[float, float], x: int, y: int) -> np.ndarray:
    """Landmarks of the original astronaut photo where ``_paste_head`` put them."""
    origin = np.array(ASTRONAUT_HEAD[:2], dtype=np.float64)
    factors = np.array(scales)
    return (points + 0.5 - origin) * factors - 0.5 + np.array([x, y])


# ---------------------------------------------------------------------------------------------- MTCNN


def test_mtcnn_builds_and_detects_offline(offline: None) -> None:
    detector = create_detector("mtcnn")
    assert detector.name == "mtcnn"
    assert len(find_faces(astronaut_bgr(), detector)) == 1


def test_mtcnn_finds_the_astronaut_with_landmarks_in_our_order(mtcnn: MtcnnDetector) -> None:
    faces = find_faces(astronaut_bgr(), mtcnn)
    assert len(faces) == 1
    face = faces[0]
    assert face.landmarks.shape == (LANDMARK_COUNT, 2)
    assert face.landmarks.dtype == np.float32
    assert contains(ASTRONAUT_FACE_REGION, face.centre)
    assert mtcnn.default_min_score <= face.score <= 1.0
    _check_landmark_order(face)
    # A frontal face: eye centres about 0.45 of the box width apart (0.46 +- 0.03 over 100 LFW faces).
    assert 0.35 < face.eye_distance / face.width < 0.6


def test_mtcnn_finds_the_faces_of_a_real_group_in_reading_order(mtcnn: MtcnnDetector) -> None:
    """20 LFW faces in a 4x5 grid. MTCNN finds 19 at the default threshold: it misses face 13 (tilted, dark,
    low contrast, cut by the crop's edge; dlib's HOG detector misses it too). Over all 100 LFW faces it finds
    99 (docs/detector-choice.md). Fewer than 19 here is a regression."""
    grid = lfw_face_grid()
    faces = find_faces(grid.image_bgr, mtcnn)
    cells = []
    for face in faces:
        inside = [index for index, cell in enumerate(grid.cells) if contains(cell, face.centre)]
        assert len(inside) == 1, f"detection outside every face: {face}"
        cells.append(inside[0])
        _check_landmark_order(face)
    assert len(set(cells)) == len(cells), "two detections for one face"
    assert len(cells) >= GRID_ROWS * GRID_COLUMNS - 1
    assert cells == sorted(cells), "not in reading order (rows top to bottom, left to right)"


def test_mtcnn_finds_nothing_in_patches_without_faces(mtcnn: MtcnnDetector) -> None:
    assert find_faces(lfw_non_face_grid().image_bgr, mtcnn) == []


@pytest.mark.parametrize(
    "image",
    [coffee_bgr(), np.full((480, 640, 3), 128, np.uint8), np.zeros((8, 8, 3), np.uint8), np.zeros((1, 1, 3), np.uint8)],
    ids=["coffee", "flat-grey", "tiny-8x8", "one-pixel"],
)
def test_no_face_gives_an_empty_list(mtcnn: MtcnnDetector, image: np.ndarray) -> None:
    assert find_faces(image, mtcnn) == []


def test_large_photo_maps_back_to_its_own_pixels(mtcnn: MtcnnDetector) -> None:
    original = astronaut_bgr()
    factor = LARGE_SIDE / original.shape[0]
    large = cv2.resize(original, (LARGE_SIDE, LARGE_SIDE), interpolation=cv2.INTER_CUBIC)
    (small_face,) = find_faces(original, mtcnn)
    (large_face,) = find_faces(large, mtcnn)
    # Pixel centres: x_large = (x_small + 0.5) * factor - 0.5.
    back = (large_face.landmarks.astype(np.float64) + 0.5) / factor - 0.5
    assert np.abs(back - small_face.landmarks).max() < SCALE_TOLERANCE_PX
    assert large_face.width == pytest.approx(small_face.width * factor, rel=0.05)
    assert contains(tuple(v * factor for v in ASTRONAUT_FACE_REGION), large_face.centre)


def test_greyscale_photo_works(mtcnn: MtcnnDetector) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    (face,) = find_faces(grey, mtcnn)
    (colour_face,) = find_faces(astronaut_bgr(), mtcnn)
    _check_landmark_order(face)
    assert np.abs(face.landmarks - colour_face.landmarks).max() < 3.0


@pytest.mark.skipif(grace_hopper_bgr() is None, reason="matplotlib (which ships grace_hopper.jpg) is not installed")
def test_mtcnn_finds_grace_hopper(mtcnn: MtcnnDetector) -> None:
    image = grace_hopper_bgr()
    assert image is not None
    (face,) = find_faces(image, mtcnn)
    _check_landmark_order(face)


# --------------------------------------------------------------------------------------------- options


@pytest.fixture(scope="module")
def three_heads(mtcnn: MtcnnDetector) -> tuple[np.ndarray, list[DetectedFace]]:
    """A 1000x560 photo with the astronaut's head three times, faces on one line: large on the left, small
    in the centre of the photo, medium on the right."""
    canvas = np.full((560, 1000, 3), 150, np.uint8)
    face_line = 280
    for scale, x in ((1.0, 40), (0.45, 450), (0.7, 760)):
        _paste_head(canvas, scale, x, round(face_line - HEAD_FACE_CENTRE[1] * scale))
    faces = find_faces(canvas, mtcnn)
    return canvas, faces


def test_three_heads_found_left_to_right(three_heads: tuple[np.ndarray, list[DetectedFace]]) -> None:
    _canvas, faces = three_heads
    assert len(faces) == 3
    xs = [face.centre[0] for face in faces]
    assert xs == sorted(xs)
    large, small, medium = faces
    assert large.width > medium.width > small.width


def test_min_face_size_drops_small_faces(
    mtcnn: MtcnnDetector, three_heads: tuple[np.ndarray, list[DetectedFace]]
) -> None:
    canvas, (large, small, medium) = three_heads
    threshold = (small.short_side + medium.short_side) / 2
    kept = find_faces(canvas, mtcnn, DetectionOptions(min_face_size=threshold))
    assert _centres(kept) == pytest.approx(_centres([large, medium]))


def test_only_center_keeps_the_face_nearest_the_centre(
    mtcnn: MtcnnDetector, three_heads: tuple[np.ndarray, list[DetectedFace]]
) -> None:
    canvas, (_large, small, _medium) = three_heads
    (kept,) = find_faces(canvas, mtcnn, DetectionOptions(only_center=True))
    assert kept.centre == pytest.approx(small.centre)


def test_max_faces_keeps_the_largest(mtcnn: MtcnnDetector, three_heads: tuple[np.ndarray, list[DetectedFace]]) -> None:
    canvas, (large, _small, medium) = three_heads
    kept = find_faces(canvas, mtcnn, DetectionOptions(max_faces=2))
    assert _centres(kept) == pytest.approx(_centres([large, medium]))


def test_min_eye_distance_and_min_score(
    mtcnn: MtcnnDetector, three_heads: tuple[np.ndarray, list[DetectedFace]]
) -> None:
    canvas, faces = three_heads
    eye_limit = max(face.eye_distance for face in faces) + 1
    assert find_faces(canvas, mtcnn, DetectionOptions(min_eye_distance=eye_limit)) == []
    weakest = min(face.score for face in faces)
    stronger = find_faces(canvas, mtcnn, DetectionOptions(min_score=float(np.nextafter(weakest, 1.0))))
    assert _centres(stronger) == pytest.approx(_centres([face for face in faces if face.score > weakest]))


def test_detection_size_does_not_change_the_units(mtcnn: MtcnnDetector) -> None:
    """Whatever copy size is detected on, the boxes are in the photo's pixels."""
    (default,) = find_faces(astronaut_bgr(), mtcnn)
    (smaller,) = find_faces(astronaut_bgr(), mtcnn, DetectionOptions(detect_side=320))
    assert np.abs(default.landmarks - smaller.landmarks).max() < 4.0


# ------------------------------------------------------------------------------------------ drawn box


def test_detect_in_box_finds_a_face_too_small_for_whole_photo_detection(mtcnn: MtcnnDetector) -> None:
    """A 12 MP photo with one small head: detected on a 640 px copy the face is ~8 px, below MTCNN's
    smallest; inside a drawn box it is found, with landmarks where the pasted face's landmarks are."""
    canvas = np.full((3000, 4000, 3), 140, np.uint8)
    scales = _paste_head(canvas, 0.45, 2500, 1800)
    assert find_faces(canvas, mtcnn) == []
    (reference,) = find_faces(astronaut_bgr(), mtcnn)
    drawn = (2500.0, 1800.0, 2500 + 170 * 0.45, 1800 + 220 * 0.45)
    face = detect_in_box(canvas, drawn, mtcnn)
    assert face is not None
    _check_landmark_order(face)
    expected = _moved(reference.landmarks.astype(np.float64), scales, 2500, 1800)
    assert np.abs(face.landmarks - expected).max() < 3.0


def test_detect_in_box_at_the_photo_edge(mtcnn: MtcnnDetector) -> None:
    """A box that reaches past the border: the outside is filled by repeating the edge."""
    photo = astronaut_bgr()[40:260, 120:330]  # the head, cut close: the face nearly touches the borders
    face = detect_in_box(photo, (-20.0, -20.0, 230.0, 240.0), mtcnn)
    assert face is not None
    _check_landmark_order(face)


def test_detect_in_box_around_the_whole_photo(mtcnn: MtcnnDetector) -> None:
    """A box as large as the photo is shrunk, not padded at full size; the face maps back to the photo."""
    (reference,) = find_faces(astronaut_bgr(), mtcnn)
    face = detect_in_box(astronaut_bgr(), (0.0, 0.0, 512.0, 512.0), mtcnn)
    assert face is not None
    assert np.abs(face.landmarks - reference.landmarks).max() < 4.0


def test_detect_in_box_without_a_face_returns_none(mtcnn: MtcnnDetector) -> None:
    assert detect_in_box(coffee_bgr(), (100.0, 100.0, 300.0, 300.0), mtcnn) is None


@pytest.mark.parametrize("box", [(600.0, 10.0, 700.0, 100.0), (10.0, 10.0, 10.5, 100.0), (0.0, 0.0, float("nan"), 5.0)])
def test_detect_in_box_refuses_bad_boxes(mtcnn: MtcnnDetector, box: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        detect_in_box(astronaut_bgr(), box, mtcnn)


# ------------------------------------------------------------------------------------- input and types


@pytest.mark.parametrize(
    "image",
    [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8), np.zeros((64, 64, 3), np.float32)],
    ids=["2-D", "4-channel", "float"],
)
def test_wrong_images_are_refused(mtcnn: MtcnnDetector, image: np.ndarray) -> None:
    with pytest.raises(ValueError):
        find_faces(image, mtcnn)


def test_detected_face_is_immutable_and_checked() -> None:
    points = np.arange(10, dtype=np.float64).reshape(5, 2)
    face = DetectedFace((0, 0, 10, 20), 0.5, points)
    assert face.landmarks.dtype == np.float32 and not face.landmarks.flags.writeable
    points[0, 0] = 99.0
    assert face.landmarks[0, 0] == 0.0
    with pytest.raises(ValueError):
        DetectedFace((0, 0, 10, 20), 0.5, np.zeros((4, 2)))
    with pytest.raises(ValueError):
        DetectedFace((10, 0, 0, 20), 0.5, points)


def test_transformed_maps_pixel_centres() -> None:
    face = DetectedFace((-0.5, -0.5, 9.5, 9.5), 0.9, np.full((5, 2), 4.5))
    big = face.transformed(0.5, 0.5, 100.0, 0.0)
    # The 10x10 image is a half-size copy of a 20x20 one placed at x = 100.
    assert big.box == pytest.approx((99.5, -0.5, 119.5, 19.5))
    assert big.landmarks[0] == pytest.approx((109.5, 9.5))


def test_reading_order_groups_rows() -> None:
    def face_at(x: float, y: float) -> DetectedFace:
        return DetectedFace((x - 20, y - 25, x + 20, y + 25), 1.0, np.tile([x, y], (5, 1)))

    # Second row slightly uneven; input shuffled.
    faces = [face_at(300, 210), face_at(100, 100), face_at(200, 90), face_at(110, 200), face_at(310, 95)]
    ordered = [face.centre for face in reading_order(faces)]
    assert ordered == [(100, 100), (200, 90), (310, 95), (110, 200), (300, 210)]


def test_options_are_checked() -> None:
    for bad in ({"detect_side": 0}, {"max_faces": 0}, {"min_score": 1.5}, {"min_face_size": -1}, {"max_upscale": 0.5}):
        with pytest.raises(ValueError):
            DetectionOptions(**bad)


def test_importing_detection_does_not_import_torch() -> None:
    """The types and option logic are usable (and cheap to import) without loading any network."""
    code = "import sys, codeformer_app.detection; assert 'torch' not in sys.modules, 'torch was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_unknown_detector_name() -> None:
    with pytest.raises(ValueError, match="mtcnn"):
        create_detector("haar")


def test_detector_names_list_the_light_retinaface() -> None:
    """The CLI's ``--detector`` choices and the GUI's list read these names."""
    assert DETECTOR_NAMES == ("mtcnn", "retinaface", "retinaface-mobile")
    with pytest.raises(WeightsMissingError, match="codeformer-app weights download retinaface-mobile"):
        create_detector("retinaface-mobile")


# ---------------------------------------------------------------------------------------- RetinaFace


def test_retinaface_without_weights_says_how_to_get_them() -> None:
    assert available_detectors() == ("mtcnn",)
    with pytest.raises(WeightsMissingError, match="codeformer-app weights download retinaface"):
        create_detector("retinaface")


def _state_of_untouched_places() -> dict[str, list[str]]:
    """Where facexlib and torch.hub would put downloaded weights: nothing may appear there."""
    import facexlib

    places = [Path(facexlib.__file__).parent / "weights", Path(torch.hub.get_dir())]
    return {str(place): sorted(os.listdir(place)) if place.is_dir() else [] for place in places}


@pytest.fixture(scope="module")
def retinaface_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random RetinaFace ResNet-50, saved like the official file (``module.`` prefix, .pth) and
    installed through the weights manager into a temporary weights folder."""
    from codeformer_app.networks.retinaface.load import build_network

    folder = tmp_path_factory.mktemp("retinaface-weights")
    torch.manual_seed(0)
    state = {f"module.{key}": tensor for key, tensor in build_network().state_dict().items()}
    source = folder.parent / f"{folder.name}-source" / RETINAFACE.file_name
    source.parent.mkdir()
    torch.save(state, source)
    import_weights(source, folder, registry=DEFAULT_REGISTRY, name=RETINAFACE.name, force=True)
    return folder


@pytest.fixture
def retinaface_folder(retinaface_weights: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODEFORMER_APP_WEIGHTS_DIR", str(retinaface_weights))
    return retinaface_weights


def test_retinaface_loads_installed_weights_and_runs_offline(retinaface_folder: Path, offline: None) -> None:
    before = _state_of_untouched_places()
    # Only the ResNet-50 weights are installed in this folder, so the light RetinaFace is not offered.
    assert available_detectors() == ("mtcnn", "retinaface")
    detector = create_detector("retinaface")
    assert detector.name == "retinaface"
    image = astronaut_bgr()
    raw = detector.detect(cv2.resize(image, (320, 320), interpolation=cv2.INTER_AREA))
    faces = find_faces(image, detector, DetectionOptions(detect_side=320, min_score=0.0, min_eye_distance=0.0))
    # Random weights: any number of "faces", but every one well formed and in the photo's units.
    for face in [*raw, *faces]:
        assert isinstance(face, DetectedFace)
        assert face.landmarks.shape == (LANDMARK_COUNT, 2) and face.landmarks.dtype == np.float32
        assert 0.0 <= face.score <= 1.0
        assert face.box[0] <= face.box[2] and face.box[1] <= face.box[3]
    assert len(faces) <= len(raw)
    assert _state_of_untouched_places() == before
    assert sorted(path.name for path in retinaface_folder.iterdir()) == sorted(
        ["installed.json", installed_path(RETINAFACE, retinaface_folder).name]
    )


def test_retinaface_weights_of_another_network_are_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    folder = weights_dir(tmp_path / "wrong")
    folder.mkdir()
    save_file({"module.conv.weight": torch.zeros(3, 3)}, str(installed_path(RETINAFACE, folder)))
    with pytest.raises(WeightsError, match="missing keys") as caught:
        create_detector("retinaface", weights_folder=folder)
    assert "unexpected keys: conv.weight" in str(caught.value)


# -------------------------------------------------------------------------------------------- devices


@pytest.fixture
def cuda_only() -> Iterator[None]:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    yield


def test_mtcnn_on_cuda_matches_cpu(cuda_only: None, mtcnn: MtcnnDetector) -> None:
    (on_cpu,) = find_faces(astronaut_bgr(), mtcnn)
    (on_gpu,) = find_faces(astronaut_bgr(), create_detector("mtcnn", "cuda"))
    assert np.abs(on_cpu.landmarks - on_gpu.landmarks).max() < 0.5
