"""The batch panel's widgets and their layout (built once; the panel keeps the widgets it reads and updates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..imaging import OUTPUT_FORMATS
from .settings import FIDELITY_STEP, SAME_FORMAT, UPSCALE_CHOICES, AppSettings

if TYPE_CHECKING:
    from .batch_panel import BatchPanel

W = TypeVar("W", bound=QWidget)

#: Fidelity spin box decimals.
FIDELITY_DECIMALS = 2
#: Quality spin box range (what the JPEG and WebP encoders accept).
QUALITY_MIN, QUALITY_MAX = 1, 100


def build_batch_form(panel: BatchPanel, settings: AppSettings) -> None:
    """Create the panel's widgets (as attributes of ``panel``) and lay them out."""
    _build_widgets(panel, settings)
    _lay_out(panel)


def _build_widgets(panel: BatchPanel, settings: AppSettings) -> None:
    panel.input_edit = _named(QLineEdit(), "inputFolderEdit")
    panel.input_edit.setPlaceholderText("Folder of photos (subfolders included)")
    panel.output_edit = _named(QLineEdit(), "outputFolderEdit")
    panel.output_edit.setPlaceholderText("Folder for the restored photos (same tree)")
    panel.choose_input_button = _named(QPushButton("Choose…"), "chooseInputButton")
    panel.choose_output_button = _named(QPushButton("Choose…"), "chooseOutputButton")

    panel.fidelity_spin = _named(QDoubleSpinBox(), "fidelitySpin")
    panel.fidelity_spin.setRange(0.0, 1.0)
    panel.fidelity_spin.setSingleStep(FIDELITY_STEP)
    panel.fidelity_spin.setDecimals(FIDELITY_DECIMALS)
    panel.fidelity_spin.setValue(settings.fidelity)
    panel.fidelity_spin.setToolTip("0 = strongest restoration, 1 = closest to the original")
    panel.format_combo = _named(QComboBox(), "formatCombo")
    panel.format_combo.addItem("Same as input", SAME_FORMAT)
    for fmt in OUTPUT_FORMATS:
        panel.format_combo.addItem(fmt.upper(), fmt)
    panel.format_combo.setCurrentIndex(max(0, panel.format_combo.findData(settings.output_format)))
    panel.quality_spin = _named(QSpinBox(), "qualitySpin")
    panel.quality_spin.setRange(QUALITY_MIN, QUALITY_MAX)
    panel.quality_spin.setValue(settings.quality)
    panel.upscale_combo = _named(QComboBox(), "upscaleCombo")
    for factor in UPSCALE_CHOICES:
        panel.upscale_combo.addItem(f"{factor}x", factor)
    panel.upscale_combo.setCurrentIndex(max(0, panel.upscale_combo.findData(settings.upscale)))
    panel.resume_check = _named(QCheckBox("Skip files already done (resume)"), "resumeCheck")
    panel.resume_check.setChecked(True)

    panel.start_button = _named(QPushButton("Start"), "startButton")
    panel.cancel_button = _named(QPushButton("Cancel"), "cancelButton")
    panel.open_output_button = _named(QPushButton("Open output folder"), "openOutputButton")

    panel.status_label = _named(QLabel("Choose a folder of photos, then press Start."), "statusLabel")
    panel.status_label.setWordWrap(True)
    panel.overall_bar = _named(QProgressBar(), "overallProgress")
    panel.overall_bar.setFormat("%v / %m files")
    panel.eta_label = _named(QLabel(), "etaLabel")
    panel.file_label = _named(QLabel(), "fileLabel")
    panel.file_bar = _named(QProgressBar(), "fileProgress")
    panel.file_bar.setFormat("%v / %m faces")
    panel.summary_label = _named(QLabel(), "summaryLabel")
    panel.failure_list = _named(QListWidget(), "failureList")
    for bar in (panel.overall_bar, panel.file_bar):
        bar.setRange(0, 1)
        bar.setValue(0)


def _named(widget: W, name: str) -> W:
    widget.setObjectName(name)
    return widget


def _lay_out(panel: BatchPanel) -> None:
    folders = QFormLayout()
    folders.addRow("Photos from:", _row(panel.input_edit, panel.choose_input_button))
    folders.addRow("Restore into:", _row(panel.output_edit, panel.choose_output_button))

    options_box = QGroupBox("Options")
    options = QFormLayout(options_box)
    options.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
    options.addRow("Fidelity:", panel.fidelity_spin)
    options.addRow("Output format:", panel.format_combo)
    options.addRow("Quality:", panel.quality_spin)
    options.addRow("Upscale:", panel.upscale_combo)
    options.addRow(panel.resume_check)

    buttons = QHBoxLayout()
    for button in (panel.start_button, panel.cancel_button):
        buttons.addWidget(button)
    buttons.addStretch(1)
    buttons.addWidget(panel.open_output_button)

    layout = QVBoxLayout(panel)
    layout.addLayout(folders)
    layout.addWidget(options_box)
    layout.addLayout(buttons)
    layout.addWidget(panel.status_label)
    layout.addWidget(panel.overall_bar)
    layout.addWidget(panel.eta_label)
    layout.addWidget(panel.file_label)
    layout.addWidget(panel.file_bar)
    layout.addWidget(panel.summary_label)
    layout.addWidget(QLabel("Failures:"))
    layout.addWidget(panel.failure_list, 1)


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return row
