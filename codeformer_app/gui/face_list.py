"""The faces of the open photo: before/after thumbnails, include or exclude, an own fidelity and blend per face,
and each face's likeness to its input after the latest render."""

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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .qimages import THUMB_SIDE
from .settings import FIDELITY_STEP

#: A face whose likeness fell below the identity threshold is marked so.
DRIFT_TIP = "may no longer look like the same person"
DRIFT_STYLE = "color: #e0a020; font-weight: bold;"
LIKENESS_STYLE = "color: gray;"


class FaceRow(QWidget):
    """One face: [x] Face N  [before] [after]  likeness / [ ] own fidelity [0.50] / [ ] own blend [100 %]."""

    include_toggled = Signal(int, bool)
    fidelity_set = Signal(int, object)
    """The face's own fidelity, or None to follow the photo's slider."""
    blend_set = Signal(int, object)
    """The face's own blend in [0, 1], or None to follow the photo's blend."""

    def __init__(self, face_id: int, before: QImage, fidelity: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face_id = face_id
        self.setObjectName(f"faceRow{face_id}")
        self.include = QCheckBox(f"Face {face_id + 1}")
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
        self.own_blend = QCheckBox("Own blend")
        self.own_blend.setToolTip("Give this face its own blend instead of the photo's blend slider")
        self.blend = QSpinBox()
        self.blend.setRange(0, 100)
        self.blend.setSuffix(" %")
        self.blend.setValue(100)
        self.blend.setEnabled(False)
        self.blend.setKeyboardTracking(False)
        self.likeness = QLabel("")
        self.likeness.setObjectName(f"likeness{face_id}")
        self.likeness.setStyleSheet(LIKENESS_STYLE)
        self.drifted = False
        """The latest render's likeness is below the identity threshold."""

        thumbs = QHBoxLayout()
        thumbs.addWidget(self.before)
        thumbs.addWidget(self.after)
        thumbs.addWidget(self.likeness)
        thumbs.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.include)
        layout.addLayout(thumbs)
        for check, box in ((self.own, self.fidelity), (self.own_blend, self.blend)):
            own = QHBoxLayout()
            own.addWidget(check)
            own.addWidget(box)
            own.addStretch(1)
            layout.addLayout(own)

        self.include.toggled.connect(lambda on: self.include_toggled.emit(self.face_id, on))
        self.own.toggled.connect(self._own_toggled)
        self.fidelity.valueChanged.connect(self._value_changed)
        self.own_blend.toggled.connect(self._own_blend_toggled)
        self.blend.valueChanged.connect(self._blend_changed)

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

    def set_result(self, fidelity: float, auto: bool, identity: float | None, threshold: float | None) -> None:
        """What the latest render came out as: the chosen fidelity when automatic, and the likeness when the
        identity network is loaded (nothing otherwise: the engine's warning says why)."""
        lines = [f"w {fidelity:.2f} (auto)"] if auto else []
        self.drifted = identity is not None and threshold is not None and identity < threshold
        if identity is not None:
            lines.append(f"{'⚠ ' if self.drifted else ''}likeness {identity:.2f}")
        self.likeness.setText("\n".join(lines))
        self.likeness.setStyleSheet(DRIFT_STYLE if self.drifted else LIKENESS_STYLE)
        tip = f"Likeness to the input face (same person from {threshold:.2f})" if threshold is not None else ""
        self.likeness.setToolTip(f"This face {DRIFT_TIP} (likeness below {threshold:.2f})" if self.drifted else tip)

    def _own_toggled(self, on: bool) -> None:
        self.fidelity.setEnabled(on)
        self.fidelity_set.emit(self.face_id, self.fidelity.value() if on else None)

    def _value_changed(self, value: float) -> None:
        if self.own.isChecked():
            self.fidelity_set.emit(self.face_id, value)

    def _own_blend_toggled(self, on: bool) -> None:
        self.blend.setEnabled(on)
        self.blend_set.emit(self.face_id, self.blend.value() / 100 if on else None)

    def _blend_changed(self, value: int) -> None:
        if self.own_blend.isChecked():
            self.blend_set.emit(self.face_id, value / 100)


class FaceList(QListWidget):
    """A row per face, keyed by the session's face ids; the signals carry those ids."""

    include_toggled = Signal(int, bool)
    fidelity_set = Signal(int, object)
    blend_set = Signal(int, object)
    face_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("faceList")
        self.rows: dict[int, FaceRow] = {}
        self._items: dict[int, QListWidgetItem] = {}
        self.currentItemChanged.connect(self._current_changed)

    def clear_faces(self) -> None:
        self.clear()
        self.rows, self._items = {}, {}

    def add_face(self, face_id: int, before: QImage, fidelity: float) -> FaceRow:
        row = FaceRow(face_id, before, fidelity)
        row.include_toggled.connect(self.include_toggled)
        row.fidelity_set.connect(self.fidelity_set)
        row.blend_set.connect(self.blend_set)
        item = QListWidgetItem(self)
        item.setData(Qt.ItemDataRole.UserRole, face_id)
        item.setSizeHint(row.sizeHint())
        self.setItemWidget(item, row)
        self.rows[face_id], self._items[face_id] = row, item
        return row

    def select(self, face_id: int) -> None:
        item = self._items.get(face_id)
        if item is not None:
            self.setCurrentItem(item)

    def set_after(self, face_id: int, image: QImage) -> None:
        row = self.rows.get(face_id)
        if row is not None:
            row.set_after(image)

    def set_result(
        self, face_id: int, fidelity: float, auto: bool, identity: float | None, threshold: float | None
    ) -> None:
        row = self.rows.get(face_id)
        if row is not None:
            row.set_result(fidelity, auto, identity, threshold)

    def _current_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.face_selected.emit(item.data(Qt.ItemDataRole.UserRole))
