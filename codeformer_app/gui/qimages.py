"""numpy <-> QImage. QImage (unlike QPixmap) may be made in a worker thread, so conversions happen there."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

#: Side of the face thumbnails in the face list, in pixels.
THUMB_SIDE = 72
#: 16-bit samples shown on an 8-bit screen: 65535 / 257 = 255.
_SCALE_16_TO_8 = 257


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels of an (H, W, 3) BGR uint8/uint16 array."""
    if image.dtype == np.uint16:
        image = (image // _SCALE_16_TO_8).astype(np.uint8)
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    return QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888).copy()


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
