"""Render resources/codeformer-app.svg into the bitmap icons the installers need (run after editing the SVG).

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py

Writes resources/codeformer-app.png (256 px, Linux menus), .ico (Windows) and .icns (macOS); they are
committed so that every recipe finds its icon without this step.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SVG = RESOURCES / "codeformer-app.svg"
MASTER_SIDE = 1024
ICO_SIDES = (16, 24, 32, 48, 64, 128, 256)
PNG_SIDE = 256


def render(side: int) -> Image.Image:
    image = QImage(side, side, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QBuffer.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    from io import BytesIO

    return Image.open(BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> None:
    _app = QGuiApplication([])
    master = render(MASTER_SIDE)
    master.resize((PNG_SIDE, PNG_SIDE), Image.Resampling.LANCZOS).save(RESOURCES / "codeformer-app.png")
    master.save(RESOURCES / "codeformer-app.ico", sizes=[(s, s) for s in ICO_SIDES])
    master.save(RESOURCES / "codeformer-app.icns")
    print("\n".join(str(RESOURCES / f"codeformer-app.{ext}") for ext in ("png", "ico", "icns")))


if __name__ == "__main__":
    main()
