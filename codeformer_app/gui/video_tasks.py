"""The window's video work as generator tasks: one frame read and analysed as a photo, and a whole export.

Like ``tasks.py`` this imports the core (PyTorch, PyAV) at the top, so the window imports it only once the
networks are loading, after it is shown. Reading and decoding never touch the networks; analysing a frame and
restoring the export's frames take the engine lock, the export one frame at a time (so the frame previews
keep working while a video exports).
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QImage

from ..detection import DetectionOptions
from ..errors import CodeFormerAppError, OperationCancelled
from ..imaging import photo_from_pixels
from ..pipeline.restore_file import Engine, RestoreSettings
from ..video.preview import Timeline, open_timeline, read_frame
from ..video.restore import VideoOptions, VideoOutcome, restore_video_file
from .engine_host import EngineHost
from .qimages import bgr_to_qimage
from .tasks import OpenedPhoto, Progress, open_task
from .video_frames import frame_name
from .workers import yield_reports

#: How often an export waiting for the networks (held by a preview) checks for Cancel.
LOCK_POLL_S = 0.1


@dataclass(frozen=True)
class FrameDecoded:
    """Yielded as soon as the frame is decoded, so the window shows it while its faces are being found."""

    index: int
    image: QImage


@dataclass(frozen=True)
class OpenedFrame:
    timeline: Timeline
    index: int
    name: str
    """What the frame is called as a photo (``clip-frame00042.png``): the Save dialog proposes it."""
    opened: OpenedPhoto


def frame_task(
    source: Path | Timeline, index: int, engine: Engine, lock: threading.Lock, options: DetectionOptions
) -> Generator[Progress | FrameDecoded, None, OpenedFrame]:
    """Frame ``index`` of a video (a file: opened first; the last frame if it has fewer), decoded upright
    and analysed as a photo."""
    if isinstance(source, Path):
        yield Progress(f"Reading {source.name}")
        timeline = open_timeline(source)
    else:
        timeline = source
    index = min(max(index, 0), timeline.frame_count - 1)
    yield Progress(f"Decoding frame {index + 1} of {timeline.frame_count}")
    image = read_frame(timeline, index)
    yield FrameDecoded(index, bgr_to_qimage(image))
    name = frame_name(timeline.path, index)
    opened = yield from open_task(photo_from_pixels(image, None, name), engine, lock, options)
    return OpenedFrame(timeline, index, name, opened)


@dataclass(frozen=True)
class FramesDone:
    done: int
    total: int


class VideoExportRun:
    """The worker side of one export: plain Python, touched by the GUI thread only through ``cancel``."""

    def __init__(
        self,
        source: Path,
        target: Path,
        settings: RestoreSettings,
        host: EngineHost,
        options: VideoOptions | None = None,
    ) -> None:
        self.source, self.target, self.settings = source, target, settings
        self.options = options or VideoOptions()
        self.cancel = threading.Event()
        self._host = host

    def task(self) -> Generator[FramesDone, None, VideoOutcome]:
        """Yield the frames done as they come; return the outcome. Cancel stops before the next frame with
        ``OperationCancelled``: nothing under the target's name, finished segments kept for a later export.
        (``worker.quit()`` is not used: the export must stop through the core, which cleans up.)"""
        engine = self._host.engine
        if engine is None:
            raise CodeFormerAppError(f"{self.source}: the networks are not loaded")

        def run(report) -> VideoOutcome:
            return restore_video_file(
                self.source,
                self.target,
                engine,
                self.settings,
                on_frame=lambda done, total: report(FramesDone(done, total)),
                cancelled=self.cancel.is_set,
                options=self.options,
                networks=self._holding_networks,
            )

        return (yield from yield_reports(run, "codeformer-video-export"))

    @contextmanager
    def _holding_networks(self) -> Iterator[None]:
        """The host's lock for one frame, given up on Cancel while waiting for it (a render may hold it)."""
        while not self._host.lock.acquire(timeout=LOCK_POLL_S):
            if self.cancel.is_set():
                raise OperationCancelled(
                    f"{self.source}: cancelled; nothing was written under {self.target.name}, and exporting "
                    "to it again resumes from the last finished segment"
                )
        try:
            yield
        finally:
            self._host.lock.release()
