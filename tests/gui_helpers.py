"""Shared pieces of the GUI tests: a small engine, real photos on disk, waiting for the window to settle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from model_helpers import TINY_CONFIG, make_model

from codeformer_app.detection import create_detector
from codeformer_app.pipeline.restore_file import Engine

if TYPE_CHECKING:
    from codeformer_app.gui.main_window import MainWindow


def tiny_engine(seed: int = 0) -> Engine:
    """A tiny CodeFormer (32 px faces, seeded random weights) with the real offline MTCNN detector."""
    return Engine(model=make_model(TINY_CONFIG, seed=seed), detector=create_detector("mtcnn"))


def write_image(path: Path, image_bgr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image_bgr):
        raise OSError(f"could not write {path}")
    return path


def shown_window(qtbot, wait_ms: int) -> Iterator[MainWindow]:
    """A shown main window with the tiny engine, closed afterwards once its workers have finished (the body
    of the GUI tests' ``window`` fixtures)."""
    from superqt.utils import WorkerBase

    from codeformer_app.gui.main_window import MainWindow
    from codeformer_app.gui.settings import AppSettings

    win = MainWindow(AppSettings())
    qtbot.addWidget(win)
    win.show()
    win.host.set_engine(tiny_engine())
    yield win
    win.close()
    WorkerBase.await_workers(wait_ms)
