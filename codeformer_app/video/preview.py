"""One frame of a video, upright, for the window's scrubber: frame numbers, their times, and seeking.

The window shows one frame at a time and lets the user pick another anywhere in the video; decoding from the
start up to it would take seconds on a long clip. So every frame's timestamp is read once, when the video is
opened (one demux pass, no decoding: :func:`open_timeline`); to show frame N the demuxer seeks to the keyframe
at or before N's timestamp and decodes forward to it (:func:`read_frame`). Frame N is counted as
``restore_video_file`` counts (display order), so the frame previewed is the frame the export restores.

Core code: no Qt. The window calls these from a worker, never on its GUI thread.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from .encoding import to_upright
from .probe import VideoError, VideoInfo, av_reason, open_input, packet_times, probe_video


@dataclass(frozen=True)
class Timeline:
    """A video's frames as the scrubber sees them: their count, and when each is shown."""

    info: VideoInfo
    stamps: tuple[int, ...]
    """Presentation timestamp of each frame in display order, in ``info.time_base`` units."""

    @property
    def frame_count(self) -> int:
        return len(self.stamps)

    @property
    def path(self) -> Path:
        return self.info.path

    def time_of(self, index: int) -> float:
        """Seconds from the first frame to frame ``index`` (clamped to the video)."""
        index = min(max(index, 0), self.frame_count - 1)
        return float((self.stamps[index] - self.stamps[0]) * self.info.time_base)

    def index_at(self, seconds: float) -> int:
        """The last frame shown at or before ``seconds`` from the first frame."""
        stamp = self.stamps[0] + seconds / float(self.info.time_base)
        return max(0, bisect.bisect_right(self.stamps, stamp + 1e-6) - 1)


def open_timeline(path: Path) -> Timeline:
    """Probe ``path`` and read its frames' timestamps; ``VideoError`` naming the file if it cannot be read."""
    path = Path(path)
    info = probe_video(path)
    with open_input(path) as container:
        try:
            stamps, _last = packet_times(container, container.streams.video[0])
        except av.FFmpegError as error:
            raise VideoError(path, f"is damaged or truncated ({av_reason(error)})") from None
    return Timeline(info, tuple(stamps))


def read_frame(timeline: Timeline, index: int) -> np.ndarray:
    """Frame ``index`` upright (the rotation a phone stored applied) as 8-bit BGR; ``VideoError`` naming the
    file when it cannot be decoded."""
    if not 0 <= index < timeline.frame_count:
        raise IndexError(f"frame {index} is outside the video's {timeline.frame_count} frames")
    path = timeline.path
    try:
        frame = _seek_and_decode(timeline, index)
        if frame is None:  # timestamps the decoder does not reproduce, or a seek that overshot: count instead
            frame = _count_from_start(timeline, index)
    except av.FFmpegError as error:
        raise VideoError(path, f"frame {index + 1} cannot be decoded ({av_reason(error)})") from None
    if frame is None:
        raise VideoError(path, f"frame {index + 1} cannot be decoded: the video ends early (damaged or truncated)")
    return to_upright(frame.to_ndarray(format="bgr24"), timeline.info.rotation)


def _seek_and_decode(timeline: Timeline, index: int) -> av.VideoFrame | None:
    """Seek to the keyframe at or before the frame and decode forward to its timestamp; None when the decoded
    timestamps do not lead there (the caller then counts frames from the start)."""
    target = timeline.stamps[index]
    with open_input(timeline.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        container.seek(target, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None:
                return None
            if frame.pts == target:
                return frame
            if frame.pts > target:
                return None  # landed past it (or this timestamp never comes out of the decoder)
    return None


def _count_from_start(timeline: Timeline, index: int) -> av.VideoFrame | None:
    with open_input(timeline.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for number, frame in enumerate(container.decode(stream)):
            if number == index:
                return frame
    return None


__all__ = ["Timeline", "open_timeline", "read_frame"]
