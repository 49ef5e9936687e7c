"""``restore`` and ``batch`` on folders of real photos, with tiny test weights and the offline detector."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from photo_samples import astronaut_bgr, coffee_bgr, grace_hopper_bgr, lfw_face_grid

from codeformer_app.batch.journal import JOURNAL_NAME
from codeformer_app.cli.main import main


def write(image: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imencode(path.suffix, image)[1].tofile(path) is None
    return path


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    """A small archive: nested folders, real photos, one without faces, and three broken files."""
    root = tmp_path / "scans"
    write(astronaut_bgr(), root / "1990" / "astronaut.jpg")
    write(grace_hopper_bgr(), root / "1990" / "grace_hopper.jpg")
    write(lfw_face_grid().image_bgr, root / "1995" / "klassenfoto_ü.png")
    write(coffee_bgr(), root / "coffee.png")
    (root / "broken").mkdir()
    (root / "broken" / "empty.jpg").write_bytes(b"")
    (root / "broken" / "notes.png").write_text("this is text, not a picture")
    data = (root / "1990" / "astronaut.jpg").read_bytes()
    (root / "broken" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_batch_mirrors_the_tree_reports_every_file_and_never_touches_inputs(
    tmp_path: Path, photo_tree: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(photo_tree)
    out = tmp_path / "restored"
    code = main(["batch", str(photo_tree), str(out), "--weights", str(tiny_weights)])
    assert code == 1, "three broken files must make the run report failure"
    assert snapshot(photo_tree) == before
    for name in ("1990/astronaut.jpg", "1990/grace_hopper.jpg", "1995/klassenfoto_ü.png", "coffee.png"):
        result = cv2.imdecode(np.fromfile(out / name, np.uint8), cv2.IMREAD_COLOR)
        original = cv2.imdecode(np.fromfile(photo_tree / name, np.uint8), cv2.IMREAD_COLOR)
        assert result.shape == original.shape, name
    assert not (out / "broken").exists() or not any((out / "broken").iterdir())

    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    by_name = {Path(item["input"]).name: item for item in report["items"]}
    assert len(by_name) == 7
    assert {by_name[n]["status"] for n in ("empty.jpg", "notes.png", "truncated.jpg")} == {"failed"}
    assert all(by_name[n]["error"] and n in by_name[n]["error"] for n in ("empty.jpg", "notes.png", "truncated.jpg"))
    assert by_name["astronaut.jpg"]["status"] == "ok" and len(by_name["astronaut.jpg"]["faces"]) == 1
    x0, y0, x1, y1 = by_name["astronaut.jpg"]["faces"][0]["box"]
    assert 120 < (x0 + x1) / 2 < 320 and 40 < (y0 + y1) / 2 < 240, "box in input-pixel coordinates"
    assert len(by_name["klassenfoto_ü.png"]["faces"]) >= 18
    assert by_name["coffee.png"]["faces"] == []
    err = capsys.readouterr().err
    assert "Traceback" not in err and "empty.jpg" in err and "truncated.jpg" in err


def test_batch_refuses_an_output_folder_inside_the_input(photo_tree: Path, tiny_weights: Path) -> None:
    assert main(["batch", str(photo_tree), str(photo_tree / "out"), "--weights", str(tiny_weights)]) == 2
    assert not (photo_tree / "out").exists()


@pytest.mark.slow
def test_killed_batch_resumes_without_redoing_finished_files(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    for index in range(6):
        write(np.roll(astronaut_bgr(), 40 * index, axis=1), source / f"photo_{index}.png")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "codeformer_app.cli.main", "batch", str(source), str(out)]
    command += ["--weights", str(tiny_weights)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(out.glob("photo_*.png"))) < 2:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    done_before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.glob("photo_*.png")}
    assert 2 <= len(done_before) < 6, "the run must be cut in the middle"
    partial = [p for p in out.iterdir() if p.name.startswith(".") and p.name != JOURNAL_NAME]
    assert not partial, "no partial file under any name"

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in out.glob("photo_*.png")) == [f"photo_{i}.png" for i in range(6)]
    for name, (data, mtime) in done_before.items():
        assert (out / name).read_bytes() == data and (out / name).stat().st_mtime_ns == mtime
    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    statuses = sorted(item["status"] for item in report["items"])
    assert statuses.count("skipped") == len(done_before) and statuses.count("ok") == 6 - len(done_before)


def test_restore_files_with_format_upscale_and_report(tmp_path: Path, tiny_weights: Path) -> None:
    photo = write(astronaut_bgr(), tmp_path / "in" / "portrait.png")
    out = tmp_path / "out"
    report = tmp_path / "report.json"
    args = ["restore", str(photo), "-o", str(out), "--weights", str(tiny_weights), "--format", "jpg"]
    code = main([*args, "--quality", "90", "--upscale", "2", "--report", str(report), "-w", "0.3"])
    assert code == 0
    result = cv2.imdecode(np.fromfile(out / "portrait.jpg", np.uint8), cv2.IMREAD_COLOR)
    assert result.shape == (1024, 1024, 3)
    item = json.loads(report.read_text(encoding="utf-8"))["items"][0]
    assert item["status"] == "ok" and item["output"].endswith("portrait.jpg")
    assert item["faces"][0]["fidelity"] == 0.3 and 0 < item["faces"][0]["score"] <= 1
    assert item["seconds"] > 0


def test_restore_into_an_unwritable_place_is_a_clear_error(
    tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = write(astronaut_bgr(), tmp_path / "portrait.png")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code = main(["restore", str(photo), "-o", str(blocker / "out"), "--weights", str(tiny_weights)])
    assert code == 2
    err = capsys.readouterr().err
    assert "a_file" in err and "Traceback" not in err
