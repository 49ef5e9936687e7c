"""Reading what a video holds, and the clips the video tests make for themselves (no video is committed).

``make_clip`` builds a short video with PyAV from scikit-image's astronaut (her face moving a little from frame
to frame) or its coffee cup (no face), optionally with a sine tone as sound, a rotation a phone would store,
or a variable frame rate. The other video tests import it from here.
"""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from photo_samples import astronaut_bgr, coffee_bgr

from codeformer_app.video import VIDEO_SUFFIXES, is_video_name, video_output_path
from codeformer_app.video.encoding import to_stored
from codeformer_app.video.probe import VideoError, probe_video

#: Small frames keep the tests quick on two shared cores; the astronaut's face is then about 90 px tall.
CLIP_SIZE = (256, 192)
TONE_HZ = 440.0
AUDIO_RATE = 16000
#: FFmpeg's enum values for BT.709 (matrix, primaries, transfer) and for limited ("TV") range.
BT709 = 1
LIMITED_RANGE = 1
#: The astronaut's head and shoulders (x0, y0, x1, y1 in the 512x512 photo), 4:3 like the clip.
ASTRONAUT_VIEW = (70, 0, 390, 240)


def scene(index: int, size: tuple[int, int] = CLIP_SIZE, face: bool = True, still: bool = False) -> np.ndarray:
    """Frame ``index``: the astronaut drifting a few pixels (or held still), or the coffee cup (no face)."""
    width, height = size
    if not face:
        return cv2.resize(coffee_bgr(), (width, height), interpolation=cv2.INTER_AREA)
    x0, y0, x1, y1 = ASTRONAUT_VIEW
    dx = 0 if still else round(6 * np.sin(index / 4.0))
    dy = 0 if still else round(3 * np.cos(index / 5.0))
    view = astronaut_bgr()[y0 + 8 + dy : y1 + 8 + dy, x0 + 8 + dx : x1 + 8 + dx]
    return cv2.resize(view, (width, height), interpolation=cv2.INTER_AREA)


def make_clip(
    path: Path,
    frames: int = 12,
    fps: int = 10,
    size: tuple[int, int] = CLIP_SIZE,
    sound: bool = True,
    face: bool = True,
    rotation: int = 0,
    frame_times: list[float] | None = None,
    still: bool = False,
    noise: float = 0.0,
    video_codec: str = "libx264",
    audio_codec: str = "aac",
    crf: int | None = None,
    bt709: bool = False,
) -> Path:
    """Write a test clip; ``rotation`` stores the frames turned and says so in the display matrix, as phones
    do; ``frame_times`` (seconds) gives a variable frame rate; ``noise`` adds seeded sensor-like noise, which
    survives the encoding with a low ``crf`` (x264's quality; 0 is lossless); ``bt709`` tags the colours as HD
    video does."""
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w") as container:
        options = {"crf": str(crf)} if crf is not None else {}
        stream = container.add_stream(video_codec, rate=fps, options=options)
        upright_w, upright_h = size
        stream.width, stream.height = (upright_h, upright_w) if rotation in (90, 270) else (upright_w, upright_h)
        stream.pix_fmt = "yuv420p"
        if bt709:
            context = stream.codec_context
            context.colorspace = context.color_primaries = context.color_trc = BT709
            context.color_range = LIMITED_RANGE
        time_base = Fraction(1, 1000) if frame_times is not None else Fraction(1, fps)
        stream.time_base = stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        audio = container.add_stream(audio_codec, rate=AUDIO_RATE, layout="mono") if sound else None
        for index in range(frames):
            image = scene(index, size, face, still)
            if noise:
                image = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(to_stored(image, rotation), format="bgr24")
            seconds = frame_times[index] if frame_times is not None else index / fps
            frame.pts, frame.time_base = round(seconds / time_base), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            length = frame_times[-1] + 0.1 if frame_times is not None else frames / fps
            _write_tone(container, audio, length)
    return path


def _write_tone(container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float) -> None:
    samples = np.sin(2 * np.pi * TONE_HZ * np.arange(round(seconds * AUDIO_RATE)) / AUDIO_RATE) * 0.3
    chunk = 1024
    for start in range(0, len(samples), chunk):
        piece = samples[start : start + chunk].astype(np.float32)[None, :]
        if stream.codec_context.name.startswith("pcm"):
            piece = (piece * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
        else:
            frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def decode_all(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame (8-bit BGR, stored orientation) and its time: the file plays to the end."""
    images, times = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            images.append(frame.to_ndarray(format="bgr24"))
            times.append(float(frame.time))
    return images, times


def test_probe_reads_size_rate_frames_duration_and_sound(tmp_path: Path) -> None:
    info = probe_video(make_clip(tmp_path / "clip.mp4", frames=12, fps=10))
    assert (info.width, info.height, info.rotation) == (*CLIP_SIZE, 0)
    assert info.frame_rate == 10 and info.frame_count == 12
    assert info.duration == pytest.approx(1.2, abs=0.01)
    assert not info.variable_frame_rate
    assert info.audio is not None and info.audio.codec == "aac" and info.audio.sample_rate == AUDIO_RATE


def test_probe_reads_the_colour_tags(tmp_path: Path) -> None:
    colour = probe_video(make_clip(tmp_path / "hd.mp4", frames=3, bt709=True)).colour
    assert (colour.colorspace, colour.color_primaries, colour.color_trc) == (BT709, BT709, BT709)
    assert colour.color_range == LIMITED_RANGE


def test_probe_without_sound(tmp_path: Path) -> None:
    assert probe_video(make_clip(tmp_path / "silent.mkv", sound=False)).audio is None


def test_probe_reads_a_phone_rotation(tmp_path: Path) -> None:
    info = probe_video(make_clip(tmp_path / "phone.mp4", rotation=270))
    assert info.rotation == 270
    assert (info.width, info.height) == (CLIP_SIZE[1], CLIP_SIZE[0])
    assert info.upright_size == CLIP_SIZE


def test_probe_sees_a_variable_frame_rate(tmp_path: Path) -> None:
    times = [0.0, 0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.65, 0.7]
    info = probe_video(make_clip(tmp_path / "vfr.mkv", frames=len(times), frame_times=times))
    assert info.variable_frame_rate and info.frame_count == len(times)
    assert info.duration == pytest.approx(0.75, abs=0.06)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.mp4", b"these are not the frames you are looking for\n" * 20, "not a video"),
        ("empty.mov", b"", "empty"),
    ],
)
def test_non_video_names_the_file(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VideoError, match=reason) as caught:
        probe_video(path)
    assert str(path) in str(caught.value)


def test_a_photo_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), scene(0))
    with pytest.raises(VideoError, match="still image") as caught:
        probe_video(path)
    assert str(path) in str(caught.value)


def test_truncated_video_names_the_file(tmp_path: Path) -> None:
    whole = make_clip(tmp_path / "whole.mp4").read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])  # the index (moov) is written last: half a file has none
    with pytest.raises(VideoError) as caught:
        probe_video(path)
    assert str(path) in str(caught.value)


def test_video_names() -> None:
    assert {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"} <= VIDEO_SUFFIXES
    assert is_video_name(Path("Holiday 1987.MOV")) and not is_video_name(Path("photo.jpg"))
    assert not is_video_name(Path(".clip.mp4.abc.part"))
    assert video_output_path(Path("in/clip.avi"), Path("out")) == Path("out/clip.mp4")
    assert video_output_path(Path("clip.avi"), Path("out"), "mkv") == Path("out/clip.mkv")
    with pytest.raises(ValueError, match="unknown video format"):
        video_output_path(Path("clip.avi"), Path("out"), "gif")


def test_the_package_imports_neither_pyav_nor_torch() -> None:
    """``is_video_name`` serves argument parsing and folder scans, which must stay fast."""
    code = "import sys, codeformer_app.video; print('av' in sys.modules, 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
