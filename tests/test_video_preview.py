"""One frame of a video for the window's scrubber: the frame read by seeking is the frame PyAV decodes there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_video_probe import decode_all, make_clip

from codeformer_app.video.encoding import to_upright
from codeformer_app.video.preview import open_timeline, read_frame
from codeformer_app.video.probe import VideoError


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("clip.mp4", {}),
        ("clip.mkv", {"sound": False}),
        ("phone.mp4", {"rotation": 90}),
        ("vfr.mkv", {"frame_times": [0.0, 0.1, 0.15, 0.4, 0.5, 0.55, 0.9, 1.0, 1.3, 1.35, 1.5, 1.6]}),
    ],
)
def test_every_frame_read_by_seeking_matches_decoding_from_the_start(tmp_path: Path, name: str, options: dict) -> None:
    clip = make_clip(tmp_path / name, frames=12, **options)
    timeline = open_timeline(clip)
    frames, times = decode_all(clip)
    assert timeline.frame_count == len(frames) == 12
    rotation = options.get("rotation", 0)
    for index in (11, 0, 7, 3, 4):  # out of order: each read seeks on its own
        assert np.array_equal(read_frame(timeline, index), to_upright(frames[index], rotation)), index
    for index, seconds in enumerate(times):
        assert timeline.time_of(index) == pytest.approx(seconds - times[0], abs=1e-6)
        assert timeline.index_at(seconds - times[0]) == index


def test_frames_far_from_a_keyframe(tmp_path: Path) -> None:
    """A long group of pictures: the seek lands on the keyframe before and decodes forward to the frame."""
    clip = make_clip(tmp_path / "long.mp4", frames=40, sound=False)
    frames, _ = decode_all(clip)
    timeline = open_timeline(clip)
    for index in (39, 21, 1):
        assert np.array_equal(read_frame(timeline, index), frames[index])
    with pytest.raises(IndexError):
        read_frame(timeline, 40)


def test_unreadable_videos_are_a_video_error_naming_the_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(make_clip(tmp_path / "whole.mp4", frames=6).read_bytes()[:3000])
    for path in (text, cut, tmp_path / "missing.mov"):
        with pytest.raises(VideoError, match=str(path)):
            open_timeline(path)
