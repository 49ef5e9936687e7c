"""What a video file holds, read before any network loads: streams, frame count, frame rate, rotation, sound.

The frame count and the frame timing come from one pass over the video's packets (demuxing only, no decoding:
a tiny fraction of restoring's cost), because containers disagree on whether they store a frame count at all
(Matroska and WebM do not) and a variable frame rate only shows in the timestamps. The first frame is decoded,
which proves the video stream can be decoded and gives the rotation a phone stored for it and the colour tags.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from ..errors import CodeFormerAppError

#: Demuxers that open a still image as a one-frame "video": such a file is a photo, not a video.
STILL_IMAGE_FORMATS = ("image2", "_pipe", "gif", "webp")
#: Frame durations that differ by more than this fraction (and one tick) mean a variable frame rate.
VFR_TOLERANCE = 0.05
#: Rotations are multiples of a quarter turn; anything else is rounded to the nearest one.
QUARTER_TURN = 90


class VideoError(CodeFormerAppError):
    """A video file cannot be read or written; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class ColourTags:
    """How the source says its YUV values are to be read (FFmpeg's enum values; 2 = unspecified)."""

    colorspace: int = 2
    color_range: int = 0
    color_primaries: int = 2
    color_trc: int = 2


@dataclass(frozen=True)
class VideoInfo:
    """One video file's facts, as a person (and the report) would state them."""

    path: Path
    container: str
    codec: str
    width: int
    """Stored frame width in pixels (before rotation)."""
    height: int
    rotation: int
    """Counter-clockwise degrees (0, 90, 180, 270) that bring a stored frame upright (the display matrix)."""
    frame_rate: Fraction
    """Average frames per second."""
    frame_count: int
    duration: float
    """Seconds from the first frame's start to the last frame's end."""
    variable_frame_rate: bool
    time_base: Fraction
    audio: AudioInfo | None
    colour: ColourTags = ColourTags()

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) as shown, after rotation."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


def av_reason(error: Exception) -> str:
    """FFmpeg's complaint in a few words, without PyAV's errno prefix and file name."""
    message = getattr(error, "strerror", None) or str(error)
    return message.rstrip(".").lower()


def normalised_rotation(degrees: float) -> int:
    """-90 -> 270, 89.99 -> 90: a quarter turn in [0, 360)."""
    if not math.isfinite(degrees):
        return 0
    return (round(degrees / QUARTER_TURN) * QUARTER_TURN) % 360


def open_input(path: Path) -> av.container.InputContainer:
    """Open for reading, or ``VideoError`` saying why in words (missing, empty, not a video)."""
    if not path.is_file():
        raise VideoError(path, "no such file")
    if path.stat().st_size == 0:
        raise VideoError(path, "the file is empty (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise VideoError(path, f"not a video this app can read, or damaged ({av_reason(error)})") from None
    name = container.format.name
    if any(marker in name for marker in STILL_IMAGE_FORMATS):
        container.close()
        raise VideoError(path, "is a still image, not a video")
    if not container.streams.video:
        container.close()
        raise VideoError(path, "has no video stream (only sound or data)")
    return container


def probe_video(path: Path) -> VideoInfo:
    """Everything about ``path`` that restoring it needs; ``VideoError`` for anything unreadable."""
    path = Path(path)
    with open_input(path) as container:
        stream = container.streams.video[0]
        try:
            first = _first_frame(container, stream)
        except av.FFmpegError as error:
            raise VideoError(path, f"its video cannot be decoded ({av_reason(error)})") from None
        if first is None:
            raise VideoError(path, "its video stream holds no frame that can be decoded")
        rotation = normalised_rotation(first.rotation)
        colour = ColourTags(first.colorspace, first.color_range, first.color_primaries, first.color_trc)
    with open_input(path) as container:
        stream = container.streams.video[0]
        try:
            timestamps, last_duration = packet_times(container, stream)
        except av.FFmpegError as error:
            raise VideoError(path, f"is damaged or truncated ({av_reason(error)})") from None
        if not timestamps:
            raise VideoError(path, "its video stream holds no frames")
        time_base = stream.time_base or Fraction(1, 1_000_000)
        rate = _average_rate(stream, timestamps, time_base)
        step = last_duration or _median_step(timestamps) or round(1 / (rate * time_base))
        duration = float((timestamps[-1] - timestamps[0] + step) * time_base)
        audio_stream = container.streams.audio[0] if container.streams.audio else None
        audio = None
        if audio_stream is not None and audio_stream.codec_context is not None:
            context = audio_stream.codec_context
            audio = AudioInfo(context.name, int(context.sample_rate or 0), int(context.channels or 0))
        return VideoInfo(
            path=path,
            container=container.format.name,
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            rotation=rotation,
            frame_rate=rate,
            frame_count=len(timestamps),
            duration=duration,
            variable_frame_rate=_is_variable(timestamps),
            time_base=time_base,
            audio=audio,
            colour=colour,
        )


def _first_frame(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> av.VideoFrame | None:
    for frame in container.decode(stream):
        return frame
    return None


def packet_times(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[list[int], int | None]:
    """Sorted presentation times of every video packet (display order), and the last packet's duration."""
    times: list[int] = []
    last_duration = None
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # the demuxer's end-of-stream marker
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None:
            stamp = times[-1] + 1 if times else 0
        times.append(int(stamp))
        last_duration = int(packet.duration) if packet.duration else last_duration
    times.sort()
    return times, last_duration


def _median_step(times: list[int]) -> int | None:
    steps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    return steps[len(steps) // 2] if steps else None


def _average_rate(stream: av.video.stream.VideoStream, times: list[int], time_base: Fraction) -> Fraction:
    """The container's average rate when it has one, else frames over the span of their timestamps."""
    if stream.average_rate:
        return Fraction(stream.average_rate)
    if len(times) > 1 and times[-1] > times[0]:
        return Fraction(len(times) - 1) / ((times[-1] - times[0]) * time_base)
    return Fraction(stream.guessed_rate or 25)


def _is_variable(times: list[int]) -> bool:
    steps = [b - a for a, b in itertools.pairwise(times) if b > a]
    if len(steps) < 2:
        return False
    # One tick of slack: a millisecond time base (Matroska) rounds 60 fps to steps of 16 and 17.
    return max(steps) - min(steps) > max(1.0, min(steps) * VFR_TOLERANCE)
