"""One video file in, one restored video file out: what the command line, the batch runner and the window call.

Streaming: frames are decoded, restored and encoded one at a time, so memory does not grow with the length.
The frames are written in segments (``segments.py``) to a hidden work folder next to the output; when the last
segment is done they are joined with the source's sound into a temporary file that is renamed to the output
(``durable.write_atomically``), so the output's name never holds a half-written video. A run that is stopped
(Ctrl-C, cancel, a crash) keeps its finished segments, and the next run with the same settings restores only
what is left. Design and measurements: ``docs/video.md``.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av

from ..durable import describe_write_error, write_atomically
from ..errors import OperationCancelled
from ..pipeline.restore_file import Engine, RestoreSettings
from .encoding import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    OutputFormat,
    SegmentWriter,
    SoundPlan,
    join_segments,
    output_format,
    to_stored,
    to_upright,
)
from .frames import FrameRestorer, looks_grey
from .probe import VideoError, VideoInfo, av_reason, open_input, probe_video
from .segments import SegmentRecord, SegmentWork
from .tracking import FaceTracker, TrackingOptions

#: ``(frames done, frames in the video)``, called after each frame (finished segments count at once).
FrameProgress = Callable[[int, int], None]
#: Held around each frame's restore (detect, encode, decode, paste): how a caller that shares the networks with
#: other work (the window's previews) lets that work in between two frames instead of after the whole video.
NetworksHeld = Callable[[], AbstractContextManager[object]]
#: Seconds of video per segment: what a stopped run can lose, against one more file and keyframe per segment.
DEFAULT_SEGMENT_SECONDS = 5.0


@dataclass(frozen=True)
class VideoOptions:
    """What only videos have; the photo options (fidelity, detection, feather) come in ``RestoreSettings``."""

    tracking: TrackingOptions = field(default_factory=TrackingOptions)
    detect_every: int = 1
    """Run the detector on every n-th frame; the tracker carries the faces in between."""
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET


@dataclass(frozen=True)
class FacesPerFrame:
    """How many faces each frame had, summed up for the report."""

    frames_with_faces: int
    min: int
    max: int
    mean: float

    @classmethod
    def of(cls, counts: list[int]) -> FacesPerFrame:
        if not counts:
            return cls(0, 0, 0, 0.0)
        return cls(sum(1 for c in counts if c), min(counts), max(counts), round(sum(counts) / len(counts), 3))


@dataclass(frozen=True)
class VideoOutcome:
    """What restoring one video produced: plain data for the report (one item per video)."""

    frames: int
    frame_rate: float
    duration: float
    """Seconds, as probed from the source (the output keeps the source's timestamps)."""
    width: int
    height: int
    faces_per_frame: FacesPerFrame
    tracks: int
    """Distinct faces followed through the video."""
    restored_frames: int
    """Frames this run restored; the others came from segments an earlier, stopped run finished."""
    seconds: float
    sound: str
    notes: list[str] = field(default_factory=list)

    @property
    def has_faces(self) -> bool:
        """False: no frame had a face (the report's ``no_face``); the video was still written."""
        return self.faces_per_frame.frames_with_faces > 0

    def report(self) -> dict[str, Any]:
        """The report item's details, as JSON-ready values."""
        return asdict(self)


def restore_video_file(
    source: Path,
    target: Path,
    engine: Engine,
    settings: RestoreSettings,
    on_frame: FrameProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
    options: VideoOptions = VideoOptions(),
    networks: NetworksHeld | None = None,
) -> VideoOutcome:
    """Restore every face of every frame of ``source`` into ``target`` (its suffix picks the container).

    ``target`` is never replaced unless ``settings.overwrite``. ``cancelled()`` is asked before each frame;
    when it says so, ``OperationCancelled`` is raised, nothing is written under ``target``, and the finished
    segments stay for the next run. ``networks()`` is entered around each frame's use of the networks (it may
    raise ``OperationCancelled`` too). Every failure is a ``VideoError`` naming the file.
    """
    source, target = Path(source), Path(target)
    started = time.perf_counter()
    info = probe_video(source)
    try:
        fmt = output_format(target.suffix, options.crf, options.preset)
    except ValueError as error:
        raise VideoError(target, str(error)) from None
    if target.exists() and target.resolve() == source.resolve():
        raise VideoError(target, "is the input itself; the original is never replaced")
    if target.exists() and not settings.overwrite:
        raise VideoError(target, "a file with this name already exists and is never replaced")
    segment_frames = max(1, round(options.segment_seconds * float(info.frame_rate)))
    work = SegmentWork(target, _fingerprint(source, info, engine, settings, options, segment_frames))
    try:
        records = work.open()
    except OSError as error:
        raise VideoError(target, describe_write_error(error)) from None
    run = _Run(info, fmt, engine, settings, options, work, records, segment_frames, on_frame, cancelled)
    if networks is not None:
        run.networks = networks
    counts, restored, last_record = run.segments()
    plan = _join(target, fmt, work, last_record.index + 1, info, settings, cancelled)
    work.remove()
    notes = [plan.note]
    if len(counts) < info.frame_count:
        notes.append(f"only {len(counts)} of {info.frame_count} frames could be decoded (damaged or truncated)")
    if info.variable_frame_rate:
        notes.append("variable frame rate: every frame keeps its own time")
    if info.rotation:
        notes.append(f"rotated {info.rotation} degrees for display: faces restored upright, rotation kept")
    if settings.compose.upscale != 1:
        notes.append("upscaling is not applied to videos: the frame size is kept")
    width, height = info.upright_size
    return VideoOutcome(
        frames=len(counts),
        frame_rate=round(float(info.frame_rate), 3),
        duration=round(info.duration, 3),
        width=width,
        height=height,
        faces_per_frame=FacesPerFrame.of(counts),
        tracks=last_record.tracks_started,
        restored_frames=restored,
        seconds=round(time.perf_counter() - started, 3),
        sound=plan.action,
        notes=notes,
    )


def _fingerprint(
    source: Path, info: VideoInfo, engine: Engine, settings: RestoreSettings, options: VideoOptions, frames: int
) -> dict[str, Any]:
    """Everything a finished segment depends on: a later run reuses segments only when all of it is equal."""
    stat = source.stat()
    model = engine.model
    return {
        "source": str(source.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "frames": info.frame_count,
        "segment_frames": frames,
        "fidelity": settings.fidelity,
        "detection": asdict(settings.detection),
        "feather": settings.compose.feather,
        "blend": settings.compose.blend,
        "video": asdict(options),
        "model": repr(model.config),
        "weights_checksum": float(model.position_emb.double().sum().item()),
        "detector": getattr(engine.detector, "name", None),
        "parsing": engine.parser is not None,
    }


def _decoded(container: av.container.InputContainer, info: VideoInfo) -> Iterator[tuple[int, av.VideoFrame, int]]:
    """(index, frame, pts) in display order; a missing or repeated timestamp becomes the next free one, so the
    encoder always gets increasing times."""
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    step = max(1, round(1 / float(info.frame_rate * info.time_base)))
    last: int | None = None
    index = 0
    try:
        for frame in container.decode(stream):
            pts = frame.pts
            if pts is None:
                pts = 0 if last is None else last + step
            elif last is not None and pts <= last:
                pts = last + 1
            last = pts
            yield index, frame, pts
            index += 1
    except av.FFmpegError as error:
        raise VideoError(info.path, f"decoding stopped after {index} frames: damaged ({av_reason(error)})") from None


class _Run:
    """The decode -> restore -> encode loop over the segments of one video."""

    def __init__(
        self,
        info: VideoInfo,
        fmt: OutputFormat,
        engine: Engine,
        settings: RestoreSettings,
        options: VideoOptions,
        work: SegmentWork,
        records: dict[int, SegmentRecord],
        segment_frames: int,
        on_frame: FrameProgress | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.info, self.fmt, self.engine, self.settings, self.options = info, fmt, engine, settings, options
        self.work, self.records, self.segment_frames = work, records, segment_frames
        self.on_frame = on_frame or (lambda done, total: None)
        self.cancelled = cancelled or (lambda: False)
        self.restorer: FrameRestorer | None = None
        self.networks: NetworksHeld = contextlib.nullcontext

    def segments(self) -> tuple[list[int], int, SegmentRecord]:
        """Every segment finished (earlier runs' skipped); faces per frame, frames restored, the last record."""
        counts: list[int] = []
        restored = 0
        record: SegmentRecord | None = None
        grey = False
        self.on_frame(0, self.info.frame_count)
        with open_input(self.info.path) as container:
            frames = _decoded(container, self.info)
            for index, group in itertools.groupby(frames, key=lambda item: item[0] // self.segment_frames):
                if index == 0:  # a black-and-white film is judged on its first frame, in every run alike
                    first = next(group)
                    grey = looks_grey(first[1].to_ndarray(format="bgr24"))
                    group = itertools.chain([first], group)
                done = self.records.get(index)
                if done is not None:
                    for _ in group:
                        pass
                    record = done
                else:
                    record = self._segment(index, group, record, grey)
                    restored += record.frames
                counts.extend(record.faces_per_frame)
                self.on_frame(len(counts), self.info.frame_count)
        if record is None:
            raise VideoError(self.info.path, "its video stream holds no frame that can be decoded")
        return counts, restored, record

    def _segment(
        self, index: int, group: Iterator[tuple[int, av.VideoFrame, int]], previous: SegmentRecord | None, grey: bool
    ) -> SegmentRecord:
        """Restore and encode one segment's frames into its file (atomically), then record it as finished."""
        if self.restorer is None:  # the first segment this run restores: the tracker goes on from the last record
            tracker = FaceTracker(self.options.tracking)
            if previous is not None:
                tracker = FaceTracker.from_state(self.options.tracking, previous.tracker)
            self.restorer = FrameRestorer(self.engine, self.settings, tracker, self.options.detect_every, grey)
        restorer = self.restorer
        info = self.info
        counts: list[int] = []
        first_frame = index * self.segment_frames

        def encode(temp: Path) -> None:
            writer = SegmentWriter(temp, info, self.fmt)
            try:
                for frame_index, frame, pts in group:
                    if self.cancelled():
                        raise OperationCancelled(
                            f"{info.path}: cancelled after {frame_index} frames; nothing was written under the "
                            "output name, and the next run resumes from the last finished segment"
                        )
                    image = to_upright(frame.to_ndarray(format="bgr24"), info.rotation)
                    with self.networks():
                        faces = restorer.restore(image, frame_index, float(pts * info.time_base))
                    writer.write(to_stored(image, info.rotation), pts)
                    counts.append(len(faces))
                    self.on_frame(frame_index + 1, info.frame_count)
            except BaseException:
                writer.abandon()
                raise
            writer.close()

        try:
            write_atomically(self.work.video_path(index), encode)
            state = restorer.tracker.state()
            record = SegmentRecord(index, first_frame, counts, state, int(state["next_id"]))
            self.work.finish(record)
        except av.FFmpegError as error:
            raise VideoError(info.path, f"the restored frames cannot be encoded ({av_reason(error)})") from None
        except OSError as error:
            raise VideoError(self.work.folder, describe_write_error(error)) from None
        return record


def _join(
    target: Path,
    fmt: OutputFormat,
    work: SegmentWork,
    count: int,
    info: VideoInfo,
    settings: RestoreSettings,
    cancelled: Callable[[], bool] | None,
) -> SoundPlan:
    """The segments and the sound into ``target``, atomically."""
    plans: list[SoundPlan] = []
    segments = [work.video_path(i) for i in range(count)]
    try:
        write_atomically(
            target, lambda temp: plans.append(join_segments(temp, fmt, segments, info, cancelled)), settings.overwrite
        )
    except FileExistsError:
        raise VideoError(target, "a file with this name already exists and is never replaced") from None
    except av.FFmpegError as error:
        raise VideoError(target, f"cannot be written ({av_reason(error)})") from None
    except OSError as error:
        raise VideoError(target, describe_write_error(error)) from None
    return plans[0]


__all__ = [
    "DEFAULT_SEGMENT_SECONDS",
    "FacesPerFrame",
    "FrameProgress",
    "NetworksHeld",
    "VideoOptions",
    "VideoOutcome",
    "restore_video_file",
]
