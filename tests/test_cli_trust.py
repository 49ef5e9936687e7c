"""Issue 11: nothing of the user's is replaced, mistakes are caught before any network loads, the first minute.

Each test runs the real command line on real photos (scikit-image, matplotlib) with tiny seeded weights.
"""

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
from model_helpers import TINY_CONFIG, make_model, save_official_style
from photo_samples import astronaut_bgr, coffee_bgr, grace_hopper_bgr

from codeformer_app import __version__
from codeformer_app.cli.main import main
from codeformer_app.weights.files import sha256_file

#: Runs the command line in a fresh interpreter and tells whether PyTorch was imported on the way.
TORCH_PROBE = (
    "import sys\n"
    "from codeformer_app.cli.main import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "except SystemExit as stop:\n"
    "    code = stop.code\n"
    "print('TORCH_IMPORTED' if 'torch' in sys.modules else 'NO_TORCH', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def write(image: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imencode(path.suffix, image)[1].tofile(path) is None
    return path


def probe(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", TORCH_PROBE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def tree_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- 1, 2: never replace a file of the user's ---------------------------------------------------------------


def test_restore_never_replaces_a_different_photo_with_the_same_name(
    tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = tmp_path / "same"
    source = write(astronaut_bgr(), folder / "astronaut.jpg")
    users_own = write(coffee_bgr(), folder / "astronaut.png")  # another photo that happens to have the name
    before = users_own.read_bytes()
    report = tmp_path / "report.json"
    args = ["restore", str(source), "-o", str(folder), "--format", "png", "--weights", str(tiny_weights)]
    assert main([*args, "--report", str(report)]) == 0
    assert users_own.read_bytes() == before, "the user's own astronaut.png must be left exactly as it was"
    written = folder / "astronaut-restored.png"
    assert written.is_file()
    err = capsys.readouterr().err
    assert "astronaut.png already exists" in err and "astronaut-restored.png" in err
    item = json.loads(report.read_text(encoding="utf-8"))["items"][0]
    assert item["output"] == str(written)
    assert any("astronaut.png already exists" in note for note in item["notes"])


def test_overwrite_replaces_an_existing_output(tmp_path: Path, tiny_weights: Path) -> None:
    source = write(astronaut_bgr(), tmp_path / "in" / "astronaut.png")
    out = tmp_path / "out"
    old = write(coffee_bgr(), out / "astronaut.png")
    old_bytes = old.read_bytes()
    assert main(["restore", str(source), "-o", str(out), "--weights", str(tiny_weights), "--overwrite"]) == 0
    assert old.read_bytes() != old_bytes
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png"]


def test_two_inputs_with_one_name_get_two_outputs_and_a_repeated_input_runs_once(
    tmp_path: Path, tiny_weights: Path
) -> None:
    first = write(astronaut_bgr(), tmp_path / "a" / "photo.jpg")
    second = write(grace_hopper_bgr(), tmp_path / "b" / "photo.jpg")
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    args = ["restore", str(first), str(second), str(first), "-o", str(out), "--weights", str(tiny_weights)]
    assert main([*args, "--report", str(report)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["photo-restored.jpg", "photo.jpg"]
    items = json.loads(report.read_text(encoding="utf-8"))["items"]
    assert [item["input"] for item in items] == [str(first), str(second)], "the repeated input is done once"
    first_out = cv2.imread(str(out / "photo.jpg"))
    second_out = cv2.imread(str(out / "photo-restored.jpg"))
    assert first_out.shape == astronaut_bgr().shape and second_out.shape == grace_hopper_bgr().shape


def test_batch_leaves_a_file_it_did_not_make_alone(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    write(astronaut_bgr(), source / "astronaut.png")
    write(coffee_bgr(), source / "coffee.png")
    out = tmp_path / "out"
    stranger = write(grace_hopper_bgr(), out / "astronaut.png")  # the user's own file, already there
    before = stranger.read_bytes()
    assert main(["batch", str(source), str(out), "--weights", str(tiny_weights)]) == 0
    assert stranger.read_bytes() == before
    assert (out / "astronaut-restored.png").is_file() and (out / "coffee.png").is_file()
    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    by_name = {Path(item["input"]).name: item for item in report["items"]}
    assert by_name["astronaut.png"]["status"] == "ok"
    assert by_name["astronaut.png"]["output"] == str(out / "astronaut-restored.png")

    # Resumed: both are finished (its own outputs), the stranger is still not touched.
    assert main(["batch", str(source), str(out), "--weights", str(tiny_weights)]) == 0
    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    assert sorted(item["status"] for item in report["items"]) == ["skipped", "skipped"]
    assert stranger.read_bytes() == before
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "astronaut-restored.png",
        "astronaut.png",
        "codeformer-report.json",
        "coffee.png",
    ]


def test_batch_gives_two_inputs_with_one_output_name_two_files(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    write(astronaut_bgr(), source / "portrait.jpg")
    write(grace_hopper_bgr(), source / "portrait.png")
    out = tmp_path / "out"
    args = ["batch", str(source), str(out), "--format", "png", "--weights", str(tiny_weights)]
    assert main(args) == 0
    outputs = sorted(p.name for p in out.glob("portrait*"))
    assert outputs == ["portrait-restored.png", "portrait.png"]
    assert main(args) == 0, "a second run finds both finished"
    report = json.loads((out / "codeformer-report.json").read_text(encoding="utf-8"))
    assert [item["status"] for item in report["items"]] == ["skipped", "skipped"]
    assert sorted(p.name for p in out.glob("portrait*")) == outputs


# --- 3, 4, 5: mistakes are usage errors, found before anything loads ----------------------------------------


@pytest.mark.parametrize(
    "extra",
    [["--quality", "0"], ["--quality", "101"], ["--max-faces", "0"], ["--min-face", "-1"], ["--feather", "nan"]],
)
def test_bad_option_values_stop_in_the_parser(tmp_path: Path, extra: list[str]) -> None:
    source = write(astronaut_bgr(), tmp_path / "a.png")
    result = probe("restore", str(source), "-o", str(tmp_path / "out"), *extra)
    assert result.returncode == 2
    assert "error: argument" in result.stderr and "NO_TORCH" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_usage_errors_name_the_problem_create_nothing_and_load_no_network(tmp_path: Path, tiny_weights: Path) -> None:
    photo = write(astronaut_bgr(), tmp_path / "photos" / "a.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    weights = ["--weights", str(tiny_weights)]
    cases = {
        "no such file or folder": ["restore", str(tmp_path / "missing.jpg"), "-o", str(tmp_path / "o1"), *weights],
        f"no photos or videos found in {empty}": ["restore", str(empty), "-o", str(tmp_path / "o2"), *weights],
        "the output folder is this input folder": ["restore", str(photo.parent), "-o", str(photo.parent), *weights],
        "is a file, not a folder": ["restore", str(photo), "-o", str(photo / "out"), *weights],
        "cannot be created in /proc": ["restore", str(photo), "-o", "/proc/codeformer-out", *weights],
        "must not be inside the input folder": ["batch", str(photo.parent), str(photo.parent / "out"), *weights],
        f"no photos or videos found in {empty}.": ["batch", str(empty), str(tmp_path / "o3"), *weights],
        "no such folder": ["batch", str(tmp_path / "nowhere"), str(tmp_path / "o4"), *weights],
    }
    before = tree_of(tmp_path)
    for expected, args in cases.items():
        result = probe(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected.rstrip(".") in result.stderr, (expected, result.stderr)
        assert "NO_TORCH" in result.stderr, f"{args}: PyTorch was imported for a usage error"
        assert "Traceback" not in result.stderr
    assert tree_of(tmp_path) == before, "a usage error creates nothing"
    for name in ("o1", "o2", "o3", "o4"):
        assert not (tmp_path / name).exists()


def test_a_read_only_output_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Permission bits do not stop root (as CI runs), so the disk's answer is simulated: writing is refused."""
    import codeformer_app.batch.plan as plan

    photo = write(astronaut_bgr(), tmp_path / "a.png")
    locked = tmp_path / "locked"
    locked.mkdir()

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(plan.tempfile, "mkstemp", refuse)
    assert main(["restore", str(photo), "-o", str(locked)]) == 2
    assert f"{locked}: the output folder is not writable (Permission denied)" in capsys.readouterr().err
    assert list(locked.iterdir()) == []


def test_missing_weights_are_found_before_any_network_loads(tmp_path: Path) -> None:
    photo = write(astronaut_bgr(), tmp_path / "a.png")
    result = probe("restore", str(photo), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "codeformer-app weights download codeformer" in result.stderr
    assert "NO_TORCH" in result.stderr
    assert not (tmp_path / "out").exists()


# --- 6: a photo without faces has its own status --------------------------------------------------------------


@pytest.mark.slow
def test_a_photo_without_faces_is_not_counted_as_restored(tmp_path: Path, tiny_weights: Path) -> None:
    face = write(astronaut_bgr(), tmp_path / "in" / "astronaut.png")
    cup = write(coffee_bgr(), tmp_path / "in" / "coffee.png")
    out = tmp_path / "out"
    report = tmp_path / "r.json"
    args = ["restore", str(face), str(cup), "-o", str(out), "--weights", str(tiny_weights), "--report", str(report)]
    result = subprocess.run([sys.executable, "-m", "codeformer_app.cli.main", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "1 restored, 1 without faces, 0 failed"
    data = json.loads(report.read_text(encoding="utf-8"))
    by_name = {Path(item["input"]).name: item for item in data["items"]}
    assert by_name["coffee.png"]["status"] == "no_face" and by_name["coffee.png"]["faces"] == []
    assert by_name["astronaut.png"]["status"] == "ok"
    assert data["summary"]["ok"] == 1 and data["summary"]["no_face"] == 1 and data["summary"]["failed"] == 0
    assert cv2.imread(str(out / "coffee.png")).tobytes() == cv2.imread(str(cup)).tobytes(), "written unchanged"


# --- 7: a finished batch loads nothing -----------------------------------------------------------------------


@pytest.mark.slow
def test_rerunning_a_finished_batch_loads_no_network(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    write(astronaut_bgr(), source / "a.png")
    write(coffee_bgr(), source / "sub" / "b.png")
    out = tmp_path / "out"
    assert main(["batch", str(source), str(out), "--weights", str(tiny_weights)]) == 0
    outputs = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    result = probe("batch", str(source), str(out), "--weights", str(tiny_weights))
    assert result.returncode == 0, result.stderr
    assert "NO_TORCH" in result.stderr, "a finished batch must not load PyTorch or the networks"
    assert "0 restored, 2 already done, 0 failed" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == outputs


# --- 8, 12: the first minute -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--help"], ["weights", "list"], ["weights", "list", "--json"], ["weights", "path"], ["weights", "verify"]],
)
def test_help_and_weights_listing_do_not_import_pytorch(args: list[str]) -> None:
    result = probe(*args)
    assert result.returncode == 0, result.stderr
    assert "NO_TORCH" in result.stderr


@pytest.mark.slow
def test_triton_is_not_installed_and_nothing_leaks_at_exit(tmp_path: Path, tiny_weights: Path) -> None:
    """The app never compiles; an installed Triton printed ~30 lines of 'nanobind: leaked instances' at exit."""
    source = write(astronaut_bgr(), tmp_path / "a.png")
    code = (
        "import importlib.util, sys\n"
        "from codeformer_app.cli.main import main\n"
        f"rc = main(['restore', {str(source)!r}, '-o', {str(tmp_path / 'out')!r}, "
        f"'--weights', {str(tiny_weights)!r}])\n"
        "print('triton' in sys.modules, importlib.util.find_spec('triton') is not None)\n"
        "sys.exit(rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
    assert "nanobind" not in result.stderr and "leaked" not in result.stderr


def test_loading_is_announced(tmp_path: Path, tiny_weights: Path, capsys: pytest.CaptureFixture) -> None:
    source = write(astronaut_bgr(), tmp_path / "a.png")
    assert main(["restore", str(source), "-o", str(tmp_path / "out"), "--weights", str(tiny_weights)]) == 0
    err = capsys.readouterr().err
    assert "Loading CodeFormer (tiny_codeformer.pth)" in err and "Loading the face detector (mtcnn)" in err


# --- 10: Ctrl-C ------------------------------------------------------------------------------------------------


#: Photos in the interrupted batch.
CTRL_C_PHOTOS = 8


@pytest.mark.slow
def test_ctrl_c_stops_with_one_line_and_exit_130(tmp_path: Path, tiny_weights: Path) -> None:
    source = tmp_path / "in"
    for index in range(CTRL_C_PHOTOS):
        write(np.roll(astronaut_bgr(), 30 * index, axis=1), source / f"photo_{index}.png")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "codeformer_app.cli.main", "batch", str(source), str(out)]
    # A shell without job control starts background commands with Ctrl-C ignored, and a child inherits that
    # (then Python installs no KeyboardInterrupt): the batch gets Ctrl-C as in a terminal, whatever ran pytest.
    run = subprocess.Popen(
        [*command, "--weights", str(tiny_weights)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(out.glob("photo_*.png")) and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    finished = len(list(out.glob("photo_*.png")))
    last = err.strip().splitlines()[-1]
    assert (
        last
        == f"stopped; {finished} finished file{'s' if finished != 1 else ''} kept, run the same command again to resume"
    )


def test_ctrl_c_right_after_a_file_is_in_place_counts_it_as_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The race the subprocess test can hit: the output renamed into place, Ctrl-C before its result is counted."""
    from codeformer_app.batch import Job
    from codeformer_app.cli.run_jobs_cli import run_with_progress
    from codeformer_app.durable import write_bytes_atomic
    from codeformer_app.pipeline.outcome import RestoreOutcome

    (tmp_path / "out").mkdir()
    jobs = [Job(tmp_path / f"in_{i}.png", tmp_path / "out" / f"in_{i}.png") for i in range(3)]

    def process(source: Path, target: Path) -> RestoreOutcome:
        write_bytes_atomic(target, b"restored")
        if target.name == "in_1.png":
            raise KeyboardInterrupt  # after the rename, before the result is recorded
        return RestoreOutcome(faces=[])

    assert run_with_progress(jobs, lambda _progress: process, report=None, resumable=True) == 130
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in_0.png", "in_1.png"]
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == "stopped; 2 finished files kept, run the same command again to resume"


# --- 13: the report ---------------------------------------------------------------------------------------------


def test_report_has_absolute_paths_clipped_boxes_summary_and_settings(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The astronaut cut so that her face runs past the top-left corner: the detector's box does too.
    cut = astronaut_bgr()[60:260, 150:350]
    write(cut, tmp_path / "in" / "cut.png")
    monkeypatch.chdir(tmp_path)
    assert main(["restore", "in/cut.png", "-o", "out", "--weights", str(tiny_weights), "--report", "r.json"]) == 0
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    item = data["items"][0]
    assert item["input"] == str(tmp_path / "in" / "cut.png") and item["output"] == str(tmp_path / "out" / "cut.png")
    height, width = cut.shape[:2]
    assert item["faces"], "the cut face is still found"
    for face in item["faces"]:
        x0, y0, x1, y1 = face["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert data["summary"] == {
        "files": 1,
        "ok": 1,
        "no_face": 0,
        "failed": 0,
        "skipped": 0,
        "faces": 1,
        "seconds": data["summary"]["seconds"],
    }
    settings = data["settings"]
    assert settings["app_version"] == __version__ and settings["fidelity"] == 0.5
    assert settings["detector"] == "mtcnn" and settings["upscale"] == 1
    assert settings["weights"] == {"file": str(tiny_weights), "sha256": sha256_file(tiny_weights)}


# --- 14: the docs name only options that exist -------------------------------------------------------------------


def test_every_option_the_docs_show_exists() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    from codeformer_app.cli.main import build_parser

    known: set[str] = set()

    def collect(parser) -> None:
        for action in parser._actions:
            known.update(option for option in action.option_strings if option.startswith("--"))
            if isinstance(action.choices, dict):
                for sub in action.choices.values():
                    collect(sub)

    from codeformer_train.cli import build_parser as build_training_parser

    collect(build_parser())
    collect(build_training_parser())
    for doc in (root / "README.md", root / "weights" / "README.md"):
        text = doc.read_text(encoding="utf-8")
        shown = {m for m in re.findall(r"`[^`]*`", text) for m in re.findall(r"(?<![\w-])--[a-z][a-z0-9_-]+", m)}
        shown = {
            option
            for option in shown
            if option
            not in {
                "--locked",
                "--group",
                "--deb",
                "--index-url",
                "--noconfirm",
                "--distpath",
                "--workpath",
                "--has_aligned",
            }
        }
        assert shown <= known, f"{doc.name} shows options that do not exist: {sorted(shown - known)}"


# --- 15: weights without fusion blocks ---------------------------------------------------------------------------


def test_weights_without_fusion_blocks_load_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    no_cft = save_official_style(make_model({**TINY_CONFIG, "connect_list": ()}), tmp_path / "no_cft.pth")
    source = write(astronaut_bgr(), tmp_path / "in" / "a.png")
    assert main(["restore", str(source), "-o", str(tmp_path / "out"), "--weights", str(no_cft), "-w", "0.8"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {no_cft}: these weights have no fidelity (CFT) blocks" in err
    assert "(-w) has no effect" in err
