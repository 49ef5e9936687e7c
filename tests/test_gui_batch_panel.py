"""The batch panel, driven like a user would, on real photos with a tiny CodeFormer and the real detector."""

from __future__ import annotations

import itertools
import json
import shutil
import time
from pathlib import Path

import cv2
import pytest
from gui_helpers import tiny_engine, write_image
from photo_samples import astronaut_bgr, coffee_bgr
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from codeformer_app.batch import ItemResult, Status
from codeformer_app.batch.journal import JOURNAL_NAME
from codeformer_app.cli.batch_cmd import REPORT_NAME
from codeformer_app.gui import batch_panel as batch_panel_module
from codeformer_app.gui.batch_panel import (
    BatchPanel,
    estimate_remaining,
    failure_reason,
    format_duration,
    summary_text,
)
from codeformer_app.gui.engine_host import EngineHost
from codeformer_app.gui.settings import AppSettings, load_settings
from codeformer_app.pipeline.restore_file import Engine

pytestmark = pytest.mark.usefixtures("qt_settings_dir")

#: Generous: a slow CI machine may take seconds per photo; nothing waits this long when things work.
WAIT_MS = 60_000
#: The product requirement: the event loop is never blocked for longer than this.
MAX_EVENT_LOOP_GAP_S = 0.100
#: How often the responsiveness probe asks to run.
PROBE_INTERVAL_MS = 10
#: Photos in the cancel test: enough that a run cannot finish before the Cancel reaches the worker.
CANCEL_COPIES = 10
CORRUPT_BYTES = b"not a jpeg"


@pytest.fixture(scope="module")
def engine() -> Engine:
    """Built once for the module: it is immutable and building the detector takes seconds."""
    return tiny_engine()


@pytest.fixture
def host(qtbot, engine: Engine) -> EngineHost:
    host = EngineHost()
    host.set_engine(engine)
    return host


@pytest.fixture
def panel(qtbot, host: EngineHost) -> BatchPanel:
    widget = BatchPanel(host, AppSettings())
    qtbot.addWidget(widget)
    yield widget
    if widget.is_running:  # a failed test must not leave a worker writing into the next test's folders
        widget.cancel()
        qtbot.waitUntil(lambda: not widget.is_running, timeout=WAIT_MS)


def photo_tree(root: Path) -> Path:
    """A face photo, a photo without faces, a corrupt file and a nested folder with another face photo."""
    folder = root / "scans"
    write_image(folder / "astronaut.jpg", astronaut_bgr())
    write_image(folder / "coffee.png", coffee_bgr())
    (folder / "bad.jpg").write_bytes(CORRUPT_BYTES)
    write_image(folder / "nested" / "deeper" / "face.png", astronaut_bgr())
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and its modification time (ns)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_to_end(qtbot, panel: BatchPanel) -> list[ItemResult]:
    with qtbot.waitSignal(panel.run_finished, timeout=WAIT_MS) as finished:
        panel.start()
    return finished.args[0]


def error_boxes(panel: BatchPanel) -> list[QMessageBox]:
    return [box for box in panel.findChildren(QMessageBox, "errorBox") if box.isVisible()]


def test_processing_a_folder_tree_mirrors_outputs_lists_failures_and_leaves_the_input_alone(
    qtbot, panel: BatchPanel, tmp_path: Path
) -> None:
    in_dir = photo_tree(tmp_path)
    before = snapshot(in_dir)
    panel.set_input_folder(in_dir)
    out_dir = tmp_path / "scans-restored"
    assert panel.output_folder() == out_dir  # proposed next to the input, never inside it
    assert not panel.open_output_button.isEnabled()
    eta_texts: list[str] = []
    panel.item_finished.connect(lambda _: eta_texts.append(panel.eta_label.text()))

    results = run_to_end(qtbot, panel)

    statuses = {Path(r.input).relative_to(in_dir).as_posix(): r.status for r in results}
    assert statuses == {
        "astronaut.jpg": Status.OK,
        "bad.jpg": Status.FAILED,
        "coffee.png": Status.NO_FACE,  # no face: written unchanged, counted apart
        "nested/deeper/face.png": Status.OK,
    }
    for name in ("astronaut.jpg", "coffee.png", "nested/deeper/face.png"):
        assert cv2.imread(str(out_dir / name)) is not None, name
    assert not (out_dir / "bad.jpg").exists()
    assert snapshot(in_dir) == before

    failures = [panel.failure_list.item(i).text() for i in range(panel.failure_list.count())]
    assert len(failures) == 1
    assert failures[0].startswith("bad.jpg: ")
    assert "not an image file" in failures[0]
    assert panel.summary_label.text() == "2 restored, 1 without faces, 1 failed"  # the command line's summary

    report = json.loads((out_dir / REPORT_NAME).read_text(encoding="utf-8"))
    assert sorted(item["status"] for item in report["items"]) == ["failed", "no_face", "ok", "ok"]

    assert panel.overall_bar.value() == panel.overall_bar.maximum() == 4
    assert panel.file_bar.value() == panel.file_bar.maximum() == 1  # the last file, face.png, has one face
    assert any(text.endswith(" left") for text in eta_texts)
    assert not panel.is_running
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.open_output_button.isEnabled()
    stored = load_settings()
    assert (stored.batch_input, stored.batch_output) == (str(in_dir), str(out_dir))


def test_cancel_leaves_only_complete_files_and_start_resumes_the_rest(qtbot, panel: BatchPanel, tmp_path: Path) -> None:
    in_dir = tmp_path / "many"
    first = write_image(in_dir / "photo00.jpg", astronaut_bgr())
    for number in range(1, CANCEL_COPIES):
        shutil.copyfile(first, in_dir / f"photo{number:02d}.jpg")
    out_dir = tmp_path / "many-out"
    panel.set_input_folder(in_dir)
    panel.set_output_folder(out_dir)
    panel.item_finished.connect(lambda _: panel.cancel())

    with qtbot.waitSignal(panel.run_finished, timeout=WAIT_MS) as finished:
        panel.start()

    done_first = finished.args[0]
    assert 1 <= len(done_first) < CANCEL_COPIES
    assert "Cancelled after" in panel.status_label.text() and "resume" in panel.status_label.text()
    outputs = sorted(p.name for p in out_dir.iterdir() if p.name != JOURNAL_NAME)
    assert REPORT_NAME in outputs
    images = [name for name in outputs if name != REPORT_NAME]
    assert images == sorted(Path(r.output).name for r in done_first)  # nothing partial, no temporary files
    for name in images:
        assert cv2.imread(str(out_dir / name)) is not None, name
    report = json.loads((out_dir / REPORT_NAME).read_text(encoding="utf-8"))
    assert len(report["items"]) == len(done_first)
    mtimes = {name: (out_dir / name).stat().st_mtime_ns for name in images}

    panel.item_finished.disconnect()
    resumed = run_to_end(qtbot, panel)

    assert [r.status for r in resumed[: len(images)]] == [Status.SKIPPED] * len(images)
    assert [r.status for r in resumed[len(images) :]] == [Status.OK] * (CANCEL_COPIES - len(images))
    assert {name: (out_dir / name).stat().st_mtime_ns for name in images} == mtimes
    outputs = sorted(p.name for p in out_dir.iterdir() if p.name != JOURNAL_NAME)
    assert outputs == sorted([REPORT_NAME, *(p.name for p in in_dir.iterdir())])
    assert panel.summary_label.text() == f"{CANCEL_COPIES - len(images)} restored, {len(images)} already done, 0 failed"
    assert panel.overall_bar.value() == CANCEL_COPIES


def test_start_without_networks_explains_and_does_not_run(qtbot, tmp_path: Path) -> None:
    panel = BatchPanel(EngineHost(), AppSettings())
    qtbot.addWidget(panel)
    panel.set_input_folder(photo_tree(tmp_path))

    panel.start()

    assert not panel.is_running
    (box,) = error_boxes(panel)
    assert "not loaded" in box.text() and "Models" in box.text()
    assert not (tmp_path / "scans-restored").exists()


def test_output_inside_input_is_refused_with_a_message(qtbot, panel: BatchPanel, tmp_path: Path) -> None:
    in_dir = photo_tree(tmp_path)
    before = snapshot(in_dir)
    panel.set_input_folder(in_dir)
    panel.set_output_folder(in_dir / "restored")

    with qtbot.waitSignal(panel.run_finished, timeout=WAIT_MS):
        panel.start()

    (box,) = error_boxes(panel)
    assert "must not be inside the input folder" in box.text()
    assert panel.status_label.text().startswith("Not started:")
    assert snapshot(in_dir) == before


@pytest.mark.parametrize("missing", ["input", "output"])
def test_missing_folders_are_explained(qtbot, panel: BatchPanel, tmp_path: Path, missing: str) -> None:
    if missing == "input":
        panel.set_input_folder(tmp_path / "nowhere")
    else:
        panel.input_edit.setText(str(photo_tree(tmp_path)))
        panel.output_edit.clear()

    panel.start()

    assert not panel.is_running
    (box,) = error_boxes(panel)
    assert ("not a folder" if missing == "input" else "Choose the folder") in box.text()


def test_the_event_loop_keeps_running_during_a_batch(qtbot, panel: BatchPanel, tmp_path: Path) -> None:
    """A product requirement (the window never freezes for more than 100 ms), not a speed benchmark."""
    panel.set_input_folder(photo_tree(tmp_path))
    ticks: list[float] = []
    probe = QTimer()
    probe.setInterval(PROBE_INTERVAL_MS)
    probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
    probe.start()
    try:
        results = run_to_end(qtbot, panel)
    finally:
        probe.stop()

    assert len(results) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert len(gaps) > 10
    assert max(gaps) < MAX_EVENT_LOOP_GAP_S, f"longest gap {max(gaps) * 1000:.0f} ms"


def test_folder_choice_and_open_output(qtbot, panel: BatchPanel, tmp_path: Path, monkeypatch) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    dialog = panel.choose_input()
    assert dialog.isVisible()
    dialog.fileSelected.emit(str(first))
    dialog.close()
    assert panel.output_folder() == tmp_path / "a-restored"
    panel.set_input_folder(second)  # a dropped folder replaces the proposal, not a folder the user chose
    assert panel.output_folder() == tmp_path / "b-restored"
    panel.set_output_folder(first)
    panel.set_input_folder(tmp_path / "c")
    assert panel.output_folder() == first
    assert panel.open_output_button.isEnabled()

    opened = []
    monkeypatch.setattr(batch_panel_module.QDesktopServices, "openUrl", lambda url: opened.append(url))
    panel.open_output_button.click()
    assert [url.toLocalFile() for url in opened] == [str(first.resolve())]


def test_options_become_restore_settings(panel: BatchPanel) -> None:
    panel.fidelity_spin.setValue(0.7)
    panel.upscale_combo.setCurrentIndex(panel.upscale_combo.findData(2))
    panel.format_combo.setCurrentIndex(panel.format_combo.findData("jpg"))
    panel.quality_spin.setValue(80)
    settings = panel.restore_settings()
    assert (settings.fidelity, settings.compose.upscale, settings.output_format, settings.quality) == (
        0.7,
        2,
        "jpg",
        80,
    )
    panel.format_combo.setCurrentIndex(panel.format_combo.findData(""))
    assert not panel.quality_spin.isEnabled()
    assert (panel.restore_settings().output_format, panel.restore_settings().quality) == (None, None)


def test_helpers() -> None:
    ok = ItemResult("a.jpg", "out/a.jpg", Status.OK, seconds=2.0)
    skipped = ItemResult("b.jpg", "out/b.jpg", Status.SKIPPED, "already done")
    failed = ItemResult("/in/c.jpg", None, Status.FAILED, "/in/c.jpg: not an image file", seconds=4.0)
    assert estimate_remaining([skipped], 5) is None
    assert estimate_remaining([ok, skipped, failed], 5) == pytest.approx(15.0)
    assert summary_text([ok, skipped, failed]) == "1 restored, 1 already done, 1 failed"
    assert failure_reason(failed) == "not an image file"
    assert [format_duration(s) for s in (0.4, 59, 61, 3725)] == ["0 s", "59 s", "1 min 1 s", "1 h 2 min"]
