"""Settings are kept between runs (QSettings), put back into range when damaged, and applied when changed."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from superqt.utils import WorkerBase

from codeformer_app.gui.main_window import MainWindow
from codeformer_app.gui.settings import RECENT_LIMIT, AppSettings, load_settings, save_settings, update_settings
from codeformer_app.gui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.usefixtures("qt_settings_dir")


def test_round_trip_of_every_field() -> None:
    chosen = AppSettings(
        device="cpu",
        threads=3,
        detector="retinaface",
        fidelity=0.7,
        upscale=2,
        parsing=False,
        output_format="webp",
        quality=80,
        open_folder="/photos",
        save_folder="/out",
        batch_input="/scans",
        batch_output="/scans-restored",
        recent_files=("/photos/a.jpg", "/photos/b.png"),
    )
    save_settings(chosen)
    assert load_settings() == chosen


def test_damaged_values_fall_back_to_defaults(qt_settings_dir: Path) -> None:
    store = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "CodeFormerApp", "CodeFormer App")
    store.setValue("device", "quantum")
    store.setValue("fidelity", "not a number")
    store.setValue("upscale", 9)
    store.setValue("quality", 500)
    store.sync()
    loaded = load_settings()
    assert (loaded.device, loaded.fidelity, loaded.upscale, loaded.quality) == ("auto", 0.5, 1, 100)


def test_recent_files_newest_first_without_duplicates() -> None:
    settings = AppSettings()
    for number in range(RECENT_LIMIT + 3):
        settings = settings.with_recent(Path(f"/p/{number}.jpg"))
    settings = settings.with_recent(Path("/p/5.jpg"))
    assert settings.recent_files[0] == "/p/5.jpg"
    assert len(settings.recent_files) == RECENT_LIMIT
    assert len(set(settings.recent_files)) == RECENT_LIMIT


def test_update_keeps_fields_stored_by_other_panels() -> None:
    update_settings(batch_input="/scans")
    update_settings(save_folder="/out")
    stored = load_settings()
    assert (stored.batch_input, stored.save_folder) == ("/scans", "/out")


def test_settings_dialog_applies_saves_and_reloads_the_networks_only_when_needed(qtbot) -> None:
    window = MainWindow(AppSettings())
    qtbot.addWidget(window)
    dialog = SettingsDialog(window.settings, window)
    dialog.output_format.setCurrentIndex(dialog.output_format.findData("jpg"))
    dialog.quality.setValue(75)
    window.apply_settings(dialog.result_settings())
    assert (load_settings().output_format, load_settings().quality) == ("jpg", 75)
    assert not window.host.loading, "the output format does not change the networks"

    window.apply_settings(replace(window.settings, threads=1, detector="mtcnn", device="cpu"))
    assert load_settings().threads == 1
    assert window.host.loading, "a new device or thread count rebuilds the networks"
    assert window.host.spec is not None and (window.host.spec.threads, window.host.spec.device) == (1, "cpu")
    qtbot.waitUntil(lambda: not window.host.loading, timeout=60_000)  # no weights here: it fails, shown to the user
    window.close()
    WorkerBase.await_workers(60_000)


def test_command_line_lists_and_starts_the_gui() -> None:
    usage = subprocess.run(
        [sys.executable, "-m", "codeformer_app.cli.main", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "gui" in usage
    gui_usage = subprocess.run(
        [sys.executable, "-m", "codeformer_app.cli.main", "gui", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--weights" in gui_usage and "FILE" in gui_usage
