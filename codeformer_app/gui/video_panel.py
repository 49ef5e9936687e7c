"""The bar under the Photo tab while a video is open: the scrubber over its frames with the time shown, the
Export video button, and the export's progress with its Cancel.

A view only: ``video_frames.VideoFrames`` drives the scrubber and ``video_export.VideoExport`` the progress.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSlider, QToolButton, QVBoxLayout, QWidget

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
SCRUB_TIP = "Pick the frame to preview: ← → step one frame, Page Up / Page Down one second"


def clock(seconds: float) -> str:
    """``0:04.20``, ``12:03.00``, ``1:02:03.00``: a video time to the hundredth of a second."""
    hundredths = max(0, round(seconds * 100))
    whole, fraction = divmod(hundredths, 100)
    hours, rest = divmod(whole, SECONDS_PER_HOUR)
    minutes, secs = divmod(rest, SECONDS_PER_MINUTE)
    head = f"{hours}:{minutes:02d}" if hours else f"{minutes}"
    return f"{head}:{secs:02d}.{fraction:02d}"


class VideoBar(QWidget):
    """Hidden until a video is open; the export row shows only while an export runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoBar")
        self.scrubber = QSlider(Qt.Orientation.Horizontal)
        self.scrubber.setObjectName("videoScrubber")
        self.scrubber.setToolTip(SCRUB_TIP)
        self.position = QLabel()
        self.position.setObjectName("videoPosition")
        self.export_button = QToolButton()
        self.export_button.setObjectName("exportVideoButton")
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.progress = QProgressBar()
        self.progress.setObjectName("videoExportProgress")
        self.export_status = QLabel()
        self.export_status.setObjectName("videoExportStatus")
        self.cancel_button = QPushButton("Cancel export")
        self.cancel_button.setObjectName("cancelVideoExport")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.scrub_row = _row(self.scrubber, self.position, self.export_button)
        layout.addWidget(self.scrub_row)
        self.export_row = _row(self.export_status, self.progress, self.cancel_button)
        layout.addWidget(self.export_row)
        self.export_row.setVisible(False)
        self.setVisible(False)

    def set_frames(self, count: int, frames_per_second: float) -> None:
        """A new video: the scrubber spans its frames (one step a frame, a page about a second)."""
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, max(0, count - 1))
        self.scrubber.setValue(0)
        self.scrubber.setPageStep(max(1, round(frames_per_second)))
        self.scrubber.blockSignals(False)
        self.scrub_row.setVisible(True)
        self.setVisible(True)

    def hide_video(self) -> None:
        """No video open any more; an export still running keeps its row (and its Cancel) in view."""
        self.scrub_row.setVisible(False)
        self.setVisible(self.export_row.isVisibleTo(self))

    def show_position(self, index: int, count: int, seconds: float, duration: float) -> None:
        self.position.setText(f"Frame {index + 1} of {count} · {clock(seconds)} / {clock(duration)}")

    def show_export(self, text: str, done: int, total: int) -> None:
        self.export_row.setVisible(True)
        self.setVisible(True)
        self.export_status.setText(text)
        self.progress.setRange(0, max(total, 0))
        self.progress.setValue(done)

    def hide_export(self) -> None:
        self.export_row.setVisible(False)
        self.setVisible(self.scrub_row.isVisibleTo(self))


def _row(stretching: QWidget, *others: QWidget) -> QWidget:
    """A borderless horizontal row: the first widget takes the spare width, the others their own size."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(stretching, 1)
    for widget in others:
        layout.addWidget(widget)
    return row
