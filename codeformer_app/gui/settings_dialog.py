"""Tools ▸ Settings: where the networks run and what a save produces. Applied on OK, kept with QSettings."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ..detection import DETECTOR_NAMES, available_detectors
from ..device import DEVICE_CHOICES
from ..imaging import OUTPUT_FORMATS
from .settings import FIDELITY_STEP, SAME_FORMAT, UPSCALE_CHOICES, AppSettings, default_threads

DEVICE_LABELS = {
    "auto": "Automatic (GPU if there is one)",
    "cpu": "CPU",
    "cuda": "NVIDIA GPU (CUDA)",
    "mps": "Apple GPU",
}
DETECTOR_LABELS = {"mtcnn": "MTCNN (built in, offline)", "retinaface": "RetinaFace (needs its weights)"}
MAX_THREADS = 256
WEIGHTS_FILTER = "CodeFormer weights (*.pth *.safetensors);;All files (*)"


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings — CodeFormer App")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._settings = settings

        self.device = QComboBox()
        for name in DEVICE_CHOICES:
            self.device.addItem(DEVICE_LABELS.get(name, name), name)
        self.device.setCurrentIndex(DEVICE_CHOICES.index(settings.device))
        self.threads = QSpinBox()
        self.threads.setRange(0, MAX_THREADS)
        self.threads.setSpecialValueText(f"Automatic ({default_threads()})")
        self.threads.setValue(settings.threads)
        self.detector = QComboBox()
        offered = [name for name in DETECTOR_NAMES if name in available_detectors() or name == settings.detector]
        for name in offered:
            self.detector.addItem(DETECTOR_LABELS.get(name, name), name)
        self.detector.setCurrentIndex(offered.index(settings.detector))
        self.detector.setToolTip("RetinaFace is offered once its weights are installed (Tools ▸ Models)")
        self.fidelity = QDoubleSpinBox()
        self.fidelity.setRange(0.0, 1.0)
        self.fidelity.setSingleStep(FIDELITY_STEP)
        self.fidelity.setValue(settings.fidelity)
        self.upscale = QComboBox()
        for factor in UPSCALE_CHOICES:
            self.upscale.addItem(f"{factor}x", factor)
        self.upscale.setCurrentIndex(UPSCALE_CHOICES.index(settings.upscale))
        self.parsing = QCheckBox("Use the ParseNet face mask when installed (slower, finer edges)")
        self.parsing.setChecked(settings.parsing)
        self.output_format = QComboBox()
        self.output_format.addItem("Same as the photo", SAME_FORMAT)
        for fmt in OUTPUT_FORMATS:
            self.output_format.addItem(fmt.upper(), fmt)
        self.output_format.setCurrentIndex(self.output_format.findData(settings.output_format))
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(settings.quality)
        self.inpainting = QLineEdit(settings.inpainting_weights)
        self.inpainting.setObjectName("inpaintingWeights")
        self.inpainting.setPlaceholderText("codeformer_inpainting.pth (for Faces ▸ Repair scratches)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._choose_inpainting)
        inpainting = QHBoxLayout()
        inpainting.addWidget(self.inpainting, 1)
        inpainting.addWidget(browse)

        form = QFormLayout(self)
        form.addRow("Run the networks on", self.device)
        form.addRow("CPU threads", self.threads)
        form.addRow("Face detector", self.detector)
        form.addRow("Fidelity for new photos", self.fidelity)
        form.addRow("Upscale when saving", self.upscale)
        form.addRow("", self.parsing)
        form.addRow("Save as", self.output_format)
        form.addRow("JPEG/WebP quality", self.quality)
        form.addRow("Inpainting weights", inpainting)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _choose_inpainting(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Inpainting weights", "", WEIGHTS_FILTER)
        if path:
            self.inpainting.setText(path)

    def result_settings(self) -> AppSettings:
        return replace(
            self._settings,
            device=self.device.currentData(),
            threads=self.threads.value(),
            detector=self.detector.currentData(),
            fidelity=self.fidelity.value(),
            upscale=self.upscale.currentData(),
            parsing=self.parsing.isChecked(),
            output_format=self.output_format.currentData(),
            quality=self.quality.value(),
            inpainting_weights=self.inpainting.text().strip(),
        ).checked()
