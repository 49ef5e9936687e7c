"""Make docs/screenshot-scratch-repair.png: the real window painting a scratch over a face, and the fill.

    xvfb-run -s "-screen 0 1400x900x24" python -m tools.screenshot_scratch

As ``tools/screenshot.py``: seeded random networks of the official sizes (the restoring one installed, the
inpainting one chosen in the settings as a user would), so every part of the window is real and the restored
face and the fill are noise. The top half shows the brushed stroke, the bottom half the filled result.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tools.screenshot import SIZE, TIMEOUT_S, _prepare

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "screenshot-scratch-repair.png"
#: The stroke across the face, as fractions of the face box (x0, y0) -> (x1, y1), in a few mouse moves.
STROKE = ((0.2, 0.35), (0.8, 0.65))
STROKE_MOVES = 12
#: The view zooms to the face, so the stroke and the fill are visible.
ZOOM_TO_FACE = 2.5


def _wait(app, window) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while window.document is None or window.busy:
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > deadline:
            raise SystemExit("the window did not finish its work in time")
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        os.environ["CODEFORMER_APP_WEIGHTS_DIR"] = str(folder / "weights")
        photo = _prepare(folder)
        import torch

        from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig

        torch.manual_seed(1)
        inpainting = folder / "codeformer_inpainting.pth"
        network = CodeFormer(CodeFormerConfig(connect_list=(32, 64, 128), codebook_size=512))
        torch.save({"params_ema": network.state_dict()}, inpainting)

        from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
        from PySide6.QtGui import QImage, QPainter
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1])
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
        from codeformer_app.gui.app import create_window
        from codeformer_app.gui.settings import update_settings

        window = create_window([photo])
        window.resize(*SIZE)
        _wait(app, window)
        window.settings = update_settings(inpainting_weights=str(inpainting))
        view = window.viewer

        def on_screen(point: QPointF) -> QPointF:
            return view.origin + point * view.zoom

        x0, y0, x1, y1 = window.document.box(0)
        view.zoom_by(ZOOM_TO_FACE, on_screen(QPointF((x0 + x1) / 2, (y0 + y1) / 2)))
        window.repair_action.trigger()
        (ax, ay), (bx, by) = STROKE
        points = [
            on_screen(QPointF(x0 + (ax + (bx - ax) * t) * (x1 - x0), y0 + (ay + (by - ay) * t) * (y1 - y0)))
            for t in (i / STROKE_MOVES for i in range(STROKE_MOVES + 1))
        ]
        QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0].toPoint())
        for point in points[1:]:
            QTest.mouseMove(view, point.toPoint())
        QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1].toPoint())
        _wait(app, window)
        painted = window.grab().toImage()
        window.fill_action.trigger()
        _wait(app, window)
        filled = window.grab().toImage()
        both = QImage(painted.width(), painted.height() * 2, QImage.Format.Format_RGB32)
        painter = QPainter(both)
        painter.drawImage(QPoint(0, 0), painted)
        painter.drawImage(QPoint(0, painted.height()), filled)
        painter.end()
        if not both.save(str(args.output)):
            raise SystemExit(f"could not write {args.output}")
        print(args.output)
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
