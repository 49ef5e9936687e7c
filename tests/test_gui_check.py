"""`codeformer-app gui --check`: the window opens, the networks load, the program quits with 0 (1 when they do
not load). The installer's smoke test relies on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codeformer_app.weights import DEFAULT_REGISTRY, import_weights, weights_dir


def run_check(tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run(
        [sys.executable, "-m", "codeformer_app.cli.main", "gui", "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_check_passes_with_weights(tmp_path: Path, tiny_weights: Path) -> None:
    import_weights(tiny_weights, weights_dir(), registry=DEFAULT_REGISTRY, name="codeformer")
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok: window shown and networks loaded" in result.stdout


def test_check_fails_without_weights_and_says_why(tmp_path: Path) -> None:
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "codeformer weights are not installed" in result.stderr


@pytest.fixture(autouse=True)
def _no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
