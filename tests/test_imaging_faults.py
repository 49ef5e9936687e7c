"""Bad input and failing disks: one clear error naming the file and the reason, no partial or temporary file
left behind, and the input never touched.

Where the operating system cannot be made to fail for real (tests often run as root, whom chmod does not
stop), the OS call itself is replaced for that one path: a test double of the OS, not of the code under test.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import time
import warnings
from pathlib import Path

import image_factory as factory
import numpy as np
import pytest
from PIL import Image

from codeformer_app.errors import CodeFormerAppError
from codeformer_app.imaging import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    ImageWriteError,
    read_photo,
    write_photo,
)

#: A header-only bomb must be refused at once; decoding it would take seconds and gigabytes.
BOMB_REFUSAL_SECONDS = 1.0


def read_error(path: Path, **kwargs) -> str:
    with pytest.raises(ImageReadError) as caught:
        read_photo(path, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert isinstance(caught.value, CodeFormerAppError) and caught.value.path == path
    return message


def write_error(path: Path, photo) -> str:
    with pytest.raises(ImageWriteError) as caught:
        write_photo(path, photo.color, photo.alpha, photo.info)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder)) if folder.is_dir() else []


@pytest.fixture
def photo(tmp_path: Path):
    return read_photo(factory.save_pillow(tmp_path / "source" / "a.png", factory.astronaut()))


# --- files that are not (whole) images --------------------------------------------------------------------


def test_zero_byte_file(tmp_path: Path) -> None:
    assert "empty (0 bytes)" in read_error(factory.write_bytes(tmp_path / "empty.jpg", b""))


def test_text_file_renamed_jpg(tmp_path: Path) -> None:
    path = factory.write_bytes(tmp_path / "notes.jpg", b"Grandma's birthday: 14 July\n" * 20)
    assert "not an image file" in read_error(path)


def test_folder_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "album.jpg").mkdir()
    assert "folder, not an image" in read_error(tmp_path / "album.jpg")
    assert "does not exist" in read_error(tmp_path / "gone.jpg")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    assert "not a regular file" in read_error(tmp_path / "pipe.jpg")


def test_unsupported_format(tmp_path: Path) -> None:
    path = factory.save_pillow(tmp_path / "anim.gif", factory.astronaut())
    message = read_error(path)
    assert "GIF images are not supported" in message and "JPEG" in message


def test_unsupported_tiff_layout(tmp_path: Path) -> None:
    grey_alpha = np.zeros((32, 32, 2), np.uint16)
    path = factory.save_tiff(tmp_path / "ga16.tif", grey_alpha, photometric="minisblack", extrasamples=["unassalpha"])
    assert "TIFF whose pixel layout" in read_error(path)
    floats = factory.save_tiff(tmp_path / "float.tif", np.zeros((32, 32), np.float32), photometric="minisblack")
    assert "floating-point" in read_error(floats) or "TIFF whose pixel layout" in read_error(floats)


@pytest.mark.parametrize(
    "name",
    ["a.jpg", "a.png", "a16.png", "a.tif", "a16.tif", "a.webp", "a.bmp"],
)
def test_truncated_files(tmp_path: Path, name: str) -> None:
    """A copy cut short is refused, never processed half grey (Pillow's LOAD_TRUNCATED_IMAGES stays off)."""
    rgb = factory.astronaut(192, 128)
    if name == "a16.png":
        source = factory.save_png_opencv(tmp_path / "full" / name, factory.to16(rgb))
    elif name == "a16.tif":
        source = factory.save_tiff(tmp_path / "full" / name, factory.to16(rgb), compression="zlib")
    else:
        source = factory.save_pillow(tmp_path / "full" / name, rgb)
    path = factory.truncated_copy(source, tmp_path / name)
    assert "incomplete (truncated)" in read_error(path)


def test_damaged_png_data(tmp_path: Path) -> None:
    data = bytearray(factory.save_pillow(tmp_path / "ok.png", factory.astronaut()).read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 40 : idat + 60] = bytes(20)  # the CRC no longer matches
    assert "damaged" in read_error(factory.write_bytes(tmp_path / "bad.png", bytes(data)))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_damaged_tiff_header(tmp_path: Path) -> None:
    data = bytearray(factory.save_tiff(tmp_path / "ok.tif", factory.astronaut()).read_bytes())
    data[4:8] = (10_000_000).to_bytes(4, "little")  # first IFD far beyond the end
    message = read_error(factory.write_bytes(tmp_path / "bad.tif", bytes(data)))
    assert "damaged" in message or "not an image" in message


# --- size limits ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", [factory.bomb_png, factory.bomb_jpeg, factory.bomb_tiff])
def test_decompression_bomb_header_is_refused_before_decoding(tmp_path: Path, maker) -> None:
    path = maker(tmp_path / f"bomb.{maker.__name__[5:]}", 30_000, 30_000)
    assert path.stat().st_size < 2_000
    started = time.perf_counter()
    message = read_error(path)
    assert time.perf_counter() - started < BOMB_REFUSAL_SECONDS
    assert "30000 x 30000 = 900,000,000 pixels" in message and f"{DEFAULT_MAX_PIXELS:,}" in message


def test_the_pixel_limit_is_ours_alone_not_pillows(tmp_path: Path) -> None:
    """Pillow would warn at 89 MP and refuse at 179 MP inside Image.open; only max_pixels applies."""
    assert Image.MAX_IMAGE_PIXELS is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DecompressionBombWarning would fail the test
        message = read_error(factory.bomb_png(tmp_path / "b.png", 12_000, 12_000), max_pixels=100_000_000)
        assert "144,000,000 pixels" in message and "100,000,000" in message
        message = read_error(factory.bomb_png(tmp_path / "c.png", 15_000, 15_000))
        assert "225,000,000" in message and "200,000,000" in message


def test_max_pixels_is_configurable(tmp_path: Path) -> None:
    path = factory.save_pillow(tmp_path / "a.png", factory.astronaut())
    assert "96 x 64 = 6,144 pixels, more than the limit of 6,000" in read_error(path, max_pixels=6_000)
    assert read_photo(path, max_pixels=6_144).info.width == 96


def test_tiny_image(tmp_path: Path) -> None:
    path = factory.save_pillow(tmp_path / "tiny.png", factory.astronaut(12, 40))
    assert "too small: 12 x 40 pixels; at least 16 on each side" in read_error(path)
    assert read_photo(path, min_side=8).info.width == 12


# --- permissions and the input --------------------------------------------------------------------------------


def chmod_stops_us(path: Path) -> bool:
    """False when running as root (or with CAP_DAC_OVERRIDE), where permission bits do not apply."""
    try:
        with open(path, "rb"):
            return False
    except PermissionError:
        return True


def fail_os_open(monkeypatch: pytest.MonkeyPatch, matches, error: OSError) -> None:
    """Make os.open fail with ``error`` for paths where ``matches(path, flags)``: the OS refusing, for real."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if matches(Path(os.fsdecode(path)), flags):
            raise error
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = factory.save_pillow(tmp_path / "secret.png", factory.astronaut())
    path.chmod(0)
    try:
        if not chmod_stops_us(path):
            fail_os_open(monkeypatch, lambda p, _: p == path, PermissionError(errno.EACCES, "Permission denied"))
        assert "permission denied" in read_error(path)
    finally:
        path.chmod(0o644)


def test_the_input_is_only_ever_opened_for_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = factory.save_pillow(tmp_path / "in" / "a.jpg", factory.astronaut(), exif=factory.exif_bytes(6))
    source.chmod(0o444)
    before = (source.read_bytes(), source.stat().st_mtime_ns)
    opened = []
    real_open = os.open

    def spy(path, flags, *args, **kwargs):
        opened.append((Path(os.fsdecode(path)), flags))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    photo = read_photo(source)
    (tmp_path / "out").mkdir()
    for fmt in ("jpg", "png", "tif"):
        target = tmp_path / "out" / f"a.{fmt}"
        write_photo(target, photo.color, photo.alpha, photo.info, fmt)
    monkeypatch.undo()
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    assert [flags & write_flags for path, flags in opened if path == source] == [0]
    assert (source.read_bytes(), source.stat().st_mtime_ns) == before


# --- output folder faults ---------------------------------------------------------------------------------------


def test_read_only_output_folder(tmp_path: Path, photo, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.touch()
            probe.unlink()
            fail_os_open(
                monkeypatch,
                lambda p, flags: p.parent == folder and flags & os.O_CREAT,
                PermissionError(errno.EACCES, "Permission denied"),
            )
        except PermissionError:
            pass  # not root: the folder really is read-only
        message = write_error(folder / "a.png", photo)
        assert "permission denied: the output folder is not writable" in message
        assert leftovers(folder) == []
    finally:
        folder.chmod(0o755)


def test_output_folder_that_is_a_file_or_missing(tmp_path: Path, photo) -> None:
    not_a_folder = factory.write_bytes(tmp_path / "results", b"a file where the folder should be")
    assert "is a file, not a folder" in write_error(not_a_folder / "a.png", photo)
    assert "output folder does not exist" in write_error(tmp_path / "missing" / "a.png", photo)
    assert leftovers(tmp_path) == ["results", "source"]


def test_name_too_long(tmp_path: Path, photo) -> None:
    (tmp_path / "out").mkdir()
    assert "file name is too long" in write_error(tmp_path / "out" / ("x" * 300 + ".png"), photo)
    assert leftovers(tmp_path / "out") == []


def test_disk_full_midway_leaves_nothing(tmp_path: Path, photo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills up after part of the file is written (os.write fails with ENOSPC, as the OS would)."""
    folder = tmp_path / "out"
    folder.mkdir()
    factory.write_bytes(folder / "a.png", b"previous result")
    real_write = os.write
    calls = []

    def write_then_fill_up(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(os, "write", write_then_fill_up)
    message = write_error(folder / "a.png", photo)
    monkeypatch.undo()
    assert "the disk is full" in message and len(calls) == 2
    assert leftovers(folder) == ["a.png"] and (folder / "a.png").read_bytes() == b"previous result"


def test_fsync_failure_leaves_nothing(tmp_path: Path, photo, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "out"
    folder.mkdir()

    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    message = write_error(folder / "a.png", photo)
    monkeypatch.undo()
    assert "input/output error" in message and leftovers(folder) == []


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="file size limits are POSIX")
def test_file_size_limit_of_the_os_leaves_nothing(tmp_path: Path, photo) -> None:
    """A real OS refusal, no test double: the process may not write files larger than 1 kB (RLIMIT_FSIZE)."""
    folder = tmp_path / "out"
    folder.mkdir()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
        with pytest.raises(ImageWriteError) as caught:
            write_photo(folder / "a.png", photo.color, photo.alpha, photo.info)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert "too large" in str(caught.value) and str(folder / "a.png") in str(caught.value)
    assert leftovers(folder) == []
