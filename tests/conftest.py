"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

# Qt tests draw into memory, never onto a screen (set before pytest-qt creates the QApplication).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from model_helpers import TINY_CONFIG, make_model, save_official_style

from codeformer_app.networks.codeformer import CodeFormer


@pytest.fixture
def tiny_model() -> CodeFormer:
    return make_model(TINY_CONFIG)


@pytest.fixture
def tiny_weights(tmp_path: Path) -> Path:
    return save_official_style(make_model(TINY_CONFIG), tmp_path / "tiny_codeformer.pth")


@pytest.fixture(autouse=True)
def isolated_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the real per-user weights folder from a test."""
    folder = tmp_path / "user-weights"
    monkeypatch.setenv("CODEFORMER_APP_WEIGHTS_DIR", str(folder))
    return folder


@pytest.fixture
def qt_settings_dir(tmp_path: Path) -> Path:
    """GUI tests keep their QSettings in the test's folder, never the user's."""
    from PySide6.QtCore import QSettings

    folder = tmp_path / "qsettings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder
