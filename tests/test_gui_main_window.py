"""The main window, driven as a user would (offscreen): open, faces, slider, per-face control, save, paste, drop."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_helpers import shown_window, tiny_engine, write_image
from photo_samples import astronaut_bgr, coffee_bgr
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox
from superqt.utils import WorkerBase

from codeformer_app.gui.main_window import APP_TITLE, MainWindow
from codeformer_app.gui.photo_editor import RENDER_DEBOUNCE_MS
from codeformer_app.gui.qimages import bgr_to_qimage
from codeformer_app.gui.settings import AppSettings, load_settings
from codeformer_app.gui.viewer import ViewMode
from codeformer_app.imaging import read_photo

pytestmark = pytest.mark.usefixtures("qt_settings_dir")
WAIT_MS = 60_000


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, WAIT_MS)


@pytest.fixture
def astronaut_file(tmp_path: Path) -> Path:
    return write_image(tmp_path / "photos" / "astronaut.png", astronaut_bgr())


def settle(qtbot, win: MainWindow) -> None:
    """Wait until nothing is running: no render pending or in flight, no other task."""
    qtbot.waitUntil(lambda: not win.busy and win.host.engine is not None, timeout=WAIT_MS)


def open_and_settle(qtbot, win: MainWindow, path: Path) -> None:
    win.open_photo(path)
    qtbot.waitUntil(lambda: win.document is not None and win.document.source == path, timeout=WAIT_MS)
    settle(qtbot, win)


def error_boxes(win: MainWindow) -> list[QMessageBox]:
    return [box for box in win.findChildren(QMessageBox, "errorBox") if box.isVisible()]


def face_region(win: MainWindow, index: int) -> tuple[slice, slice]:
    x0, y0, x1, y1 = (round(v) for v in win.document.analysed.faces[index].detected.box)
    return slice(y0, y1), slice(x0, x1)


def test_title_and_window_shown_before_pytorch_is_imported() -> None:
    """The window is built and shown by modules that do not import PyTorch: it appears at once."""
    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from codeformer_app.gui.app import create_window\n"
        "window = create_window()\n"
        "assert window.isVisible()\n"
        "print(window.windowTitle())\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split("\n")
    assert "CodeFormer" in out[0]
    assert out[1] == "False"


def test_open_photo_lists_faces_and_shows_the_restored_result(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    doc = window.document
    assert APP_TITLE in window.windowTitle() and "astronaut.png" in window.windowTitle()
    assert doc.face_count >= 1
    assert window.face_list.count() == doc.face_count
    assert len(window.viewer.boxes) == doc.face_count
    assert set(doc.rendered) == set(range(doc.face_count))
    original = read_photo(astronaut_file).color
    rows, cols = face_region(window, 0)
    assert not np.array_equal(doc.preview[rows, cols], original[rows, cols]), "the face was not restored"
    assert window.settings.recent_files[0] == str(astronaut_file)
    assert [a.text() for a in window.recent_menu.actions()] == [str(astronaut_file)]
    assert load_settings().recent_files[0] == str(astronaut_file)


def test_slider_rerenders_from_cached_encodings_newest_value_wins(
    qtbot, window: MainWindow, astronaut_file: Path
) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    doc = window.document
    encodes = doc.analysed.encodings.encode_count
    assert encodes == doc.face_count
    decodes: list[float] = []
    model = doc.analysed.encodings.model
    real_decode = model.decode
    model.decode = lambda encoded, w: decodes.append(w) or real_decode(encoded, w)
    before = doc.preview.copy()
    for value in (10, 20, 30, 40, 90):  # a quick drag: only the last position is rendered
        window.slider.setValue(value)
    assert window.rendering, "the window shows it is rendering"
    assert window.viewer.busy_text
    settle(qtbot, window)
    assert doc.analysed.encodings.encode_count == encodes, "a slider change must not re-encode"
    assert decodes == [0.9] * doc.face_count
    assert all(face.fidelity == 0.9 for face in doc.rendered.values())
    assert not np.array_equal(doc.preview, before)
    assert not window.viewer.busy_text


def test_stale_render_is_dropped(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    window.slider.setValue(20)
    window.render_now()  # starts a render at 0.2 ...
    window.slider.setValue(80)
    window.render_now()  # ... superseded at once by 0.8
    settle(qtbot, window)
    assert all(face.fidelity == 0.8 for face in window.document.rendered.values())


def test_excluded_face_stays_as_in_the_input(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    original = read_photo(astronaut_file).color
    window.face_list.rows[0].include.setChecked(False)
    settle(qtbot, window)
    assert np.array_equal(window.document.preview, original), "with its only face excluded the photo is unchanged"
    assert not window.viewer.boxes[0].included
    window.face_list.rows[0].include.setChecked(True)
    settle(qtbot, window)
    assert not np.array_equal(window.document.preview, original)


def test_per_face_fidelity_override(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    row = window.face_list.rows[0]
    row.fidelity.setValue(1.0)
    row.own.setChecked(True)
    settle(qtbot, window)
    assert window.fidelity == 0.5
    assert window.document.rendered[0].fidelity == 1.0
    window.slider.setValue(0)
    settle(qtbot, window)
    assert window.document.rendered[0].fidelity == 1.0, "the face keeps its own fidelity"
    row.own.setChecked(False)
    settle(qtbot, window)
    assert window.document.rendered[0].fidelity == 0.0


def test_save_writes_the_restored_photo_and_never_the_original(
    qtbot, window: MainWindow, astronaut_file: Path, tmp_path: Path
) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    original_bytes = astronaut_file.read_bytes()
    window.save_to(astronaut_file)
    qtbot.waitUntil(lambda: bool(error_boxes(window)), timeout=WAIT_MS)
    assert "original" in error_boxes(window)[0].text()
    assert astronaut_file.read_bytes() == original_bytes

    target = tmp_path / "out" / "astronaut-restored.png"
    target.parent.mkdir()
    window.save_to(target)
    settle(qtbot, window)
    saved = read_photo(target).color
    assert np.array_equal(saved, window.document.preview), "PNG at 1x without ParseNet: exactly the preview"
    assert window.document.saved_to == target
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "no temporary file left"

    jpeg = tmp_path / "out" / "astronaut-restored.jpg"
    window.save_to(jpeg)
    settle(qtbot, window)
    assert read_photo(jpeg).info.format == "JPEG"


def test_export_restored_faces(qtbot, window: MainWindow, astronaut_file: Path, tmp_path: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    folder = tmp_path / "crops"
    folder.mkdir()
    window.export_faces(folder)
    settle(qtbot, window)
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"astronaut_face{i + 1:02d}.png" for i in range(window.document.face_count)]
    assert np.array_equal(cv2.imread(str(files[0])), window.document.rendered[0].crop)


def test_bad_file_gives_a_message_and_the_app_keeps_working(
    qtbot, window: MainWindow, astronaut_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    window.open_photo(bad)
    qtbot.waitUntil(lambda: bool(error_boxes(window)), timeout=WAIT_MS)
    assert "broken.jpg" in error_boxes(window)[0].text()
    assert window.document is None
    error_boxes(window)[0].close()
    open_and_settle(qtbot, window, astronaut_file)
    assert window.document.face_count >= 1


def test_mark_a_missed_face_with_a_box(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    count = window.document.face_count
    x0, y0, x1, y1 = window.document.analysed.faces[0].detected.box
    window.add_face_in_box((x0 - 10, y0 - 10, x1 + 10, y1 + 10))
    qtbot.waitUntil(lambda: window.document.face_count == count + 1, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.face_list.count() == count + 1
    assert count in window.document.rendered
    new_box = window.document.analysed.faces[count].detected.box
    assert abs(new_box[0] - x0) < (x1 - x0) * 0.25, "the landmarks were found on the face inside the box"

    window.add_face_in_box((0, 0, 60, 60))  # the top-left corner of the astronaut photo: no face there
    qtbot.waitUntil(lambda: bool(error_boxes(window)), timeout=WAIT_MS)
    assert "No face was found" in error_boxes(window)[0].text()
    assert window.document.face_count == count + 1


def test_drawing_a_box_with_the_mouse_marks_a_face(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    view = window.viewer
    x0, y0, x1, y1 = window.document.analysed.faces[0].detected.box
    start = view.origin + QPointF(x0 - 10, y0 - 10) * view.zoom
    end = view.origin + QPointF(x1 + 10, y1 + 10) * view.zoom
    drawn: list[tuple] = []
    view.box_drawn.connect(drawn.append)
    window.draw_action.trigger()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start.toPoint())
    qtbot.mouseMove(view, end.toPoint())
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end.toPoint())
    assert len(drawn) == 1
    assert drawn[0][0] == pytest.approx(x0 - 10, abs=2 / view.zoom + 1)
    qtbot.waitUntil(lambda: window.document.face_count == 2, timeout=WAIT_MS)


def test_paste_from_clipboard(qtbot, window: MainWindow) -> None:
    QApplication.clipboard().setImage(bgr_to_qimage(astronaut_bgr()))
    window.paste_action.trigger()
    qtbot.waitUntil(lambda: window.document is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.document.source is None and window.document.name == "pasted.png"
    assert np.array_equal(window.document.analysed.photo.color, astronaut_bgr())
    assert window.document.face_count >= 1


def test_dropping_files_and_folders(qtbot, window: MainWindow, astronaut_file: Path, tmp_path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(astronaut_file))])
    drop = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(drop)
    qtbot.waitUntil(lambda: window.document is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.document.source == astronaut_file

    folder = tmp_path / "scans"
    write_image(folder / "a.png", coffee_bgr())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    window.dropEvent(
        QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
        )
    )
    assert window.tabs.currentWidget() is window.batch_panel
    assert window.batch_panel.input_folder() == folder


def test_split_view_shows_before_left_and_after_right(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    view = window.viewer
    view.resize(800, 600)
    view.fit()
    doc = window.document
    x0, y0, x1, y1 = (int(v) for v in doc.analysed.faces[0].detected.box)
    centre = QPointF((x0 + x1) / 2, (y0 + y1) / 2)

    def shown_at(mode: ViewMode) -> tuple[int, int, int]:
        view.set_mode(mode)
        view.split = (view.origin.x() + centre.x() * view.zoom) / view.width() + 0.05  # face left of divider
        colour = view.grab().toImage().pixelColor((view.origin + centre * view.zoom).toPoint())
        return colour.red(), colour.green(), colour.blue()

    in_split, before, after = shown_at(ViewMode.SPLIT), shown_at(ViewMode.BEFORE), shown_at(ViewMode.AFTER)
    assert in_split == before
    assert before != after, "the restored face differs from the input at its centre"
    zoom = view.zoom
    view.zoom_by(2.0)
    assert view.zoom == pytest.approx(zoom * 2)
    window.actual_action.trigger()
    assert view.zoom == 1.0
    window.fit_action.trigger()
    assert view.zoom == pytest.approx(zoom)


def test_without_weights_the_model_manager_is_shown(qtbot) -> None:
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    win.show()
    win.start_engine()
    qtbot.waitUntil(lambda: win.model_manager is not None and win.model_manager.isVisible(), timeout=WAIT_MS)
    banner = win.model_manager.findChild(type(win.status_label), "missingBanner")
    assert banner is not None and banner.isVisible()
    assert "weights" in win.status_label.text()
    win.model_manager.close()
    win.close()
    WorkerBase.await_workers(WAIT_MS)


def test_the_newest_open_wins(qtbot, window: MainWindow, astronaut_file: Path, tmp_path: Path) -> None:
    coffee = write_image(tmp_path / "coffee.png", coffee_bgr())
    window.open_photo(astronaut_file)
    window.open_photo(coffee)  # asked for last: it must end up open, whichever finishes first
    qtbot.waitUntil(lambda: window.document is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.document.source == coffee
    assert window.settings.recent_files[0] == str(coffee)


def test_space_on_a_face_checkbox_ticks_it_and_does_not_switch_the_view(
    qtbot, window: MainWindow, astronaut_file: Path
) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    box = window.face_list.rows[0].include
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert not box.isChecked()
    assert window.viewer.mode is ViewMode.SPLIT
    window.viewer.setFocus()
    qtbot.waitUntil(window.viewer.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(window.viewer, Qt.Key.Key_B)
    assert window.viewer.mode is ViewMode.BEFORE


def test_closing_during_a_save_finishes_the_file_first(
    qtbot, window: MainWindow, astronaut_file: Path, tmp_path: Path
) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    target = tmp_path / "restored.png"
    window.save_to(target)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert target.is_file() and read_photo(target).size == read_photo(astronaut_file).size


def test_closing_during_a_render_drops_its_result(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    """Issue #11, 17: a render still running when the window closes never reaches its (deleted) widgets."""
    open_and_settle(qtbot, window, astronaut_file)
    preview = window.document.preview
    with window.host.lock:  # the render waits for the networks: it is surely in flight when the window closes
        window.slider.setValue(90)
        qtbot.waitUntil(lambda: window.tasks.running("render") and not window.tasks.pending("render"), timeout=WAIT_MS)
        window.close()
    assert not window.isVisible()
    WorkerBase.await_workers(WAIT_MS)
    qtbot.wait(RENDER_DEBOUNCE_MS)
    assert window.document.preview is preview, "the late result was dropped"
    assert window.viewer.busy_text == "Rendering…", "no callback touched the view after close"


def test_closing_stops_a_render_waiting_for_the_slider(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    window.slider.setValue(30)
    assert window.tasks.pending("render")
    window.close()
    assert not window.tasks.pending("render")
    qtbot.wait(RENDER_DEBOUNCE_MS * 3)
    assert not window.tasks.running(), "no render started after the window closed"


def test_new_networks_analyse_the_open_photo_again(qtbot, window: MainWindow, astronaut_file: Path) -> None:
    open_and_settle(qtbot, window, astronaut_file)
    engine = tiny_engine(seed=1)
    window.host.set_engine(engine)
    qtbot.waitUntil(lambda: window.document.analysed.encodings.model is engine.model, timeout=WAIT_MS)
    settle(qtbot, window)
    assert window.document.source == astronaut_file
    assert set(window.document.rendered) == set(range(window.document.face_count))


def test_save_as_adds_the_chosen_formats_extension() -> None:
    from codeformer_app.gui.save_formats import SAVE_FILTERS, with_format_suffix

    assert with_format_suffix(Path("/out/photo"), SAVE_FILTERS["jpg"]) == Path("/out/photo.jpg")
    assert with_format_suffix(Path("/out/photo.tif"), SAVE_FILTERS["jpg"]) == Path("/out/photo.tif")
