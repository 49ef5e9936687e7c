"""Issue 14: identity per face in the report, automatic fidelity, a reference photo, and blend.

Real photos (scikit-image, matplotlib), the real identity network (dlib), tiny seeded CodeFormer weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from photo_samples import astronaut_bgr, grace_hopper_bgr

from codeformer_app.cli.main import main
from codeformer_app.detection import create_detector
from codeformer_app.identity import IDENTITY_THRESHOLD, load_identity_model
from codeformer_app.pipeline.faces import locate_faces
from codeformer_app.pipeline.likeness import IdentityCheck, choose_fidelity


def write(image: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def test_choose_fidelity_finds_the_lowest_passing_weight_in_five_renders() -> None:
    asked: list[float] = []

    def render(w: float) -> np.ndarray:
        asked.append(w)
        return np.full((2, 2, 3), w)

    def score(crop: np.ndarray) -> float:
        return float(crop[0, 0, 0])  # likeness grows with w, as it does for a real face

    choice = choose_fidelity(render, score, threshold=0.6)
    assert choice.fidelity == 0.625 and choice.identity == 0.625
    assert asked == [0.0, 1.0, 0.5, 0.75, 0.625]
    asked.clear()
    assert choose_fidelity(render, score, threshold=-1.0).fidelity == 0.0 and asked == [0.0]
    asked.clear()
    unreachable = choose_fidelity(render, score, threshold=2.0)
    assert unreachable.fidelity == 1.0 and unreachable.identity == 1.0 and asked == [0.0, 1.0]


def test_automatic_fidelity_on_a_real_face_stops_where_the_person_is_still_recognised() -> None:
    """The 'restoration' at w mixes a destroyed copy of the face with the face itself by w: the identity
    network must say the person is back at some w, and the choice is the lowest such w found."""
    detector = create_detector("mtcnn")
    face = locate_faces(astronaut_bgr(), detector)[0]
    destroyed = cv2.resize(cv2.resize(face.crop, (8, 8), interpolation=cv2.INTER_AREA), (512, 512))
    destroyed = np.ascontiguousarray(destroyed[:, ::-1])  # mirrored and mosaicked: not the person

    def render(w: float) -> np.ndarray:
        return np.clip(np.rint(w * face.crop + (1 - w) * destroyed), 0, 255).astype(np.uint8)

    check = IdentityCheck(load_identity_model(), IDENTITY_THRESHOLD)
    score = check.scorer(face.crop)
    assert score(render(0.0)) < IDENTITY_THRESHOLD <= score(render(1.0))
    choice = choose_fidelity(render, score, IDENTITY_THRESHOLD)
    assert 0.0 < choice.fidelity < 1.0
    assert choice.identity >= IDENTITY_THRESHOLD
    assert score(render(choice.fidelity - 0.125)) < IDENTITY_THRESHOLD, "one grid step lower must not pass"


def _restore(tmp_path: Path, weights: Path, *extra: str, name: str = "out") -> tuple[np.ndarray, dict]:
    source = tmp_path / "in" / "astronaut.png"
    if not source.exists():
        write(astronaut_bgr(), source)
    report = tmp_path / f"{name}.json"
    out = tmp_path / name
    args = ["restore", str(source), "-o", str(out), "--weights", str(weights), "--report", str(report), *extra]
    assert main(args) == 0
    return cv2.imread(str(out / "astronaut.png")), json.loads(report.read_text(encoding="utf-8"))


def test_report_gives_each_face_its_identity(tmp_path: Path, tiny_weights: Path) -> None:
    _, report = _restore(tmp_path, tiny_weights)
    face = report["items"][0]["faces"][0]
    assert -1.0 <= face["identity"] <= 1.0
    assert face["identity_ok"] == (face["identity"] >= IDENTITY_THRESHOLD)
    _, without = _restore(tmp_path, tiny_weights, "--no-identity", name="plain")
    assert without["items"][0]["faces"][0]["identity"] is None


def test_reference_photo_is_what_identity_compares_with(tmp_path: Path, tiny_weights: Path) -> None:
    reference = write(grace_hopper_bgr(), tmp_path / "grace.jpg")
    _, own = _restore(tmp_path, tiny_weights)
    _, other = _restore(tmp_path, tiny_weights, "--reference", str(reference), name="ref")
    assert other["settings"]["reference"] == str(reference)
    assert other["items"][0]["faces"][0]["identity"] != own["items"][0]["faces"][0]["identity"]
    assert other["items"][0]["faces"][0]["identity_ok"] is False, "Grace Hopper is not the astronaut"


def test_automatic_fidelity_reports_the_weight_it_chose(tmp_path: Path, tiny_weights: Path) -> None:
    _, report = _restore(tmp_path, tiny_weights, "-w", "auto")
    face = report["items"][0]["faces"][0]
    assert report["settings"]["fidelity"] == "auto"
    assert face["fidelity"] in {i / 8 for i in range(9)}
    if face["fidelity"] < 1.0:
        assert face["identity_ok"] is True, "a lower weight is chosen only when the person is kept"


def test_a_missing_reference_is_a_usage_error(tmp_path: Path, tiny_weights: Path) -> None:
    source = write(astronaut_bgr(), tmp_path / "a.png")
    args = ["restore", str(source), "-o", str(tmp_path / "o"), "--weights", str(tiny_weights)]
    assert main([*args, "--reference", str(tmp_path / "nobody.jpg")]) == 2
    assert not (tmp_path / "o").exists()


def test_blend_mixes_the_restored_face_with_the_original(tmp_path: Path, tiny_weights: Path) -> None:
    original = astronaut_bgr().astype(np.int32)
    full, report = _restore(tmp_path, tiny_weights, "--blend", "1", name="full")
    half, _ = _restore(tmp_path, tiny_weights, "--blend", "0.5", name="half")
    none, _ = _restore(tmp_path, tiny_weights, "--blend", "0", name="none")
    assert np.array_equal(none.astype(np.int32), original), "blend 0 leaves the photo exactly as it was"
    change_full = full.astype(np.int32) - original
    change_half = half.astype(np.int32) - original
    face = np.abs(change_full).sum(axis=2) > 30  # where the restored face differs clearly
    assert face.sum() > 500
    ratio = np.abs(change_half[face]).sum() / np.abs(change_full[face]).sum()
    assert 0.45 < ratio < 0.55, ratio
    changed_half, changed_full = (change_half != 0).any(axis=2), (change_full != 0).any(axis=2)
    assert (changed_half <= changed_full).all(), "blend never reaches past the face's mask"
    assert report["items"][0]["faces"][0]["blend"] == 1.0


@pytest.mark.parametrize("value", ["-0.1", "1.5", "x"])
def test_blend_outside_zero_one_is_a_usage_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["restore", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--blend", value])
    assert exited.value.code == 2
