"""The Photo tab's photo-wide controls: the fidelity slider with its Auto toggle, and the blend slider."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

#: Slider positions per unit of fidelity (the slider is an integer widget).
SLIDER_STEPS = 100
#: The blend slider is in percent.
BLEND_STEPS = 100
FIDELITY_HINT = "0 = strongest restoration · 1 = closest to the input"
AUTO_ON_TIP = "Automatic fidelity: each face gets the lowest fidelity that still looks like the person"
AUTO_TIP = "Give each face the lowest fidelity that still looks like the same person (measured per face)"
BLEND_TIP = "How much of the restored face shows: 100 % all of it, 0 % the photo unchanged"
NOT_LOADED = "the networks are still loading"
HINT_STYLE = "color: gray; font-size: 11px;"


class PhotoControls(QWidget):
    """Fidelity (slider + Auto) and blend for every face without its own; the editor connects the widgets."""

    def __init__(self, fidelity: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = _slider("fidelitySlider", SLIDER_STEPS, round(fidelity * SLIDER_STEPS), FIDELITY_HINT)
        self.fidelity_label = QLabel(f"{fidelity:.2f}")
        self.fidelity_label.setObjectName("fidelityLabel")
        self.auto = QCheckBox("Auto")
        self.auto.setObjectName("autoFidelity")
        self.set_auto_available(NOT_LOADED)
        self.blend_slider = _slider("blendSlider", BLEND_STEPS, BLEND_STEPS, BLEND_TIP)
        self.blend_label = QLabel("100 %")
        self.blend_label.setObjectName("blendLabel")
        hint = QLabel(FIDELITY_HINT)
        hint.setStyleSheet(HINT_STYLE)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Fidelity</b>"))
        row.addWidget(self.auto)
        row.addStretch(1)
        row.addWidget(self.fidelity_label)
        layout.addLayout(row)
        layout.addWidget(self.slider)
        layout.addWidget(hint)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Blend</b>"))
        row.addStretch(1)
        row.addWidget(self.blend_label)
        layout.addLayout(row)
        layout.addWidget(self.blend_slider)
        self.auto.toggled.connect(self._auto_toggled)
        self.slider.valueChanged.connect(lambda value: self.fidelity_label.setText(f"{value / SLIDER_STEPS:.2f}"))
        self.blend_slider.valueChanged.connect(lambda value: self.blend_label.setText(f"{value} %"))

    @property
    def fidelity(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    @property
    def blend(self) -> float:
        return self.blend_slider.value() / BLEND_STEPS

    @property
    def automatic(self) -> bool:
        """Automatic fidelity is on (and possible)."""
        return self.auto.isEnabled() and self.auto.isChecked()

    def set_auto_available(self, reason: str | None) -> None:
        """``reason`` why automatic fidelity cannot be used (no identity network), or None when it can."""
        self.auto.setEnabled(reason is None)
        self.auto.setToolTip(AUTO_TIP if reason is None else f"Automatic fidelity is not available: {reason}")
        self._auto_toggled(self.automatic)

    def _auto_toggled(self, _on: bool) -> None:
        on = self.automatic
        self.slider.setEnabled(not on)
        self.slider.setToolTip(AUTO_ON_TIP if on else FIDELITY_HINT)
        self.fidelity_label.setEnabled(not on)
        if on:
            self.fidelity_label.setText("auto")
        else:
            self.fidelity_label.setText(f"{self.fidelity:.2f}")


def _slider(name: str, steps: int, value: int, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setObjectName(name)
    slider.setRange(0, steps)
    slider.setValue(value)
    slider.setToolTip(tip)
    return slider
