"""Writing video: restored frames into segment files, and segments plus the source's sound into the final file.

Segments are NUT files (FFmpeg's own container): it keeps every timestamp exactly in the source's time base
and takes any codec, so the final file gets the source's frame timing, variable rates included. Each segment
is encoded by its own encoder without B-frames, so packets are in presentation order (decode time = display
time) and segments join by copying their packets, with no re-encoding and no timestamp clash at a seam.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import OperationCancelled
from .probe import VideoInfo

#: Container of the segment files (see the module's docstring).
SEGMENT_FORMAT = "nut"
#: x264 quality: 18 is visually near-lossless, so a restored video loses little to its re-encoding.
DEFAULT_CRF = 18
#: x264 speed: at CPU restoring speeds (seconds per frame) encoding is never the bottleneck; smaller files win.
DEFAULT_PRESET = "medium"
#: Frames x264 looks ahead to plan its bit rate (``medium``: 40). Each is held with its analysis, ~2 MB a 720p
#: frame; 10 keeps the encoder's memory small and bounded at a small cost in file size.
X264_LOOKAHEAD_FRAMES = 10


@dataclass(frozen=True)
class OutputFormat:
    """How one output container is written: its FFmpeg muxer, video encoder, and which sound it takes as is."""

    muxer: str
    video_codec: str
    video_options: dict[str, str]
    audio_codec: str
    """The sound's codec when the source's cannot be copied into this container."""
    audio_rate: int | None
    """Sample rate that ``audio_codec`` needs (Opus: 48 kHz), or None for the source's."""
    copyable_audio: frozenset[str] | None
    """Audio codecs copied as they are (widely playable in this container); None: whatever the muxer takes."""


def _x264(crf: int, preset: str) -> dict[str, str]:
    return {"crf": str(crf), "preset": preset, "bf": "0", "rc-lookahead": str(X264_LOOKAHEAD_FRAMES)}


def output_format(suffix: str, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET) -> OutputFormat:
    """The way to write a file ending in ``suffix`` (``.mp4``, ``.mkv``, ``.mov``, ``.webm``)."""
    name = suffix.lower().lstrip(".")
    mp4_audio = frozenset({"aac", "mp3", "ac3", "eac3", "alac"})
    if name in ("mp4", "m4v"):
        return OutputFormat("mp4", "libx264", _x264(crf, preset), "aac", None, mp4_audio)
    if name == "mov":
        pcm = frozenset({"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_f32le"})
        return OutputFormat("mov", "libx264", _x264(crf, preset), "aac", None, mp4_audio | pcm)
    if name == "mkv":
        return OutputFormat("matroska", "libx264", _x264(crf, preset), "aac", None, None)
    if name == "webm":
        vp9 = {"crf": str(crf + 13), "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
        return OutputFormat("webm", "libvpx-vp9", vp9, "libopus", 48000, frozenset({"opus", "vorbis"}))
    raise ValueError(f"cannot write a video as .{name}: choose .mp4, .mkv, .mov or .webm")


def to_upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """A stored frame turned the way it is shown (``rotation``: counter-clockwise degrees, display matrix)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def to_stored(image: np.ndarray, rotation: int) -> np.ndarray:
    """The inverse of :func:`to_upright`: back to the orientation the file stores."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, -turns)) if turns else image


class SegmentWriter:
    """Encodes restored frames (stored orientation, 8-bit BGR) into one segment file, timestamps unchanged."""

    def __init__(self, path: Path, info: VideoInfo, fmt: OutputFormat) -> None:
        self.container = av.open(str(path), mode="w", format=SEGMENT_FORMAT)
        self.stream = self.container.add_stream(fmt.video_codec, rate=info.frame_rate, options=fmt.video_options)
        self.stream.width, self.stream.height = info.width, info.height
        # 4:2:0 (what every player takes) needs even sizes; an odd-sized source keeps its size in 4:4:4.
        even = info.width % 2 == 0 and info.height % 2 == 0
        self.stream.pix_fmt = "yuv420p" if even else "yuv444p"
        # The encoder's own clock is the source's time base too: at 1/frame rate it would round a variable
        # frame rate's timestamps onto a grid and merge neighbours.
        self.stream.time_base = self.stream.codec_context.time_base = info.time_base
        # Frames go YUV -> BGR -> YUV with FFmpeg's default matrix both ways, so the YUV values are the source's
        # and so is how to read them: the source's colour tags.
        context = self.stream.codec_context
        context.colorspace, context.color_range = info.colour.colorspace, info.colour.color_range
        context.color_primaries, context.color_trc = info.colour.color_primaries, info.colour.color_trc
        self.time_base = info.time_base

    def write(self, image_bgr: np.ndarray, pts: int) -> None:
        frame = av.VideoFrame.from_ndarray(image_bgr, format="bgr24")
        frame.pts, frame.time_base = pts, self.time_base
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        self.container.mux(self.stream.encode(None))
        self.container.close()

    def abandon(self) -> None:
        """Close without finishing (the caller removes the file)."""
        self.container.close()


@dataclass(frozen=True)
class SoundPlan:
    """What happens to the source's sound: ``copy``, ``encode`` (to the container's codec) or ``none``."""

    action: str
    note: str


def sound_plan(info: VideoInfo, fmt: OutputFormat, supported: Iterable[str]) -> SoundPlan:
    """Copy the sound when the container takes it and players can play it there; else re-encode it."""
    if info.audio is None:
        return SoundPlan("none", "no sound in the source")
    codec = info.audio.codec
    allowed = set(supported) if fmt.copyable_audio is None else fmt.copyable_audio & set(supported)
    if codec in allowed:
        return SoundPlan("copy", f"sound copied ({codec})")
    return SoundPlan("encode", f"sound re-encoded ({codec} -> {fmt.audio_codec.removeprefix('lib')})")


Packet = tuple[float, int, av.Packet, av.stream.Stream]


def _timed(packets: Iterator[av.Packet], stream: av.stream.Stream, order: int) -> Iterator[Packet]:
    """Packets keyed by their time in seconds, for merging streams in time order."""
    for packet in packets:
        if packet.size == 0 or (packet.dts is None and packet.pts is None):
            continue
        stamp = packet.dts if packet.dts is not None else packet.pts
        yield float(stamp * packet.time_base), order, packet, stream


def _segment_packets(segments: list[Path]) -> Iterator[av.Packet]:
    for path in segments:
        with av.open(str(path), mode="r", format=SEGMENT_FORMAT) as container:
            yield from container.demux(container.streams.video[0])


def _copied_sound(source: Path) -> Iterator[av.Packet]:
    with av.open(str(source), mode="r") as container:
        yield from container.demux(container.streams.audio[0])


def _encoded_sound(source: Path, stream: av.audio.stream.AudioStream) -> Iterator[av.Packet]:
    with av.open(str(source), mode="r") as container:
        for frame in container.decode(container.streams.audio[0]):
            yield from stream.encode(frame)
    yield from stream.encode(None)


def join_segments(
    target_temp: Path,
    fmt: OutputFormat,
    segments: list[Path],
    info: VideoInfo,
    cancelled: Callable[[], bool] | None = None,
) -> SoundPlan:
    """The final file: the segments' video packets copied in order, with the source's sound copied or
    re-encoded, interleaved by time; the rotation the source asked for is kept."""
    with av.open(str(target_temp), mode="w", format=fmt.muxer) as output:
        plan = sound_plan(info, fmt, output.supported_codecs)
        with av.open(str(segments[0]), mode="r", format=SEGMENT_FORMAT) as first:
            video = output.add_stream_from_template(first.streams.video[0])
        video.time_base = info.time_base
        if info.rotation:
            video.set_display_rotation(info.rotation)
        merged: list[Iterator[Packet]] = [_timed(_segment_packets(segments), video, 0)]
        if plan.action == "copy":
            with av.open(str(info.path), mode="r") as source:
                sound = output.add_stream_from_template(source.streams.audio[0])
            merged.append(_timed(_copied_sound(info.path), sound, 1))
        elif plan.action == "encode":
            assert info.audio is not None
            rate = fmt.audio_rate or info.audio.sample_rate
            layout = "mono" if info.audio.channels == 1 else "stereo"
            sound = output.add_stream(fmt.audio_codec, rate=rate, layout=layout)
            merged.append(_timed(_encoded_sound(info.path, sound), sound, 1))
        for _, _, packet, stream in heapq.merge(*merged, key=lambda item: (item[0], item[1])):
            if cancelled is not None and cancelled():
                raise OperationCancelled(f"{info.path}: cancelled while writing the final file")
            packet.stream = stream
            output.mux(packet)
    return plan


__all__ = [
    "DEFAULT_CRF",
    "DEFAULT_PRESET",
    "SEGMENT_FORMAT",
    "OutputFormat",
    "SegmentWriter",
    "SoundPlan",
    "join_segments",
    "output_format",
    "sound_plan",
    "to_stored",
    "to_upright",
]
