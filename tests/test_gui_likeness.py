"""The Photo tab's likeness, blend, automatic fidelity and instant slider preview (issue #14), driven as a user
would (offscreen) on the tiny engine; the identity network is a stand-in that compares pixels."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_helpers import tiny_engine, write_image
from photo_samples import astronaut_bgr, lfw_face_grid
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
from superqt.utils import WorkerBase

from codeformer_app.gui.face_list import DRIFT_TIP
from codeformer_app.gui.main_window import MainWindow
from codeformer_app.gui.quick_preview import quick_compose
from codeformer_app.gui.settings import AppSettings
from codeformer_app.identity.model import EMBEDDING_SIZE, Embedding
from codeformer_app.imaging import read_photo
from codeformer_app.pipeline.likeness import IdentityCheck

pytestmark = pytest.mark.usefixtures("qt_settings_dir")
WAIT_MS = 60_000
#: Thresholds no likeness reaches / every likeness reaches (similarity lies in [-1, 1]).
NEVER_SAME, ALWAYS_SAME = 1.01, -1.01


class PixelIdentity:
    """Stands in for dlib's network: a face's "embedding" is its grey pixels at 8 x 16, as a unit vector."""

    def embed_aligned(self, crop_bgr: np.ndarray) -> Embedding:
        grey = cv2.resize(cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY), (8, EMBEDDING_SIZE // 8)).astype(np.float64)
        vector = grey.reshape(-1) - grey.mean()
        return Embedding(vector / (np.linalg.norm(vector) or 1.0))


def make_window(qtbot, threshold: float | None = None, warnings: tuple[str, ...] = ()) -> MainWindow:
    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    win.show()
    check = None if threshold is None else IdentityCheck(PixelIdentity(), threshold)
    win.host.set_engine(dataclasses.replace(tiny_engine(), identity=check, warnings=warnings))
    return win


@pytest.fixture
def windows(qtbot):
    made: list[MainWindow] = []

    def make(threshold: float | None = None, warnings: tuple[str, ...] = ()) -> MainWindow:
        made.append(make_window(qtbot, threshold, warnings))
        return made[-1]

    yield make
    for win in made:
        win.close()
    WorkerBase.await_workers(WAIT_MS)


def settle(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)


def open_and_settle(qtbot, win: MainWindow, path: Path) -> None:
    win.open_photo(path)
    qtbot.waitUntil(lambda: win.document is not None and win.document.source == path, timeout=WAIT_MS)
    settle(qtbot, win)


@pytest.fixture
def astronaut_file(tmp_path: Path) -> Path:
    return write_image(tmp_path / "astronaut.png", astronaut_bgr())


def count_decodes(win: MainWindow) -> list[float]:
    decodes: list[float] = []
    model = win.document.analysed.encodings.model
    real_decode = model.decode
    model.decode = lambda encoded, w: decodes.append(w) or real_decode(encoded, w)
    return decodes


def test_each_row_shows_the_likeness_and_marks_a_drifted_face(qtbot, windows, astronaut_file: Path) -> None:
    drifting = windows(NEVER_SAME)
    open_and_settle(qtbot, drifting, astronaut_file)
    row, face = drifting.face_list.rows[0], drifting.document.faces[0]
    assert face.identity is not None and -1.0 <= face.identity <= 1.0
    assert row.likeness.text() == f"⚠ likeness {face.identity:.2f}"
    assert row.drifted and DRIFT_TIP in row.likeness.toolTip()
    drifting.slider.setValue(90)
    settle(qtbot, drifting)
    assert face.identity == drifting.document.rendered[0].identity, "updated with each render"

    same = windows(ALWAYS_SAME)
    open_and_settle(qtbot, same, astronaut_file)
    row = same.face_list.rows[0]
    assert row.likeness.text() == f"likeness {same.document.faces[0].identity:.2f}"
    assert not row.drifted and DRIFT_TIP not in row.likeness.toolTip()


def test_without_the_identity_network_rows_say_nothing_and_auto_is_off(qtbot, windows, astronaut_file: Path) -> None:
    warning = "identity scores are left out: dlib is not installed"
    win = windows(None, (warning,))
    assert warning in win.status_label.text(), "the engine's warnings reach the user"
    open_and_settle(qtbot, win, astronaut_file)
    assert win.document.faces[0].identity is None
    assert win.face_list.rows[0].likeness.text() == ""
    assert not win.editor.auto_box.isEnabled()
    assert "not available" in win.editor.auto_box.toolTip()


def test_blend_changes_only_compose_and_reaches_the_saved_file(
    qtbot, windows, astronaut_file: Path, tmp_path: Path
) -> None:
    win = windows()
    open_and_settle(qtbot, win, astronaut_file)
    doc, original = win.document, read_photo(astronaut_file).color
    restored = doc.preview.copy()
    encodes, decodes = doc.analysed.encodings.encode_count, count_decodes(win)
    win.editor.blend_slider.setValue(0)
    settle(qtbot, win)
    assert np.array_equal(doc.preview, original), "blend 0: the photo unchanged"
    win.editor.blend_slider.setValue(50)
    settle(qtbot, win)
    half = doc.preview.astype(np.int32)
    between = (half - original) * (half - restored.astype(np.int32))
    assert (between <= 0).all() and not np.array_equal(doc.preview, original), "half way between the two"
    assert decodes == [] and doc.analysed.encodings.encode_count == encodes, "a blend change runs no network"

    row = win.face_list.rows[0]
    row.blend.setValue(0)
    row.own_blend.setChecked(True)
    win.editor.blend_slider.setValue(100)
    settle(qtbot, win)
    assert np.array_equal(doc.preview, original), "the face's own blend wins over the photo's"
    target = tmp_path / "blended.png"
    win.save_to(target)
    qtbot.waitUntil(target.is_file, timeout=WAIT_MS)
    settle(qtbot, win)
    assert np.array_equal(read_photo(target).color, original)


def test_automatic_fidelity_renders_each_face_at_its_choice(qtbot, windows, astronaut_file: Path) -> None:
    win = windows(NEVER_SAME)  # no fidelity keeps the likeness: the choice is the closest, w = 1
    open_and_settle(qtbot, win, astronaut_file)
    auto, slider = win.editor.auto_box, win.slider
    assert auto.isEnabled()
    auto.setChecked(True)
    assert not slider.isEnabled() and "Automatic" in slider.toolTip()
    settle(qtbot, win)
    face = win.document.rendered[0]
    assert face.auto and face.fidelity == 1.0
    assert "w 1.00 (auto)" in win.face_list.rows[0].likeness.text()
    auto.setChecked(False)
    assert slider.isEnabled()
    settle(qtbot, win)
    assert not win.document.rendered[0].auto and win.document.rendered[0].fidelity == win.fidelity

    easy = windows(ALWAYS_SAME)  # every fidelity keeps it: the strongest restoration, w = 0
    open_and_settle(qtbot, easy, astronaut_file)
    easy.editor.auto_box.setChecked(True)
    settle(qtbot, easy)
    assert easy.document.rendered[0].fidelity == 0.0


class PaintClock(QObject):
    """When the widget it watches was first painted after :meth:`arm`."""

    def __init__(self) -> None:
        super().__init__()
        self.painted_at: float | None = None

    def arm(self) -> None:
        self.painted_at = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.painted_at is None:
            self.painted_at = time.perf_counter()
        return False


def test_a_slider_move_repaints_at_once_without_waiting_for_the_network(qtbot, windows, tmp_path: Path) -> None:
    """Issue #14, point 4: the preview (anchor renders mixed) is on screen before the exact render can run."""
    win = windows()
    grid = write_image(tmp_path / "grid.png", lfw_face_grid().image_bgr)
    open_and_settle(qtbot, win, grid)
    doc = win.document
    assert doc.face_count >= 10
    assert all(face.layer is not None for face in doc.faces.values()), "the anchors were prepared"
    clock = PaintClock()
    win.viewer.installEventFilter(clock)
    before = doc.preview.copy()
    with win.host.lock:  # the network is busy: whatever shows now cannot have waited for it
        clock.arm()
        started = time.perf_counter()
        win.slider.setValue(85)
        while clock.painted_at is None and time.perf_counter() - started < WAIT_MS / 1000:
            QApplication.processEvents()
        assert clock.painted_at is not None
        elapsed_ms = (clock.painted_at - started) * 1000
        print(f"slider change -> first repaint: {elapsed_ms:.1f} ms for {doc.face_count} faces")
        assert win.viewer.preview, "the view says it shows a preview"
        assert all(face.fidelity == 0.5 for face in doc.rendered.values()), "the exact render has not run"
    settle(qtbot, win)
    assert not win.viewer.preview, "the exact render replaced the preview"
    assert all(face.fidelity == 0.85 for face in doc.rendered.values())
    assert not np.array_equal(doc.preview, before)


def test_the_quick_preview_at_an_anchor_is_the_exact_render(qtbot, windows, astronaut_file: Path) -> None:
    """Mixing pre-warped anchors equals warping the mixed crops, up to rounding (1 level)."""
    win = windows()
    open_and_settle(qtbot, win, astronaut_file)
    doc = win.document
    fidelities = doc.quick_fidelities(win.fidelity)
    assert fidelities == {0: 0.5}
    quick = quick_compose(doc.analysed.photo.color, {0: doc.faces[0].layer}, fidelities, {})
    assert np.abs(quick.astype(np.int32) - doc.preview).max() <= 1


LOADED_ENGINE_SCRIPT = """
import sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from codeformer_app.gui.main_window import MainWindow
from codeformer_app.gui.quick_preview import quick_compose
from codeformer_app.gui.settings import AppSettings
from codeformer_app.pipeline.engine_spec import EngineSpec
win = MainWindow(AppSettings())
win.show()
spec = EngineSpec(Path(sys.argv[1]), device="cpu", detector="mtcnn", parsing=False, upscaler=False, identity=True)
win.host.load(spec)
win.open_photo(Path(sys.argv[2]))
deadline = time.monotonic() + 120
while (win.document is None or win.busy) and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
print(win.document.faces[0].identity)
"""


def test_likeness_with_dlib_loaded_by_the_engine_task(tmp_path: Path, tiny_weights: Path) -> None:
    """dlib's network loaded by the engine's worker crashed the first render's likeness (see identity_thread)."""
    import os
    import subprocess
    import sys

    from codeformer_app.identity import identity_missing_reason

    if identity_missing_reason() is not None:
        pytest.skip(identity_missing_reason())
    photo = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = subprocess.run(
        [sys.executable, "-c", LOADED_ENGINE_SCRIPT, str(tiny_weights), str(photo)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert -1.0 <= float(run.stdout.strip().splitlines()[-1]) <= 1.0
