"""The open video in the Photo tab: its current frame is the editor's photo, the scrubber picks another.

Opening a video and moving the scrubber both run ``video_tasks.frame_task`` under the photo editor's ``open``
name (newest wins, also against a photo being opened): the frame is decoded off the GUI thread (seek to the
keyframe before it, decode forward), shown at once, then analysed like a photo and handed to
``PhotoEditor.show_photo``, so the fidelity and blend sliders, the face list, the quick preview and Save all
work on that frame. A drag only reads the frame where the scrubber rests (a short debounce).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from .engine_host import EngineHost
from .messages import show_error
from .photo_editor import ANCHORS, OPEN, RENDER, PhotoEditor
from .task_runner import TaskKind
from .video_panel import VideoBar

if TYPE_CHECKING:
    from ..video.preview import Timeline
    from .video_tasks import FrameDecoded, OpenedFrame

#: The scrubber's debounce on the window's runner, and its quiet time before the frame is read.
SCRUB, SCRUB_DEBOUNCE_MS = "video-scrub", 60


def frame_name(video: Path, index: int) -> str:
    """``clip-frame00042.png``: frame 42 (counting from 1) of ``clip.mp4`` as a photo."""
    return f"{Path(video).stem}-frame{index + 1:05d}.png"


class VideoFrames(QObject):
    """``opened`` (True for a newly opened video, False for another frame) once a frame is the editor's
    photo; ``frame_changed`` when the editor's photo was set aside for a newly decoded frame."""

    opened = Signal(bool)
    frame_changed = Signal()

    def __init__(self, editor: PhotoEditor, host: EngineHost, bar: VideoBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor, self.host, self.bar, self.tasks = editor, host, bar, editor.tasks
        self.timeline: Timeline | None = None
        self.index = 0
        bar.scrubber.valueChanged.connect(self._scrubbed)

    @property
    def is_open(self) -> bool:
        return self.timeline is not None

    @property
    def path(self) -> Path | None:
        return self.timeline.path if self.timeline is not None else None

    def open(self, path: Path) -> None:
        """Show the first frame of ``path``; a file that is not a readable video gives a message naming it."""
        self._read(path, 0, f"Could not open {path.name}")

    def show_frame(self, index: int) -> None:
        if self.timeline is not None:
            self._read(self.timeline, index, f"Could not read frame {index + 1} of {self.timeline.path.name}")

    def reload(self) -> None:
        """The current frame analysed again (new networks)."""
        self.show_frame(self.index)

    def close_video(self) -> None:
        """Another photo was opened: the bar goes, the video is forgotten."""
        self.tasks.cancel(SCRUB)
        self.timeline = None
        self.bar.hide_video()

    def _scrubbed(self, index: int) -> None:
        timeline = self.timeline
        if timeline is None:
            return
        self._show_position(timeline, index)
        self.tasks.debounce(SCRUB, SCRUB_DEBOUNCE_MS, lambda: self.show_frame(self.bar.scrubber.value()))

    def _show_position(self, timeline: Timeline, index: int) -> None:
        duration = timeline.info.duration
        self.bar.show_position(index, timeline.frame_count, timeline.time_of(index), duration)

    def _read(self, source: Path | Timeline, index: int, error_title: str) -> None:
        engine = self.host.engine
        if engine is None:
            return
        from ..detection import DetectionOptions
        from .video_tasks import frame_task

        def failed(error: Exception) -> None:
            self.editor.status.emit(error_title)
            show_error(self.editor, error_title, error)

        self.tasks.start(
            OPEN,
            frame_task,
            source,
            index,
            engine,
            self.host.lock,
            DetectionOptions(),
            on_progress=self._progress,
            on_done=self._shown,
            on_error=failed,
            kind=TaskKind.LATEST,
        )

    def _progress(self, value: Any) -> None:
        from .video_tasks import FrameDecoded

        if isinstance(value, FrameDecoded):
            self._set_aside(value)
        else:
            self.editor.progress.emit(value)

    def _set_aside(self, decoded: FrameDecoded) -> None:
        """The new frame at once; the old frame's session goes (its renders would no longer fit)."""
        editor = self.editor
        editor.tasks.cancel(RENDER)
        editor.tasks.cancel(ANCHORS)
        editor.session = None
        editor.viewer.set_images(decoded.image, keep_view=True)
        editor.viewer.set_busy("Finding faces…")
        editor.face_list.clear_faces()
        editor.faces_label.setText("Finding faces…")
        self.frame_changed.emit()

    def _shown(self, frame: OpenedFrame) -> None:
        new = self.timeline is None or frame.timeline.path != self.timeline.path
        self.timeline, self.index = frame.timeline, frame.index
        if new:
            self.bar.set_frames(frame.timeline.frame_count, float(frame.timeline.info.frame_rate))
        if new or self.bar.scrubber.value() == frame.index:
            self._show_position(frame.timeline, frame.index)
        self.editor.viewer.set_busy("")
        self.editor.show_photo(frame.opened, frame.timeline.path, frame.name, keep_view=not new)
        self.opened.emit(new)
