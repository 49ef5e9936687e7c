"""``codeformer-app weights ...`` end to end: exit codes, what is printed, files on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from weights_helpers import (
    FileServer,
    bypass_proxies,
    codeformer_entry_for,
    registry_with,
    save_tiny_pth,
    use_weights_folder,
)

from codeformer_app.cli import weights_cmd
from codeformer_app.cli.main import main
from codeformer_app.weights.registry import DEFAULT_REGISTRY, URL_BASE_ENV, Registry

NAMES = (
    "codeformer",
    "retinaface",
    "retinaface-mobile",
    "parsenet",
    "realesrgan-x2",
    "codeformer-colorization",
    "codeformer-inpainting",
)


def run_cli(*argv: str, registry: Registry = DEFAULT_REGISTRY) -> int:
    """Run the app's command line in this process on ``registry``; returns the exit code."""
    try:
        return main(list(argv), registry=registry)
    except SystemExit as stop:  # argparse usage errors
        return int(stop.code or 0)


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    return use_weights_folder(tmp_path / "weights", monkeypatch)


@pytest.fixture
def tiny_data(tmp_path) -> bytes:
    """A tiny CodeFormer checkpoint, the bytes of the stand-in official codeformer.pth."""
    return save_tiny_pth(tmp_path / "served.pth").read_bytes()


@pytest.fixture
def tiny_registry(tiny_data) -> Registry:
    """The app's registry with the tiny checkpoint as the official codeformer.pth."""
    return registry_with(codeformer_entry_for(tiny_data))


@pytest.fixture
def tiny_official(tiny_data, monkeypatch):
    """A local server publishing the tiny checkpoint (registered as official in ``tiny_registry``)."""
    bypass_proxies(monkeypatch)
    with FileServer() as server:
        server.state.files["codeformer.pth"] = tiny_data
        monkeypatch.setenv(URL_BASE_ENV, server.url_base)
        yield server


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_list_shows_every_entry_and_the_folder(folder, capsys):
    assert run_cli("weights", "list") == 0

    out = capsys.readouterr().out
    assert str(folder) in out
    for name in NAMES:
        assert name in out
    assert out.count("not installed") == len(NAMES)
    assert out.count("S-Lab License 1.0") == 3, "the three CodeFormer files show their license"


def test_list_json(folder, capsys):
    assert run_cli("weights", "list", "--json") == 0

    data = json.loads(capsys.readouterr().out)
    assert data["weights_dir"] == str(folder)
    assert [w["name"] for w in data["weights"]] == list(NAMES)
    assert all(w["installed"] is False for w in data["weights"])
    # Every file has its SHA-256, except the two whose hash nobody has published (recorded at first download).
    unpinned = [w["name"] for w in data["weights"] if not w["sha256"]]
    assert unpinned == ["codeformer-colorization", "codeformer-inpainting"]


def test_path_prints_the_folder_or_a_file(folder, tmp_path, capsys):
    assert run_cli("weights", "path") == 0
    assert capsys.readouterr().out.strip() == str(folder)

    assert run_cli("weights", "path", "codeformer") == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == str(folder / "codeformer.safetensors")
    assert "not installed" in captured.err

    assert run_cli("weights", "path", "--weights-dir", str(tmp_path / "other")) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "other")


def test_import_of_a_truncated_file_is_one_error_line(folder, tmp_path, capsys):
    source = save_tiny_pth(tmp_path / "codeformer.pth")
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])

    assert run_cli("weights", "import", str(source)) == 2

    line = one_error_line(capsys.readouterr().err)
    assert str(source) in line and "truncated" in line
    assert not folder.exists() or not any(folder.iterdir())


def test_import_then_list_and_verify(folder, tmp_path, capsys):
    source = save_tiny_pth(tmp_path / "finetuned.pth")

    assert run_cli("weights", "import", str(source)) == 0
    out = capsys.readouterr().out
    assert str(folder / "codeformer.safetensors") in out
    assert "S-Lab License" in out

    assert run_cli("weights", "list") == 0
    assert "installed, custom (not the official file)" in capsys.readouterr().out
    assert run_cli("weights", "verify") == 0
    assert f"codeformer: OK ({folder / 'codeformer.safetensors'}): custom" in capsys.readouterr().out


def test_unknown_name_is_a_usage_error(folder, capsys):
    assert run_cli("weights", "download", "gfpgan", "--accept-license") == 2
    assert "unknown weights name 'gfpgan'" in one_error_line(capsys.readouterr().err)

    assert run_cli("weights", "import") == 2  # argparse: FILE is required
    assert "required: FILE" in capsys.readouterr().err


def test_download_without_accepting_the_license_is_refused(folder, tiny_official, tiny_registry, capsys):
    assert run_cli("weights", "download", "codeformer", registry=tiny_registry) == 2

    captured = capsys.readouterr()
    assert "S-Lab License 1.0" in captured.out
    line = one_error_line(captured.err)
    assert "--accept-license" in line and "license" in line.lower()
    assert tiny_official.state.requests == []
    assert not folder.exists()


def test_download_verify_and_detect_corruption(folder, tiny_official, tiny_registry, capsys):
    assert run_cli("weights", "download", "codeformer", "--accept-license", registry=tiny_registry) == 0
    out = capsys.readouterr().out
    installed = folder / "codeformer.safetensors"
    assert f"Installed codeformer (official, SHA-256 checked): {installed}" in out
    assert sorted(p.name for p in folder.iterdir()) == ["codeformer.safetensors", "installed.json"]

    assert run_cli("weights", "verify", registry=tiny_registry) == 0
    assert f"codeformer: OK ({installed}): official" in capsys.readouterr().out

    assert run_cli("weights", "download", "codeformer", "--accept-license", registry=tiny_registry) == 0
    assert "already installed" in capsys.readouterr().out
    assert len(tiny_official.state.requests) == 1

    data = bytearray(installed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    installed.write_bytes(bytes(data))
    assert run_cli("weights", "verify", "codeformer", registry=tiny_registry) == 1
    assert f"codeformer: FAILED ({installed}): changed since it was installed" in capsys.readouterr().out


def test_interactive_yes_accepts_the_license(folder, tiny_official, tiny_registry, monkeypatch, capsys):
    monkeypatch.setattr(weights_cmd, "_stdin_is_interactive", lambda: True)
    answers = iter(["no", "yes"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))

    assert run_cli("weights", "download", "codeformer", registry=tiny_registry) == 2
    assert "license not accepted" in capsys.readouterr().err
    assert run_cli("weights", "download", "codeformer", registry=tiny_registry) == 0
    assert (folder / "codeformer.safetensors").is_file()


def test_subprocess_error_has_no_traceback(tmp_path):
    source = tmp_path / "codeformer.pth"
    source.write_bytes(b"")
    env = {"CODEFORMER_APP_WEIGHTS_DIR": str(tmp_path / "weights"), "PATH": "/usr/bin:/bin"}

    done = subprocess.run(
        [sys.executable, "-m", "codeformer_app.cli.main", "weights", "import", str(source)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )

    assert done.returncode == 2
    line = one_error_line(done.stderr)
    assert str(source) in line and "empty" in line


def test_weights_folder_that_cannot_be_created_is_one_error_line(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    use_weights_folder(blocker / "weights", monkeypatch)
    source = save_tiny_pth(tmp_path / "codeformer.pth")

    assert run_cli("weights", "import", str(source)) == 2

    line = one_error_line(capsys.readouterr().err)
    assert str(blocker / "weights") in line and "cannot create the weights folder" in line
