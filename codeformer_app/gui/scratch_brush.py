"""The scratch brush's mask (issue #16, point 3): strokes painted in photo pixels onto a transparent image the
photo's size, drawn translucent over the view, and read back as the 8-bit hole mask the core warps into each
face's crop (``pipeline.inpaint.crop_hole``)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from .qimages import qimage_to_bgr

#: Brush diameter in photo pixels at first, and its limits (the wheel changes it while brushing).
DEFAULT_BRUSH, MIN_BRUSH, MAX_BRUSH = 12.0, 2.0, 200.0
#: Painted opaque (the mask is the alpha), shown at this opacity over the photo.
STROKE_COLOUR = QColor(255, 60, 60)
OVERLAY_OPACITY = 0.45


class ScratchOverlay:
    """What the brush painted over one photo."""

    def __init__(self, size: QSize) -> None:
        self.image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
        self.image.fill(Qt.GlobalColor.transparent)
        self.painted = False

    def stroke(self, start: QPointF, end: QPointF, diameter: float) -> None:
        """A round-capped line from ``start`` to ``end`` (photo pixels)."""
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(STROKE_COLOUR, diameter, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(start, end)
        painter.end()
        self.painted = True

    def mask(self) -> np.ndarray:
        """The hole mask: (H, W) uint8, 255 where painted."""
        _colour, alpha = qimage_to_bgr(self.image)
        assert alpha is not None
        return alpha
