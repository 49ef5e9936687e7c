"""Restoring the faces of a video file: streamed frame by frame, faces tracked and smoothed, sound kept.

- ``probe.probe_video(path) -> VideoInfo``: what the file holds (size, frame rate, frames, rotation, sound),
  or a ``VideoError`` naming the file.
- ``restore.restore_video_file(source, target, engine, settings, ...) -> VideoOutcome``: the entry point the
  command line, the batch runner and the window call (mirrors ``pipeline.restore_file.restore_file``).
- ``tracking.FaceTracker``: detections associated frame to frame, landmarks smoothed, short misses carried.

Importing this package imports neither PyAV nor PyTorch: ``is_video_name`` serves folder scans and argument
parsing, which must stay fast. Core code: no Qt. Design and measurements: ``docs/video.md``.
"""

from __future__ import annotations

from pathlib import Path

#: File name endings taken as videos (case-insensitive) when a folder is scanned or a file is given.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})

#: What ``--format`` accepts for a video's output container; the first is the default (H.264/AAC in MP4).
VIDEO_OUTPUT_FORMATS = ("mp4", "mkv", "mov", "webm")
DEFAULT_VIDEO_FORMAT = VIDEO_OUTPUT_FORMATS[0]


def is_video_name(path: Path) -> bool:
    """A file name we take for a video (hidden files never are: our own work files are hidden)."""
    path = Path(path)
    return path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".")


def video_output_path(source: Path, out_dir: Path, fmt: str | None = None) -> Path:
    """``OUTDIR/<source stem>.<format>``: the same name, in the chosen container (MP4 unless asked)."""
    chosen = (fmt or DEFAULT_VIDEO_FORMAT).lower().lstrip(".")
    if chosen not in VIDEO_OUTPUT_FORMATS:
        raise ValueError(f"unknown video format {fmt!r}; choose one of {', '.join(VIDEO_OUTPUT_FORMATS)}")
    return Path(out_dir) / f"{Path(source).stem}.{chosen}"


__all__ = ["DEFAULT_VIDEO_FORMAT", "VIDEO_OUTPUT_FORMATS", "VIDEO_SUFFIXES", "is_video_name", "video_output_path"]
