"""Faces ▸ Repair scratches (issue #16, point 3), driven as a user would (offscreen): a brush stroke over the
astronaut's face, Fill with a tiny inpainting network, the change only near the stroke, kept by Save."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from gui_helpers import shown_window, write_image
from model_helpers import SMALL_CONFIG, make_model
from photo_samples import astronaut_bgr
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QMessageBox

from codeformer_app.gui.main_window import MainWindow
from codeformer_app.gui.scratch_repair import NO_INPAINTING_WEIGHTS
from codeformer_app.gui.settings import AppSettings
from codeformer_app.imaging import read_photo
from codeformer_app.networks.codeformer.variants import FaceTask, task_of
from codeformer_app.weights.safe_load import save_codeformer_safetensors

pytestmark = pytest.mark.usefixtures("qt_settings_dir")
WAIT_MS = 60_000
#: The tiny inpainting network: SMALL_CONFIG's size with the inpainting kind's codebook and skips.
INPAINT_CONFIG = {**SMALL_CONFIG, "connect_list": (16,), "codebook_size": 512}
#: How far (in crop pixels) beyond the painted stroke the paste may reach: the hole's nearest-pixel warp into
#: the crop (1), its paste margin and blur (2), the bilinear paste back (1). The tiny network's 32 px crop makes
#: a crop pixel about 6 photo pixels here; with the real 512 px crops this is a few photo pixels.
NEAR_STROKE_CROP_PX = 4


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, WAIT_MS)


def settle(qtbot, win: MainWindow) -> None:
    qtbot.waitUntil(lambda: not win.busy, timeout=WAIT_MS)


def open_and_settle(qtbot, win: MainWindow, path: Path) -> None:
    win.open_photo(path)
    qtbot.waitUntil(lambda: win.document is not None and win.document.source == path, timeout=WAIT_MS)
    settle(qtbot, win)


def brush_across_the_face(qtbot, win: MainWindow) -> None:
    """A horizontal stroke through the middle of face 1, dragged with the mouse in brush mode."""
    view = win.viewer
    x0, y0, x1, y1 = win.document.analysed.faces[0].detected.box
    middle = (y0 + y1) / 2
    points = [view.origin + QPointF(x, middle) * view.zoom for x in np.linspace(x0 + 5, x1 - 5, 6)]
    win.repair_action.trigger()
    assert view.brushing
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=points[0].toPoint())
    for point in points[1:]:
        qtbot.mouseMove(view, point.toPoint())
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=points[-1].toPoint())


def test_brushed_scratches_are_filled_only_near_the_stroke(qtbot, window: MainWindow, tmp_path: Path) -> None:
    photo = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    open_and_settle(qtbot, window, photo)
    inpainter = make_model(INPAINT_CONFIG)
    assert task_of(inpainter.config) is FaceTask.INPAINT
    window.host.inpainter = inpainter
    before = window.document.preview.copy()
    brush_across_the_face(qtbot, window)
    mask = window.viewer.scratch_mask()
    assert mask is not None and mask.shape == before.shape[:2] and (mask > 0).any()

    window.fill_action.trigger()
    settle(qtbot, window)
    repaired = window.document.faces[0].repair
    assert repaired is not None, "the stroke touched face 1"
    assert window.viewer.scratch_mask() is None, "the brushed mask is used up"
    changed = np.abs(window.document.preview.astype(np.int32) - before).max(axis=2) > 0
    matrix = window.document.analysed.faces[0].alignment.matrix  # photo -> crop
    reach = round(NEAR_STROKE_CROP_PX / np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    near = cv2.dilate((mask > 0).astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    assert changed.any(), "the scratches were filled"
    assert not (changed & ~near).any(), "nothing changed away from the stroke"

    target = tmp_path / "repaired.png"
    window.save_to(target)
    qtbot.waitUntil(target.is_file, timeout=WAIT_MS)
    settle(qtbot, window)
    assert np.array_equal(read_photo(target).color, window.document.preview), "Save keeps the repair"


def test_the_inpainting_weights_are_loaded_from_the_settings_file(qtbot, window: MainWindow, tmp_path: Path) -> None:
    photo = write_image(tmp_path / "astronaut.png", astronaut_bgr())
    open_and_settle(qtbot, window, photo)
    brush_across_the_face(qtbot, window)
    window.fill_action.trigger()
    boxes = [box for box in window.findChildren(QMessageBox, "errorBox") if box.isVisible()]
    assert boxes and boxes[0].text() == NO_INPAINTING_WEIGHTS, "without the file, a message says what to get"

    weights = tmp_path / "codeformer_inpainting.safetensors"
    network = make_model(INPAINT_CONFIG)
    save_codeformer_safetensors(network.state_dict(), weights, network.config)
    window.settings = AppSettings(inpainting_weights=str(weights))
    window.fill_action.trigger()
    qtbot.waitUntil(lambda: window.document.faces[0].repair is not None, timeout=WAIT_MS)
    settle(qtbot, window)
    assert task_of(window.host.inpainter.config) is FaceTask.INPAINT
