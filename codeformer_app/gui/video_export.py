"""File ▸ Export video…: the open video restored whole with the window's fidelity and blend, in a worker.

The core's ``restore_video_file`` does the work (the same call as the command line and the batch), fed by
``video_tasks.VideoExportRun`` with the networks taken one frame at a time. The bar under the Photo tab shows
frames done, speed and time left (``video.progress.FrameEta``) and a Cancel, which stops before the next frame:
nothing appears under the output name and the finished segments stay, so exporting to the same name again
resumes. An export is a writer on the window's runner: closing the window asks first, then waits for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from ..errors import OperationCancelled
from ..output_names import candidate_names
from ..video import DEFAULT_VIDEO_FORMAT, VIDEO_OUTPUT_FORMATS
from .engine_host import EngineHost
from .messages import show_error
from .photo_editor import PhotoEditor
from .task_runner import TaskKind
from .video_frames import VideoFrames
from .video_panel import VideoBar, clock

if TYPE_CHECKING:
    from ..pipeline.restore_file import RestoreSettings
    from ..video.progress import FrameEta
    from ..video.restore import VideoOptions, VideoOutcome
    from .video_tasks import FramesDone, VideoExportRun

EXPORT_TASK = "video-export"
EXPORT_FILTER = ";;".join(
    f"{label} (*.{fmt})"
    for fmt, label in zip(VIDEO_OUTPUT_FORMATS, ("MP4", "Matroska", "QuickTime", "WebM"), strict=True)
)
PER_FACE_NOTE = (
    "Exports every frame with the photo-wide fidelity and blend; the faces' own settings and Auto apply to the "
    "previewed frame only (in a video, faces come and go)."
)


def suggested_video_output(source: Path, folder: Path | None = None) -> Path:
    """``clip-restored.mp4`` next to the video (or in ``folder``), ``-restored-2`` ... when taken: never the
    source, never an existing file. A stopped export's segments stay under the same name, so it resumes."""
    names = candidate_names((folder or source.parent) / f"{source.stem}.{DEFAULT_VIDEO_FORMAT}")
    next(names)  # the source's own name is never proposed
    return next(path for path in names if not path.exists())


def with_video_suffix(path: Path) -> Path:
    """A name typed without a video ending gets ``.mp4``."""
    return path if path.suffix.lower().lstrip(".") in VIDEO_OUTPUT_FORMATS else path.with_name(f"{path.name}.mp4")


class VideoExport(QObject):
    """``running_changed`` when an export starts (its end is the runner's ``task_ended``); ``status`` for the
    status line."""

    running_changed = Signal()
    status = Signal(str)

    def __init__(
        self, editor: PhotoEditor, host: EngineHost, frames: VideoFrames, bar: VideoBar, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.editor, self.host, self.frames, self.bar = editor, host, frames, bar
        self.tasks = editor.tasks
        self._parent = parent
        self._run: VideoExportRun | None = None
        self._eta: FrameEta | None = None
        self.last_outcome: VideoOutcome | None = None
        self.options: VideoOptions | None = None
        """Tracking, segment length, encoding; None: the core's defaults (as the command line's)."""
        bar.cancel_button.clicked.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self.tasks.running(EXPORT_TASK)

    @property
    def available(self) -> bool:
        return self.frames.is_open and self.host.engine is not None and not self.running

    def choose(self) -> None:
        """Ask where (a free name proposed), then export."""
        source = self.frames.path
        if source is None or not self.available:
            return
        suggested = str(suggested_video_output(source))
        path, _ = QFileDialog.getSaveFileName(self._parent, "Export the restored video", suggested, EXPORT_FILTER)
        if path:
            self.export_to(with_video_suffix(Path(path)))

    def export_to(self, target: Path) -> None:
        source = self.frames.path
        if source is None or not self.available:
            return
        if target.exists():
            show_error(
                self._parent, "Not exported", f"{target}: a file with this name already exists and is never replaced."
            )
            return
        from ..video.progress import FrameEta
        from .video_tasks import VideoExportRun

        self._run = run = VideoExportRun(source, target, self.restore_settings(), self.host, self.options)
        self._eta = FrameEta()
        self.bar.cancel_button.setEnabled(True)
        self.bar.show_export(f"Exporting {target.name}…", 0, 0)
        self.status.emit(f"Exporting {source.name} to {target}. {PER_FACE_NOTE}")
        self.tasks.start(
            EXPORT_TASK,
            run.task,
            on_progress=self._progress,
            on_done=lambda outcome: self._done(run, outcome),
            on_error=lambda error: self._failed(run, error),
            kind=TaskKind.WRITER,
        )
        self.running_changed.emit()

    def restore_settings(self) -> RestoreSettings:
        """What the export restores with: the Photo tab's fidelity and blend, the photo defaults for the rest
        (the detector and the ParseNet mask come with the networks, as for every photo)."""
        from ..detection import DetectionOptions
        from ..pipeline.paste import DEFAULT_FEATHER
        from ..pipeline.photo import ComposeOptions
        from ..pipeline.restore_file import RestoreSettings

        compose = ComposeOptions(feather=DEFAULT_FEATHER, blend=self.editor.blend)
        return RestoreSettings(fidelity=self.editor.fidelity, detection=DetectionOptions(), compose=compose)

    def cancel(self) -> None:
        """Stop before the next frame; the finished segments stay."""
        if self._run is not None and self.running:
            self._run.cancel.set()
            self.bar.cancel_button.setEnabled(False)
            self.bar.export_status.setText("Stopping after this frame…")

    def _progress(self, value: Any) -> None:
        done: FramesDone = value
        eta = self._eta
        if eta is None or self._run is None:
            return
        eta.update(done.done, done.total)
        parts = [f"Exporting {self._run.target.name}: frame {done.done} of {done.total}"]
        if eta.fps is not None:
            parts.append(f"{eta.fps:.1f} frames/s")
        if eta.eta_seconds is not None:
            parts.append(f"about {clock(eta.eta_seconds).rsplit('.', 1)[0]} left")
        self.bar.show_export(" · ".join(parts), done.done, done.total)

    def _done(self, run: VideoExportRun, outcome: VideoOutcome) -> None:
        self.last_outcome = outcome
        notes = [note for note in outcome.notes if note]
        extra = f" ({'; '.join(notes)})" if notes else ""
        self._ended(f"Exported {run.target}: {outcome.frames} frames, {outcome.tracks} face track(s){extra}.")

    def _failed(self, run: VideoExportRun, error: Exception) -> None:
        if isinstance(error, OperationCancelled):
            self._ended(
                f"Export of {run.source.name} cancelled: nothing was written under {run.target.name}; "
                "exporting to that name again resumes from the last finished segment."
            )
            return
        title = f"Could not export {run.source.name}"
        self._ended(title)
        show_error(self._parent, title, error)

    def _ended(self, text: str) -> None:
        self._run, self._eta = None, None
        self.bar.hide_export()
        self.status.emit(text)
