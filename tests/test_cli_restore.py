"""``codeformer-app restore --aligned`` end to end, with tiny test weights and a real photo crop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from codeformer_app.cli.main import main


@pytest.fixture
def face_crop(tmp_path: Path) -> Path:
    """The face region of scikit-image's astronaut photo (Eileen Collins), as a PNG under a non-ASCII name."""
    rgb = data.astronaut()[10:230, 140:360]
    path = tmp_path / "inputs" / "astronaute_é.png"
    path.parent.mkdir()
    assert cv2.imencode(".png", rgb[:, :, ::-1])[1].tofile(path) is None
    return path


def test_restores_a_face_crop_into_the_output_folder(tmp_path: Path, tiny_weights: Path, face_crop: Path) -> None:
    before = face_crop.read_bytes()
    out_dir = tmp_path / "out"
    code = main(
        ["restore", str(face_crop), "--aligned", "-o", str(out_dir), "-w", "0.7", "--weights", str(tiny_weights)]
    )
    assert code == 0
    result = cv2.imdecode(np.fromfile(out_dir / face_crop.name, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    assert result.shape == (32, 32, 3)  # the tiny network's face size
    assert result.std() > 1, "a flat image means nothing was rendered"
    assert face_crop.read_bytes() == before, "the input must never change"
    assert [p.name for p in out_dir.iterdir()] == [face_crop.name], "no temporary files left behind"


def test_a_bad_file_fails_alone(
    tmp_path: Path, tiny_weights: Path, face_crop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = face_crop.parent / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    out_dir = tmp_path / "out"
    code = main(
        ["restore", str(broken), str(face_crop), "--aligned", "-o", str(out_dir), "--weights", str(tiny_weights)]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "Traceback" not in err
    assert (out_dir / face_crop.name).is_file()
    assert not (out_dir / "broken.jpg").exists()


def test_without_weights_the_user_is_told_how_to_get_them(
    tmp_path: Path, face_crop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["restore", str(face_crop), "--aligned", "-o", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "codeformer-app weights download codeformer" in err
    assert "codeformer-app weights import" in err
    assert "S-Lab License" in err
    assert not (tmp_path / "out").exists()


def test_never_overwrites_the_input_even_with_overwrite(tiny_weights: Path, face_crop: Path) -> None:
    """Output folder = the input's folder: the input keeps its bytes and the result takes a free name."""
    before = face_crop.read_bytes()
    args = ["restore", str(face_crop), "--aligned", "-o", str(face_crop.parent), "--weights", str(tiny_weights)]
    assert main(args) == 0
    restored = face_crop.with_name("astronaute_é-restored.png")
    first = restored.stat().st_ino
    assert main(args) == 0, "a second run must not replace the first run's result"
    assert restored.stat().st_ino == first
    assert main([*args, "--overwrite"]) == 0, "--overwrite replaces an earlier result, but never the input"
    assert restored.stat().st_ino != first
    assert face_crop.read_bytes() == before
    names = sorted(p.name for p in face_crop.parent.iterdir())
    assert names == ["astronaute_é-restored-2.png", "astronaute_é-restored.png", "astronaute_é.png"]


@pytest.mark.parametrize("w", ["1.5", "-0.1", "abc"])
def test_fidelity_outside_zero_one_is_a_usage_error(tmp_path: Path, face_crop: Path, w: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["restore", str(face_crop), "--aligned", "-o", str(tmp_path), "-w", w])
    assert exited.value.code == 2


def test_installed_console_script_answers_help() -> None:
    script = Path(sys.executable).with_name("codeformer-app")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "restore" in result.stdout and "weights" in result.stdout
