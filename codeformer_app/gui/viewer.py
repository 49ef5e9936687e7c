"""Before/after viewer: one widget draws both images with the same zoom and pan, so they can never drift apart.

Modes: split (before left of a draggable divider, after right), before only, after only. The mouse wheel zooms
about the cursor, dragging pans (or moves the divider when grabbed near it), a click on a face box selects the
face, in box-drawing mode a drag marks a face the detector missed, and in brush mode a drag paints over
scratches (the wheel then sets the brush size).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from .scratch_brush import DEFAULT_BRUSH, MAX_BRUSH, MIN_BRUSH, OVERLAY_OPACITY, ScratchOverlay

#: Zoom factor of one wheel notch.
WHEEL_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 16.0
#: How close (pixels) to the divider a press grabs it instead of panning.
DIVIDER_GRAB = 8
#: A drawn box smaller than this (photo pixels) is taken as a slip of the mouse.
MIN_DRAWN_BOX = 8
BACKGROUND = QColor(40, 40, 40)
BOX_INCLUDED = QColor(80, 200, 120)
BOX_EXCLUDED = QColor(200, 80, 80)
BOX_SELECTED = QColor(255, 210, 60)
DRAWING_PEN = QColor(90, 170, 255)
#: The label of a quick approximation on the 'after' side.
PREVIEW_TEXT = "Preview"


class ViewMode(StrEnum):
    SPLIT = "split"
    BEFORE = "before"
    AFTER = "after"


@dataclass(frozen=True)
class FaceBox:
    face_id: int
    rect: QRectF
    """In photo pixels."""
    included: bool = True


class CompareView(QWidget):
    zoom_changed = Signal(float)
    face_clicked = Signal(int)
    """The id of the face whose box was clicked."""
    box_drawn = Signal(object)
    """(x0, y0, x1, y1) in photo pixels."""
    brush_changed = Signal(float)
    """The brush diameter in photo pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._before: QPixmap | None = None
        self._after: QPixmap | None = None
        self._scaled: dict[str, tuple[float, QPixmap]] = {}
        """Per side, a copy scaled to the current zoom (below 100%)."""
        self.zoom = 1.0
        self.origin = QPointF(0, 0)
        """Where the photo's top-left pixel lies in widget coordinates."""
        self.fitting = True
        """Zoom follows the widget size until the user zooms or pans."""
        self.mode = ViewMode.SPLIT
        self.split = 0.5
        """Divider position as a fraction of the widget width."""
        self.boxes: list[FaceBox] = []
        self.selected: int | None = None
        """The selected face's id."""
        self.busy_text = ""
        self.preview = False
        """The 'after' side is a quick approximation (mixed anchor renders) until the exact render arrives."""
        self.drawing = False
        self.brushing = False
        self.brush = DEFAULT_BRUSH
        self.scratches: ScratchOverlay | None = None
        """What the brush painted on this photo (None before the first stroke)."""
        self._brush_at = QPointF()
        self._drag: str | None = None
        self._press = QPointF()
        self._press_origin = QPointF()
        self._draw_end = QPointF()

    # -- content ---------------------------------------------------------------------------------------------
    def set_images(self, before: QImage | None, after: QImage | None = None, keep_view: bool = False) -> None:
        """A new photo: both sides (after may be None until rendered); the view fits it, unless ``keep_view`` and
        the photo has the size of the one shown (the next frame of a video: zoom and pan stay where they are)."""
        same_size = self._before is not None and before is not None and self._before.size() == before.size()
        self._before = QPixmap.fromImage(before) if before is not None else None
        self._after = QPixmap.fromImage(after) if after is not None else None
        self._scaled = {}
        self.boxes, self.selected = [], None
        self.scratches = None
        if keep_view and same_size and not self.fitting:
            self.update()
        else:
            self.fit()

    def set_after(self, after: QImage | None, preview: bool = False) -> None:
        """The 'after' side; ``preview``: a quick approximation, labelled so until the exact one replaces it."""
        self._after = QPixmap.fromImage(after) if after is not None else None
        self._scaled.pop("after", None)  # the before side's scaled copy stays valid
        self.preview = preview
        self.update()

    def set_boxes(self, boxes: list[FaceBox], selected: int | None = None) -> None:
        self.boxes, self.selected = boxes, selected
        self.update()

    def set_busy(self, text: str) -> None:
        """A badge on the view (e.g. "Rendering…"); empty hides it."""
        self.busy_text = text
        self.update()

    def set_mode(self, mode: ViewMode) -> None:
        self.mode = mode
        self.update()

    def set_drawing(self, on: bool) -> None:
        self.drawing = on
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.update()

    def set_brushing(self, on: bool) -> None:
        """Brush mode: a drag paints over scratches; the wheel sets the brush size."""
        self.brushing = on and self._before is not None
        self.setCursor(Qt.CursorShape.CrossCursor if self.brushing else Qt.CursorShape.ArrowCursor)
        self.update()

    def clear_scratches(self) -> None:
        self.scratches = None
        self.update()

    def scratch_mask(self) -> np.ndarray | None:
        """The painted mask at the photo's size (255 = paint), or None when nothing was painted."""
        return self.scratches.mask() if self.scratches is not None and self.scratches.painted else None

    @property
    def photo_size(self) -> QSize:
        return self._before.size() if self._before is not None else QSize(0, 0)

    # -- zoom and pan ----------------------------------------------------------------------------------------
    def fit(self) -> None:
        size = self.photo_size
        if size.isEmpty() or self.width() == 0 or self.height() == 0:
            self.fitting = True
            return
        zoom = min(self.width() / size.width(), self.height() / size.height())
        self._set_zoom(zoom, centre=True)
        self.fitting = True

    def actual_size(self) -> None:
        self._set_zoom(1.0, centre=True)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the photo point under ``anchor`` (widget coordinates; default the centre) in place."""
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        photo_point = self.to_photo(anchor)
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        self.zoom = zoom
        self.origin = anchor - photo_point * zoom
        self._changed_view()

    def _set_zoom(self, zoom: float, centre: bool) -> None:
        self.zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if centre:
            size = self.photo_size
            self.origin = QPointF(
                (self.width() - size.width() * self.zoom) / 2, (self.height() - size.height() * self.zoom) / 2
            )
        self._changed_view()

    def _changed_view(self) -> None:
        self.fitting = False
        self.zoom_changed.emit(self.zoom)
        self.update()

    def to_photo(self, point: QPointF) -> QPointF:
        return (point - self.origin) / self.zoom

    def to_widget(self, rect: QRectF) -> QRectF:
        return QRectF(self.origin + rect.topLeft() * self.zoom, rect.size() * self.zoom)

    # -- painting --------------------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(800, 600)

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.fitting:
            self.fit()
        super().resizeEvent(event)

    def _pixmaps_at_zoom(self) -> tuple[QPixmap | None, QPixmap | None]:
        """Below 100% the photos are drawn from copies scaled once per zoom level (smooth, and quick to paint)."""
        if self.zoom >= 1.0:
            return self._before, self._after
        return self._scaled_copy("before", self._before), self._scaled_copy("after", self._after)

    def _scaled_copy(self, side: str, pixmap: QPixmap | None) -> QPixmap | None:
        if pixmap is None:
            return None
        cached = self._scaled.get(side)
        if cached is None or cached[0] != self.zoom:
            size = self.photo_size * self.zoom
            mode = Qt.TransformationMode.SmoothTransformation
            cached = (self.zoom, pixmap.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio, mode))
            self._scaled[side] = cached
        return cached[1]

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self._before is None:
            painter.setPen(QColor(180, 180, 180))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Drop a photo here, or use File ▸ Open")
            return
        before, after = self._pixmaps_at_zoom()
        after = after or before
        target = self.to_widget(QRectF(0, 0, self.photo_size.width(), self.photo_size.height()))
        divider = self.width() * self.split
        if self.mode is ViewMode.SPLIT:
            painter.save()
            painter.setClipRect(QRectF(0, 0, divider, self.height()))
            self._draw(painter, before, target)
            painter.setClipRect(QRectF(divider, 0, self.width() - divider, self.height()))
            self._draw(painter, after, target)
            painter.restore()
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(QPointF(divider, 0), QPointF(divider, self.height()))
            painter.drawText(QRectF(8, 8, divider - 16, 20), Qt.AlignmentFlag.AlignLeft, "Before")
            painter.drawText(
                QRectF(divider + 8, 8, self.width() - divider - 16, 20),
                Qt.AlignmentFlag.AlignLeft,
                f"After · {PREVIEW_TEXT}" if self.preview else "After",
            )
        else:
            self._draw(painter, before if self.mode is ViewMode.BEFORE else after, target)
            if self.preview and self.mode is ViewMode.AFTER:
                painter.setPen(QColor(255, 255, 255))
                painter.drawText(QRectF(8, 8, self.width() - 16, 20), Qt.AlignmentFlag.AlignLeft, PREVIEW_TEXT)
        if self.scratches is not None:
            painter.setOpacity(OVERLAY_OPACITY)
            painter.drawImage(target, self.scratches.image)
            painter.setOpacity(1.0)
        self._draw_boxes(painter)
        if self.busy_text:
            badge = QRectF(self.width() - 180, self.height() - 36, 170, 26)
            painter.fillRect(badge, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, self.busy_text)

    def _draw(self, painter: QPainter, pixmap: QPixmap, target: QRectF) -> None:
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1.0)
        painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))

    def _draw_boxes(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for box in self.boxes:
            selected = box.face_id == self.selected
            colour = BOX_SELECTED if selected else BOX_INCLUDED if box.included else BOX_EXCLUDED
            painter.setPen(QPen(colour, 2, Qt.PenStyle.SolidLine if box.included else Qt.PenStyle.DashLine))
            rect = self.to_widget(box.rect)
            painter.drawRect(rect)
            painter.drawText(rect.topLeft() + QPointF(3, -4), str(box.face_id + 1))
        if self._drag == "draw":
            painter.setPen(QPen(DRAWING_PEN, 2, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(self._press, self._draw_end).normalized())

    # -- mouse -----------------------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps and self.brushing:
            self.brush = min(MAX_BRUSH, max(MIN_BRUSH, self.brush * WHEEL_STEP**steps))
            self.brush_changed.emit(self.brush)
        elif steps and self._before is not None:
            self.zoom_by(WHEEL_STEP**steps, event.position())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._before is None:
            return
        self._press = event.position()
        self._press_origin = QPointF(self.origin)
        if self.brushing:
            self._drag, self._brush_at = "brush", self.to_photo(event.position())
            self._paint_to(self._brush_at)
        elif self.drawing:
            self._drag, self._draw_end = "draw", event.position()
        elif self.mode is ViewMode.SPLIT and abs(event.position().x() - self.width() * self.split) <= DIVIDER_GRAB:
            self._drag = "divider"
        else:
            self._drag = "pan"

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._drag == "divider":
            self.split = min(1.0, max(0.0, position.x() / max(1, self.width())))
            self.update()
        elif self._drag == "pan":
            self.origin = self._press_origin + (position - self._press)
            self.fitting = False
            self.update()
        elif self._drag == "draw":
            self._draw_end = position
            self.update()
        elif self._drag == "brush":
            self._paint_to(self.to_photo(position))
        elif self.mode is ViewMode.SPLIT and not self.drawing and not self.brushing:
            near = abs(position.x() - self.width() * self.split) <= DIVIDER_GRAB
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        moved = (event.position() - self._press).manhattanLength()
        if drag == "draw":
            self._finish_drawing(QRectF(self._press, event.position()).normalized())
        elif drag == "pan" and moved < DIVIDER_GRAB:
            self._click(event.position())
        self.update()

    def _paint_to(self, point: QPointF) -> None:
        if self.scratches is None:
            self.scratches = ScratchOverlay(self.photo_size)
        self.scratches.stroke(self._brush_at, point, self.brush)
        self._brush_at = point
        self.update()

    def _click(self, position: QPointF) -> None:
        point = self.to_photo(position)
        for box in self.boxes:
            if box.rect.contains(point):
                self.face_clicked.emit(box.face_id)
                return

    def _finish_drawing(self, widget_rect: QRectF) -> None:
        self.set_drawing(False)
        size = self.photo_size
        top_left, bottom_right = self.to_photo(widget_rect.topLeft()), self.to_photo(widget_rect.bottomRight())
        x0, y0 = max(0.0, top_left.x()), max(0.0, top_left.y())
        x1, y1 = min(float(size.width()), bottom_right.x()), min(float(size.height()), bottom_right.y())
        if x1 - x0 >= MIN_DRAWN_BOX and y1 - y0 >= MIN_DRAWN_BOX:
            self.box_drawn.emit((x0, y0, x1, y1))
