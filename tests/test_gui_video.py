"""Videos in the window (offscreen): open one, scrub to a frame, preview it like a photo, export it, cancel.

The clips are made at test time from scikit-image's astronaut (``test_video_probe.make_clip``); the engine is
the tiny CodeFormer with the real MTCNN detector, as in the other window tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import shown_window, tiny_engine, write_image
from photo_samples import astronaut_bgr
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox
from test_video_probe import decode_all, make_clip

from codeformer_app.gui.main_window import OPEN_FILTER, MainWindow
from codeformer_app.gui.save_formats import suggested_save
from codeformer_app.gui.video_export import suggested_video_output
from codeformer_app.gui.video_panel import clock
from codeformer_app.video.encoding import to_upright
from codeformer_app.video.probe import probe_video
from codeformer_app.video.restore import VideoOptions
from codeformer_app.video.segments import work_folder

pytestmark = pytest.mark.usefixtures("qt_settings_dir")
WAIT_MS = 60_000
#: Four frames per segment at 10 fps: a 12-frame clip has three, so a stopped export can resume.
SHORT_SEGMENTS = VideoOptions(segment_seconds=0.4)


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, WAIT_MS)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    (tmp_path / "clips").mkdir()
    return make_clip(tmp_path / "clips" / "clip.mp4", frames=12, sound=False)


def settle(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: not win.busy and win.document is not None, timeout=WAIT_MS)


def open_video(qtbot, win: MainWindow, path: Path) -> None:
    win.open_photo(path)
    qtbot.waitUntil(lambda: win.video.path == path and win.document is not None, timeout=WAIT_MS)
    settle(qtbot, win)


def show_frame(qtbot, win: MainWindow, index: int) -> None:
    win.video_bar.scrubber.setValue(index)
    qtbot.waitUntil(lambda: win.video.index == index and win.document is not None, timeout=WAIT_MS)
    settle(qtbot, win)


def error_boxes(win: MainWindow) -> list[QMessageBox]:
    return [box for box in win.findChildren(QMessageBox, "errorBox") if box.isVisible()]


def wait_for_export(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: not win.video_export.running, timeout=WAIT_MS)


def test_open_dialog_offers_videos() -> None:
    assert "*.mp4" in OPEN_FILTER and "*.mkv" in OPEN_FILTER and "*.png" in OPEN_FILTER


def test_dropping_a_video_shows_its_first_frame_with_a_scrubber_over_its_frames(
    qtbot, window: MainWindow, clip: Path
) -> None:
    assert not window.export_video_action.isEnabled()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    window.dropEvent(
        QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
        )
    )
    qtbot.waitUntil(lambda: window.video.is_open and window.document is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    frames, _ = decode_all(clip)
    doc = window.document
    assert np.array_equal(doc.analysed.photo.color, frames[0])
    scrubber = window.video_bar.scrubber
    assert (scrubber.minimum(), scrubber.maximum() + 1) == (0, len(frames)) == (0, 12)
    assert window.video_bar.isVisible()
    assert window.video_bar.position.text() == f"Frame 1 of 12 · {clock(0)} / {clock(1.2)}"
    assert "clip.mp4" in window.windowTitle() and window.settings.recent_files[0] == str(clip)
    assert doc.face_count == 1 and set(doc.rendered) == {0}
    assert window.face_list.count() == 1
    x0, y0, x1, y1 = (round(v) for v in doc.box(0))
    assert not np.array_equal(doc.preview[y0:y1, x0:x1], frames[0][y0:y1, x0:x1]), "the face was not restored"
    assert window.export_video_action.isEnabled() and window.save_action.isEnabled()


def test_the_scrubber_shows_the_frame_pyav_decodes_there_and_the_sliders_preview_it(
    qtbot, window: MainWindow, clip: Path
) -> None:
    open_video(qtbot, window, clip)
    frames, times = decode_all(clip)
    first = window.document
    show_frame(qtbot, window, 7)
    doc = window.document
    assert doc is not first
    assert np.array_equal(doc.analysed.photo.color, frames[7]) and not np.array_equal(frames[7], frames[0])
    assert doc.name == "clip-frame00008.png" and doc.source == clip
    assert window.video_bar.position.text().startswith("Frame 8 of 12 · " + clock(times[7]))
    assert doc.face_count == 1
    taken = clip.with_name("clip-frame00008-restored.png")
    taken.write_bytes(b"a user's file")
    suggested, _filter = suggested_save(doc.source, doc.name, window.settings)
    assert suggested == clip.with_name("clip-frame00008-restored-2.png"), "Save proposes a free PNG name"

    before = doc.preview.copy()
    window.slider.setValue(90)  # the fidelity slider re-renders the current frame
    settle(qtbot, window)
    assert window.document is doc and all(face.fidelity == 0.9 for face in doc.rendered.values())
    assert not np.array_equal(doc.preview, before)
    assert np.array_equal(doc.analysed.photo.color, frames[7]), "still frame 8"


def test_a_phone_video_is_shown_upright(qtbot, window: MainWindow, tmp_path: Path) -> None:
    phone = make_clip(tmp_path / "phone.mp4", frames=6, sound=False, rotation=90)
    open_video(qtbot, window, phone)
    show_frame(qtbot, window, 4)
    frames, _ = decode_all(phone)
    assert np.array_equal(window.document.analysed.photo.color, to_upright(frames[4], 90))
    assert window.document.analysed.photo.color.shape[:2] == (192, 256)


def test_opening_a_photo_puts_the_video_away(qtbot, window: MainWindow, clip: Path, tmp_path: Path) -> None:
    open_video(qtbot, window, clip)
    photo = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    window.open_photo(photo)
    qtbot.waitUntil(lambda: window.document is not None and window.document.source == photo, timeout=WAIT_MS)
    assert not window.video.is_open and not window.video_bar.isVisible()
    assert not window.export_video_action.isEnabled()


def test_new_networks_analyse_the_current_frame_again(qtbot, window: MainWindow, clip: Path) -> None:
    open_video(qtbot, window, clip)
    show_frame(qtbot, window, 5)
    engine = tiny_engine(seed=1)
    window.host.set_engine(engine)
    qtbot.waitUntil(lambda: window.document is not None and window.document.analysed.encodings.model is engine.model,
                    timeout=WAIT_MS)  # fmt: skip
    settle(qtbot, window)
    assert window.video.is_open and window.video.index == 5 and window.document.name == "clip-frame00006.png"
    assert np.array_equal(window.document.analysed.photo.color, decode_all(clip)[0][5])


@pytest.mark.slow
def test_export_writes_every_frame_with_the_windows_fidelity_and_reports_progress(
    qtbot, window: MainWindow, clip: Path
) -> None:
    open_video(qtbot, window, clip)
    window.slider.setValue(30)
    settle(qtbot, window)
    target = suggested_video_output(clip)
    assert target == clip.with_name("clip-restored.mp4")
    seen: list[int] = []
    window.video_bar.progress.valueChanged.connect(seen.append)
    window.video_export.export_to(target)
    assert window.video_export.running and window.video_bar.export_row.isVisible()
    photo = write_image(clip.with_name("astronaut.png"), astronaut_bgr())
    window.open_photo(photo)  # another photo meanwhile: the export's progress and Cancel stay in view
    qtbot.waitUntil(lambda: window.document is not None and window.document.source == photo, timeout=WAIT_MS)
    assert window.video_bar.isVisible() and not window.video_bar.scrub_row.isVisible()
    assert not window.export_video_action.isEnabled(), "one export at a time"
    assert window.video_export.restore_settings().fidelity == 0.3
    wait_for_export(qtbot, window)
    assert probe_video(target).frame_count == 12 and window.video_export.last_outcome.frames == 12
    assert seen[-1] == 12 and len(set(seen)) > 2, "progress frame by frame"
    assert "Exported" in window.status_label.text() and str(target) in window.status_label.text()
    assert not window.video_bar.isVisible(), "no video open, no export running: the bar goes"
    open_video(qtbot, window, clip)
    assert window.export_video_action.isEnabled() and not window.video_bar.export_row.isVisible()
    assert not error_boxes(window)
    assert suggested_video_output(clip) == clip.with_name("clip-restored-2.mp4"), "never an existing file"
    window.video_export.export_to(target)  # an existing file is never replaced
    qtbot.waitUntil(lambda: bool(error_boxes(window)), timeout=WAIT_MS)
    assert str(target) in error_boxes(window)[0].text()


@pytest.mark.slow
def test_cancel_leaves_nothing_under_the_name_and_the_next_export_resumes(
    qtbot, window: MainWindow, clip: Path, tmp_path: Path
) -> None:
    open_video(qtbot, window, clip)
    window.video_export.options = SHORT_SEGMENTS
    target = tmp_path / "out" / "restored.mp4"
    target.parent.mkdir()
    bar = window.video_bar
    bar.progress.valueChanged.connect(lambda value: value >= 6 and bar.cancel_button.click())
    window.video_export.export_to(target)
    wait_for_export(qtbot, window)
    assert not target.exists() and not error_boxes(window)
    assert "cancelled" in window.status_label.text() and "resumes" in window.status_label.text()
    assert (work_folder(target) / "segment-00000.json").is_file(), "the finished segments stay"
    assert window.export_video_action.isEnabled()

    bar.progress.valueChanged.disconnect()
    window.video_export.export_to(target)
    wait_for_export(qtbot, window)
    outcome = window.video_export.last_outcome
    assert outcome.frames == 12 and outcome.restored_frames < 12, "resumed from the last finished segment"
    assert probe_video(target).frame_count == 12 and not work_folder(target).exists()


def test_closing_during_an_export_asks_then_stops_it_cleanly(
    qtbot, window: MainWindow, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_video(qtbot, window, clip)
    asked: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda _parent, title, _text: asked.append(title) or QMessageBox.StandardButton.Yes
    )
    target = tmp_path / "closing.mp4"
    window.video_export.export_to(target)
    qtbot.waitUntil(lambda: window.video_bar.progress.value() >= 1, timeout=WAIT_MS)
    window.close()
    assert asked == ["Video export running"]
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert not window.video_export.running
    assert not target.exists() or probe_video(target).frame_count == 12, "nothing half-written under the name"


def test_a_broken_video_gives_a_message_naming_the_file_and_the_window_stays_usable(
    qtbot, window: MainWindow, clip: Path, tmp_path: Path
) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[:3000])
    for bad in (text, cut):
        window.open_photo(bad)
        qtbot.waitUntil(lambda: bool(error_boxes(window)), timeout=WAIT_MS)
        box = error_boxes(window)[0]
        assert bad.name in box.windowTitle() and str(bad) in box.text() and "Traceback" not in box.text()
        assert not box.detailedText(), "our own error: no traceback"
        box.close()
        qtbot.waitUntil(lambda: not error_boxes(window), timeout=WAIT_MS)
        assert window.document is None and not window.video.is_open
    open_video(qtbot, window, clip)
    assert window.document.face_count == 1


def test_scrubbing_keeps_the_zoom_and_pan_the_user_chose(qtbot, window: MainWindow, clip: Path) -> None:
    open_video(qtbot, window, clip)
    viewer = window.viewer
    fitted = viewer.zoom
    viewer.zoom_by(3.0)
    zoomed, origin = viewer.zoom, QPointF(viewer.origin)
    assert zoomed != fitted
    show_frame(qtbot, window, 5)
    assert (viewer.zoom, viewer.origin) == (zoomed, origin), "a new frame of the same video keeps the view"
    viewer.fit()
    show_frame(qtbot, window, 9)
    assert viewer.fitting and viewer.zoom == fitted, "a fitted view stays fitted"
