"""The faces of the open photo: before/after thumbnails, include or exclude, and an own fidelity per face."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .qimages import THUMB_SIDE
from .settings import FIDELITY_STEP


class FaceRow(QWidget):
    """One face: [x] Face N  [before] [after]  [ ] own fidelity [0.50]."""

    include_toggled = Signal(int, bool)
    fidelity_set = Signal(int, object)
    """The face's own fidelity, or None to follow the photo's slider."""

    def __init__(self, index: int, before: QImage, fidelity: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.setObjectName(f"faceRow{index}")
        self.include = QCheckBox(f"Face {index + 1}")
        self.include.setChecked(True)
        self.include.setToolTip("Restore this face (unticked: the face stays exactly as in the photo)")
        self.before = self._thumb_label(before, "Before")
        self.after = self._thumb_label(None, "After")
        self.own = QCheckBox("Own fidelity")
        self.own.setToolTip("Give this face its own fidelity instead of the photo's slider")
        self.fidelity = QDoubleSpinBox()
        self.fidelity.setRange(0.0, 1.0)
        self.fidelity.setSingleStep(FIDELITY_STEP)
        self.fidelity.setDecimals(2)
        self.fidelity.setValue(fidelity)
        self.fidelity.setEnabled(False)
        self.fidelity.setKeyboardTracking(False)

        thumbs = QHBoxLayout()
        thumbs.addWidget(self.before)
        thumbs.addWidget(self.after)
        thumbs.addStretch(1)
        own = QHBoxLayout()
        own.addWidget(self.own)
        own.addWidget(self.fidelity)
        own.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.include)
        layout.addLayout(thumbs)
        layout.addLayout(own)

        self.include.toggled.connect(lambda on: self.include_toggled.emit(self.index, on))
        self.own.toggled.connect(self._own_toggled)
        self.fidelity.valueChanged.connect(self._value_changed)

    @staticmethod
    def _thumb_label(image: QImage | None, tip: str) -> QLabel:
        label = QLabel()
        label.setFixedSize(THUMB_SIDE, THUMB_SIDE)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setToolTip(tip)
        label.setStyleSheet("background: #333; color: #aaa;")
        if image is None:
            label.setText("…")
        else:
            label.setPixmap(QPixmap.fromImage(image))
        return label

    def set_after(self, image: QImage) -> None:
        self.after.setPixmap(QPixmap.fromImage(image))

    def _own_toggled(self, on: bool) -> None:
        self.fidelity.setEnabled(on)
        self.fidelity_set.emit(self.index, self.fidelity.value() if on else None)

    def _value_changed(self, value: float) -> None:
        if self.own.isChecked():
            self.fidelity_set.emit(self.index, value)


class FaceList(QListWidget):
    include_toggled = Signal(int, bool)
    fidelity_set = Signal(int, object)
    face_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("faceList")
        self.rows: list[FaceRow] = []
        self.currentRowChanged.connect(lambda row: row >= 0 and self.face_selected.emit(row))

    def clear_faces(self) -> None:
        self.clear()
        self.rows = []

    def add_face(self, before: QImage, fidelity: float) -> FaceRow:
        row = FaceRow(len(self.rows), before, fidelity)
        row.include_toggled.connect(self.include_toggled)
        row.fidelity_set.connect(self.fidelity_set)
        item = QListWidgetItem(self)
        item.setSizeHint(row.sizeHint())
        self.setItemWidget(item, row)
        self.rows.append(row)
        return row

    def set_after(self, index: int, image: QImage) -> None:
        if 0 <= index < len(self.rows):
            self.rows[index].set_after(image)
