"""numpy <-> QImage. QImage (unlike QPixmap) may be made in a worker thread, so conversions happen there."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from ..imaging import to_8bit

#: Side of the face thumbnails in the face list, in pixels.
THUMB_SIDE = 72


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage (32-bit RGB, the screen's own layout: turning it into a QPixmap costs no conversion on the GUI
    thread) holding a copy of the pixels of an (H, W, 3) BGR uint8/uint16 array."""
    image = np.ascontiguousarray(to_8bit(image) if image.dtype == np.uint16 else image)
    height, width = image.shape[:2]
    packed = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888)
    return packed.convertToFormat(QImage.Format.Format_RGB32)


def qimage_to_bgr(image: QImage) -> tuple[np.ndarray, np.ndarray | None]:
    """(BGR uint8, alpha or None) of a QImage, e.g. one pasted from the clipboard."""
    has_alpha = image.hasAlphaChannel()
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    height, width = rgba.height(), rgba.width()
    buffer = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.bytesPerLine() * height)
    pixels = buffer.reshape(height, rgba.bytesPerLine())[:, : width * 4].reshape(height, width, 4)
    bgr = np.ascontiguousarray(pixels[:, :, 2::-1])
    alpha = np.ascontiguousarray(pixels[:, :, 3]) if has_alpha else None
    return bgr, alpha


def thumbnail(image: np.ndarray, side: int) -> QImage:
    """A small smooth-scaled copy for the face list."""
    return bgr_to_qimage(image).scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
