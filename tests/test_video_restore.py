"""Restoring whole clips: what the output keeps, cancel and resume, and every odd input behaving sensibly.

Tiny CodeFormer weights and small clips made here (``test_video_probe.make_clip``); MTCNN finds the faces.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from model_helpers import TINY_CONFIG, make_model
from test_video_probe import CLIP_SIZE, decode_all, make_clip

from codeformer_app.detection import DetectionOptions, create_detector
from codeformer_app.errors import OperationCancelled
from codeformer_app.pipeline.photo import ComposeOptions
from codeformer_app.pipeline.restore_file import Engine, RestoreSettings
from codeformer_app.video.probe import VideoError, probe_video
from codeformer_app.video.restore import VideoOptions, VideoOutcome, restore_video_file
from codeformer_app.video.segments import work_folder

#: The clips' frames are small: detect on them as they are instead of enlarging them to 640 px.
SETTINGS = RestoreSettings(detection=DetectionOptions(detect_side=CLIP_SIZE[1], max_upscale=1.0))
#: Four frames per segment at 10 fps, so a 12-frame clip has three.
SHORT_SEGMENTS = VideoOptions(segment_seconds=0.4)


class CountingDetector:
    """MTCNN, counting the frames it was asked about (how much work a run really did)."""

    def __init__(self) -> None:
        self.inner = create_detector("mtcnn")
        self.name, self.default_min_score = self.inner.name, self.inner.default_min_score
        self.calls = 0

    def detect(self, image_bgr: np.ndarray):
        self.calls += 1
        return self.inner.detect(image_bgr)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny networks gain nothing from threads, and the cores are shared
    yield Engine(model=make_model(TINY_CONFIG), detector=CountingDetector())
    torch.set_num_threads(threads)


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def restore(source: Path, target: Path, engine: Engine, **kwargs) -> VideoOutcome:
    return restore_video_file(source, target, engine, kwargs.pop("settings", SETTINGS), **kwargs)


def test_restored_clip_keeps_frames_rate_size_duration_and_sound(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=12, fps=10)
    progress: list[tuple[int, int]] = []
    outcome = restore(source, tmp_path / "out" / "clip.mp4", engine, on_frame=lambda d, t: progress.append((d, t)))
    target = tmp_path / "out" / "clip.mp4"
    before, after = probe_video(source), probe_video(target)
    assert (after.frame_count, after.frame_rate, after.width, after.height) == (12, 10, *CLIP_SIZE)
    assert after.duration == pytest.approx(before.duration, abs=0.01)
    assert outcome.frames == 12 and outcome.has_faces and outcome.faces_per_frame.min == 1 and outcome.tracks == 1
    assert outcome.sound == "copy" and audio_packets(target) == audio_packets(source)  # copied, not re-encoded
    assert progress[0] == (0, 12) and progress[-1] == (12, 12)
    frames, _ = decode_all(target)
    originals, _ = decode_all(source)
    assert len(frames) == 12
    face = (slice(40, 150), slice(80, 180))
    corner = (slice(150, 192), slice(0, 50))
    change = [np.abs(a.astype(int) - b.astype(int)) for a, b in zip(frames, originals, strict=True)]
    assert min(float(c[face].mean()) for c in change) > 3 * max(float(c[corner].mean()) for c in change)
    assert not work_folder(target).exists() and sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]


def test_blend_shows_that_much_of_the_restored_faces(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=3, sound=False)
    originals, _ = decode_all(source)
    face = (slice(40, 150), slice(80, 180))
    change = {}
    for blend in (1.0, 0.5, 0.0):
        target = tmp_path / f"blend-{blend}.mp4"
        restore(source, target, engine, settings=replace(SETTINGS, compose=ComposeOptions(blend=blend)))
        frames, _ = decode_all(target)
        change[blend] = np.mean(
            [np.abs(a[face].astype(int) - b[face].astype(int)).mean() for a, b in zip(frames, originals, strict=True)]
        )
    assert change[0.0] < 0.2 * change[1.0]  # only the re-encoding
    assert 0.3 * change[1.0] < change[0.5] < 0.7 * change[1.0]


def test_the_networks_are_held_frame_by_frame(tmp_path: Path, engine: Engine) -> None:
    """A caller sharing the networks (the window) holds them around each frame, not the whole video."""
    source = make_clip(tmp_path / "clip.mp4", frames=5, sound=False)
    lock = threading.Lock()
    held: list[bool] = []

    @contextmanager
    def networks() -> Iterator[None]:
        with lock:
            yield
        held.append(lock.locked())

    restore(source, tmp_path / "out.mp4", engine, networks=networks)
    assert held == [False] * 5  # entered once per frame, and given back after each


def test_cancel_leaves_no_file_under_the_final_name(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=12)
    target = tmp_path / "out.mp4"
    seen: list[int] = []
    with pytest.raises(OperationCancelled, match="resumes"):
        restore(source, target, engine, on_frame=lambda d, t: seen.append(d), cancelled=lambda: len(seen) > 5)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["clip.mp4"]
    assert not list(work_folder(target).glob(".*.part"))


def test_a_stopped_run_resumes_from_its_last_finished_segment(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=12)
    target = tmp_path / "resumed.mp4"
    done: list[int] = []
    with pytest.raises(OperationCancelled):
        restore(source, target, engine, options=SHORT_SEGMENTS, on_frame=lambda d, t: done.append(d),
                cancelled=lambda: bool(done) and done[-1] >= 10)  # fmt: skip
    assert not target.exists()
    assert sorted(p.name for p in work_folder(target).glob("segment-*.json")) == [
        "segment-00000.json",
        "segment-00001.json",
    ]
    detector = engine.detector
    assert isinstance(detector, CountingDetector)
    calls = detector.calls
    outcome = restore(source, target, engine, options=SHORT_SEGMENTS)
    assert detector.calls - calls == 4 and outcome.restored_frames == 4  # only the third segment was redone
    assert outcome.frames == 12 and outcome.faces_per_frame.frames_with_faces == 12
    assert not work_folder(target).exists()
    whole = restore(source, tmp_path / "whole.mp4", engine, options=SHORT_SEGMENTS)
    assert whole.restored_frames == 12
    resumed_frames, resumed_times = decode_all(target)
    whole_frames, whole_times = decode_all(tmp_path / "whole.mp4")
    assert resumed_times == whole_times
    for a, b in zip(resumed_frames, whole_frames, strict=True):
        assert float(np.abs(a.astype(int) - b.astype(int)).mean()) < 0.5  # same tracker state, same frames


def test_changed_settings_start_over(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=8)
    target = tmp_path / "out.mp4"
    done: list[int] = []
    with pytest.raises(OperationCancelled):
        restore(source, target, engine, options=SHORT_SEGMENTS, on_frame=lambda d, t: done.append(d),
                cancelled=lambda: bool(done) and done[-1] >= 5)  # fmt: skip
    other = RestoreSettings(fidelity=0.9, detection=SETTINGS.detection)
    assert restore(source, target, engine, settings=other, options=SHORT_SEGMENTS).restored_frames == 8


def test_colour_tags_are_kept(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "hd.mp4", frames=3, sound=False, bt709=True)
    restore(source, tmp_path / "out.mp4", engine)
    assert probe_video(tmp_path / "out.mp4").colour == probe_video(source).colour


def test_clip_without_sound(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "silent.mkv", frames=6, sound=False)
    outcome = restore(source, tmp_path / "silent.mp4", engine)
    assert outcome.sound == "none" and outcome.frames == 6
    assert probe_video(tmp_path / "silent.mp4").audio is None


def test_clip_without_faces_is_written_and_says_so(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "cup.mp4", frames=6, face=False)
    outcome = restore(source, tmp_path / "out.mp4", engine)
    assert not outcome.has_faces and outcome.faces_per_frame.max == 0 and outcome.tracks == 0
    assert probe_video(tmp_path / "out.mp4").frame_count == 6


def test_phone_clip_with_sound_restores_upright_and_keeps_rotation_length_and_sound(
    tmp_path: Path, engine: Engine
) -> None:
    """A phone stores portrait frames on their side: faces are found only when the rotation is applied first."""
    source = make_clip(tmp_path / "phone.mp4", frames=8, rotation=270)
    target = tmp_path / "out.mp4"
    outcome = restore(source, target, engine)
    assert outcome.faces_per_frame.frames_with_faces == 8
    assert (outcome.width, outcome.height) == CLIP_SIZE
    before, after = probe_video(source), probe_video(target)
    assert after.rotation == 270 and (after.width, after.height) == (CLIP_SIZE[1], CLIP_SIZE[0])
    assert after.duration == pytest.approx(before.duration, abs=0.01) and after.frame_count == 8
    assert outcome.sound == "copy" and audio_packets(target) == audio_packets(source)
    assert len(decode_all(target)[0]) == 8


def test_detecting_every_third_frame_carries_faces_between(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=6, sound=False)
    detector = engine.detector
    assert isinstance(detector, CountingDetector)
    calls = detector.calls
    outcome = restore(source, tmp_path / "out.mp4", engine, options=VideoOptions(detect_every=3))
    assert detector.calls - calls == 2 and outcome.faces_per_frame.frames_with_faces == 6


def test_variable_frame_rate_keeps_every_frame_time(tmp_path: Path, engine: Engine) -> None:
    times = [0.0, 0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.6]
    source = make_clip(tmp_path / "vfr.mkv", frames=len(times), frame_times=times)
    restore(source, tmp_path / "vfr.mp4", engine)
    _, out_times = decode_all(tmp_path / "vfr.mp4")
    np.testing.assert_allclose(out_times, times, atol=0.002)


def test_sound_an_mp4_cannot_hold_is_reencoded(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "old.avi", frames=6, video_codec="mpeg4", audio_codec="pcm_s16le")
    outcome = restore(source, tmp_path / "old.mp4", engine)
    assert outcome.sound == "encode" and any("pcm_s16le -> aac" in note for note in outcome.notes)
    after = probe_video(tmp_path / "old.mp4")
    assert after.audio is not None and after.audio.codec == "aac" and after.frame_count == 6


def test_existing_output_is_never_replaced(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=4)
    target = tmp_path / "taken.mp4"
    target.write_bytes(b"someone else's")
    with pytest.raises(VideoError, match="already exists") as caught:
        restore(source, target, engine)
    assert str(target) in str(caught.value) and target.read_bytes() == b"someone else's"


def test_the_input_is_never_its_own_output(tmp_path: Path, engine: Engine) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=4)
    original = source.read_bytes()
    with pytest.raises(VideoError, match="input itself"):
        restore(source, source, engine, settings=RestoreSettings(overwrite=True))
    assert source.read_bytes() == original


def test_bad_inputs_are_a_video_error_naming_the_file(tmp_path: Path, engine: Engine) -> None:
    text = tmp_path / "notes.mov"
    text.write_text("not a video\n" * 50)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(make_clip(tmp_path / "whole.mp4", frames=6).read_bytes()[:3000])
    for path in (text, cut, tmp_path / "missing.mp4"):
        with pytest.raises(VideoError) as caught:
            restore(path, tmp_path / f"{path.stem}-out.mp4", engine)
        assert str(path) in str(caught.value)
        assert not (tmp_path / f"{path.stem}-out.mp4").exists()


def test_truncated_matroska_restores_what_it_holds(tmp_path: Path, engine: Engine) -> None:
    """Matroska has its header up front: a cut file still opens, and what it holds is restored, with a note."""
    whole = make_clip(tmp_path / "whole.mkv", frames=12, sound=False)
    with av.open(str(whole)) as container:
        ends = [p.pos + p.size for p in container.demux(video=0) if p.size]
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: ends[5]])  # six whole frames, the rest lost
    outcome = restore(cut, tmp_path / "cut.mp4", engine)
    assert 5 <= outcome.frames <= 6 and probe_video(tmp_path / "cut.mp4").frame_count == outcome.frames
    assert outcome.has_faces


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".mkv", ".mov", ".webm"])
def test_other_output_containers(tmp_path: Path, engine: Engine, suffix: str) -> None:
    source = make_clip(tmp_path / "clip.mp4", frames=6)
    target = tmp_path / f"out{suffix}"
    outcome = restore(source, target, engine)
    after = probe_video(target)
    assert after.frame_count == 6 and after.audio is not None and len(decode_all(target)[0]) == 6
    assert outcome.sound == ("encode" if suffix == ".webm" else "copy")
