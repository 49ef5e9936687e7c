"""Training data: the seeded CodeFormer degradation, the face folder, and per-step batches, on real faces."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from train_helpers import TRAINING_FACE_COUNT, aligned_photos, write_training_faces

from codeformer_train.data import (
    MAX_LISTED_FILES,
    Batch,
    StepBatches,
    TrainingDataError,
    batch_loader,
    list_faces,
    read_face,
)
from codeformer_train.degradations import (
    LARGE_DEGRADATION,
    SMALL_DEGRADATION,
    DegradationParams,
    DegradationRanges,
    degrade,
    downsampled_side,
    sample_degradation,
)

FACE_SIZE = 32
#: The astronaut's aligned face at this size for the image-quality checks: big enough for blur to show.
QUALITY_SIZE = 128
BATCH = 4
SEED = 1234
#: Blur only: no downsampling, no noise, the best JPEG.
BLUR_ONLY = DegradationParams(
    isotropic=True, sigma_x=6.0, sigma_y=6.0, theta=0.0, scale=1.0, noise_sigma=0.0, jpeg_quality=100
)


@pytest.fixture(scope="session")
def face_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    write_training_faces(folder, FACE_SIZE)
    return folder


@pytest.fixture(scope="session")
def face_files(face_folder: Path) -> list[Path]:
    return list_faces(face_folder)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The aligned astronaut as float32 BGR in [0, 1]."""
    face = cv2.resize(aligned_photos()[0], (QUALITY_SIZE, QUALITY_SIZE), interpolation=cv2.INTER_AREA)
    return face.astype(np.float32) / 255.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10.0 * math.log10(1.0 / float(np.mean((a.astype(np.float64) - b) ** 2)))


def sharpness(face: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image: falls as an image gets blurrier."""
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def write_image(path: Path, pixels: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(path.suffix, pixels)
    assert ok
    encoded.tofile(path)
    return path


def dataset(files: list[Path], **changes: object) -> StepBatches:
    settings: dict[str, object] = dict(
        files=files,
        img_size=FACE_SIZE,
        batch_size=BATCH,
        seed=SEED,
        degradation=SMALL_DEGRADATION,
        last_step=6,
    )
    settings.update(changes)
    return StepBatches(**settings)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- degradations
def test_same_seed_gives_the_same_params_and_image(astronaut: np.ndarray) -> None:
    first = sample_degradation(LARGE_DEGRADATION, np.random.default_rng(7))
    second = sample_degradation(LARGE_DEGRADATION, np.random.default_rng(7))
    assert first == second
    np.testing.assert_array_equal(degrade(astronaut, first, 41), degrade(astronaut, second, 41))


def test_different_seeds_give_different_params_and_images(astronaut: np.ndarray) -> None:
    first = sample_degradation(SMALL_DEGRADATION, np.random.default_rng(1))
    second = sample_degradation(SMALL_DEGRADATION, np.random.default_rng(2))
    assert first != second
    assert not np.array_equal(degrade(astronaut, first, 41), degrade(astronaut, second, 41))


def test_the_global_numpy_rng_is_never_used(astronaut: np.ndarray) -> None:
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    params = sample_degradation(LARGE_DEGRADATION, np.random.default_rng(3))
    degrade(astronaut, dataclasses.replace(params, noise_sigma=10.0), 41)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("ranges", [LARGE_DEGRADATION, SMALL_DEGRADATION], ids=["large", "small"])
def test_sampled_params_lie_within_the_ranges(ranges: DegradationRanges) -> None:
    rng = np.random.default_rng(0)
    samples = [sample_degradation(ranges, rng) for _ in range(2000)]
    for p in samples:
        assert ranges.blur_sigma[0] <= p.sigma_x <= ranges.blur_sigma[1]
        assert ranges.blur_sigma[0] <= p.sigma_y <= ranges.blur_sigma[1]
        assert -math.pi <= p.theta <= math.pi
        assert ranges.downsample[0] <= p.scale <= ranges.downsample[1]
        assert ranges.noise[0] <= p.noise_sigma <= ranges.noise[1]
        assert ranges.jpeg_quality[0] <= p.jpeg_quality <= ranges.jpeg_quality[1]
        assert isinstance(p.jpeg_quality, int)
        if p.isotropic:
            assert (p.sigma_y, p.theta) == (p.sigma_x, 0.0)
    isotropic_share = sum(p.isotropic for p in samples) / len(samples)
    assert 0.45 < isotropic_share < 0.55
    qualities = {p.jpeg_quality for p in samples}
    assert set(ranges.jpeg_quality) <= qualities  # both ends can be drawn
    scales = [p.scale for p in samples]
    span = ranges.downsample[1] - ranges.downsample[0]
    assert min(scales) < ranges.downsample[0] + 0.05 * span and max(scales) > ranges.downsample[1] - 0.05 * span


def test_degradation_blurs_the_face(astronaut: np.ndarray) -> None:
    blurred = degrade(astronaut, BLUR_ONLY, 41)
    assert blurred.shape == astronaut.shape and blurred.dtype == np.float32
    assert blurred.min() >= 0.0 and blurred.max() <= 1.0
    assert np.abs(blurred - astronaut).mean() > 0.01
    assert sharpness(blurred) < 0.1 * sharpness(astronaut)


def test_anisotropic_blur_follows_its_rotation(astronaut: np.ndarray) -> None:
    """Long along x (theta 0) smears vertical edges more than horizontal ones; theta pi/2 the reverse."""
    along_x = dataclasses.replace(BLUR_ONLY, isotropic=False, sigma_x=6.0, sigma_y=0.5, theta=0.0)
    along_y = dataclasses.replace(along_x, theta=math.pi / 2)

    def edges(face: np.ndarray) -> tuple[float, float]:
        grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
        return float(np.abs(np.diff(grey, axis=1)).mean()), float(np.abs(np.diff(grey, axis=0)).mean())

    x_blur_dx, x_blur_dy = edges(degrade(astronaut, along_x, 41))
    y_blur_dx, y_blur_dy = edges(degrade(astronaut, along_y, 41))
    assert x_blur_dx < x_blur_dy and y_blur_dy < y_blur_dx


def test_large_ranges_degrade_more_than_small_ones(astronaut: np.ndarray) -> None:
    def mean_psnr(ranges: DegradationRanges) -> float:
        rng = np.random.default_rng(5)
        return float(
            np.mean([psnr(degrade(astronaut, sample_degradation(ranges, rng), 41), astronaut) for _ in range(12)])
        )

    large, small = mean_psnr(LARGE_DEGRADATION), mean_psnr(SMALL_DEGRADATION)
    assert large < small - 2.0


def test_tiny_faces_survive_the_strongest_downsampling(face_files: list[Path]) -> None:
    face = read_face(face_files[0], FACE_SIZE)
    assert downsampled_side(FACE_SIZE, 30.0) == 1  # the official int(32 // 30) would be 0
    strongest = dataclasses.replace(
        BLUR_ONLY, scale=30.0, sigma_x=15.0, sigma_y=15.0, noise_sigma=20.0, jpeg_quality=30
    )
    out = degrade(face, strongest, 41)
    assert out.shape == face.shape and np.isfinite(out).all()
    ranges = dataclasses.replace(LARGE_DEGRADATION, downsample=(30.0, 30.0))
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert degrade(face, sample_degradation(ranges, rng), ranges.kernel_size).shape == face.shape


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(kernel_size=40), "odd"),
        (dict(blur_sigma=(5.0, 1.0)), "low <= high"),
        (dict(blur_sigma=(0.0, 1.0)), "positive"),
        (dict(downsample=(0.5, 2.0)), "downsample"),
        (dict(noise=(-1.0, 2.0)), "noise"),
        (dict(jpeg_quality=(50, 101)), "jpeg_quality"),
        (dict(jpeg_quality=(50.0, 60.0)), "integers"),
        (dict(isotropic_probability=1.5), "isotropic_probability"),
        (dict(noise=(0.0, 1.0, 2.0)), "two numbers"),
    ],
)
def test_bad_ranges_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DegradationRanges(**changes)


def test_degrade_refuses_a_non_square_or_integer_face(astronaut: np.ndarray) -> None:
    with pytest.raises(ValueError, match="square"):
        degrade(astronaut[:, :100], BLUR_ONLY, 41)
    with pytest.raises(ValueError, match="float32"):
        degrade((astronaut * 255).astype(np.uint8), BLUR_ONLY, 41)


# --------------------------------------------------------------------------------------------- folder
def test_the_helper_writes_real_aligned_faces(face_folder: Path, face_files: list[Path]) -> None:
    assert len(face_files) == TRAINING_FACE_COUNT
    astronaut = read_face(face_folder / "astronaut.png", FACE_SIZE)
    assert astronaut.shape == (FACE_SIZE, FACE_SIZE, 3)
    assert np.ptp(astronaut) > 0.5  # a photo, not a flat fill


def test_list_faces_finds_nested_files_sorted(tmp_path: Path) -> None:
    face = np.full((8, 8, 3), 100, np.uint8)
    for relative in ("00001/b.png", "00000/z.jpg", "00000/a.PNG", "top.webp", "00001/notes.txt", ".hidden.png"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".txt":
            path.write_text("not a face")
        else:
            write_image(path, face)
    found = [path.relative_to(tmp_path).as_posix() for path in list_faces(tmp_path)]
    assert found == ["00000/a.PNG", "00000/z.jpg", "00001/b.png", "top.webp"]


def test_list_faces_reports_a_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="does not exist") as missing:
        list_faces(tmp_path / "nowhere")
    assert "nowhere" in str(missing.value)
    (tmp_path / "readme.txt").write_text("no faces here")
    with pytest.raises(TrainingDataError, match="no face images") as empty:
        list_faces(tmp_path)
    assert str(tmp_path) in str(empty.value)


def test_list_faces_reports_every_broken_file_by_name(tmp_path: Path) -> None:
    write_image(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not a PNG")
    write_image(tmp_path / "wide.png", np.zeros((8, 12, 3), np.uint8))
    with pytest.raises(TrainingDataError) as error:
        list_faces(tmp_path)
    message = str(error.value)
    assert "3 of 4 image files" in message
    assert "empty.png" in message and "text.png" in message and "wide.png: 12x8 is not square" in message
    assert "good.png" not in message


def test_list_faces_caps_the_listed_files(tmp_path: Path) -> None:
    extra = 3
    for index in range(MAX_LISTED_FILES + extra):
        (tmp_path / f"broken_{index:02d}.jpg").write_bytes(b"\x00" * 10)
    with pytest.raises(TrainingDataError) as error:
        list_faces(tmp_path)
    message = str(error.value)
    assert f"broken_{MAX_LISTED_FILES - 1:02d}.jpg" in message
    assert f"broken_{MAX_LISTED_FILES:02d}.jpg" not in message
    assert f"and {extra} more" in message


# --------------------------------------------------------------------------------------------- reading
def test_read_face_gives_three_channels_for_grey_and_rgba(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    bgra = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    grey16 = rng.integers(0, 65536, (16, 16), dtype=np.uint16)
    from_grey = read_face(write_image(tmp_path / "grey.png", grey), 16)
    from_bgra = read_face(write_image(tmp_path / "bgra.png", bgra), 16)
    from_grey16 = read_face(write_image(tmp_path / "grey16.png", grey16), 16)
    for face in (from_grey, from_bgra, from_grey16):
        assert face.shape == (16, 16, 3) and face.dtype == np.float32
    np.testing.assert_allclose(from_grey[..., 1], grey / 255.0, atol=1e-6)
    np.testing.assert_allclose(from_bgra, bgra[..., :3] / 255.0, atol=1e-6)
    np.testing.assert_allclose(from_grey16[..., 2], grey16 / 65535.0, atol=1e-6)


def test_read_face_resizes_both_ways_and_reads_non_ascii_paths(face_folder: Path, tmp_path: Path) -> None:
    source = read_face(face_folder / "astronaut.png", FACE_SIZE)
    path = write_image(tmp_path / "visage_été.png", np.rint(source * 255).astype(np.uint8))
    assert read_face(path, 16).shape == (16, 16, 3)
    enlarged = read_face(path, 64)
    assert enlarged.shape == (64, 64, 3)
    assert enlarged.min() >= 0.0 and enlarged.max() <= 1.0


def test_read_face_refuses_a_non_square_image_naming_it(tmp_path: Path) -> None:
    path = write_image(tmp_path / "landscape.png", np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(TrainingDataError, match=r"landscape\.png: is 20x10, not square"):
        read_face(path, 16)


def test_read_face_names_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(TrainingDataError, match=r"broken\.jpg: is not an image"):
        read_face(path, 16)
    with pytest.raises(TrainingDataError, match=r"missing\.png: cannot be read"):
        read_face(tmp_path / "missing.png", 16)


# --------------------------------------------------------------------------------------------- batches
def test_batches_have_the_network_layout(face_files: list[Path]) -> None:
    batch = dataset(face_files)[0]
    assert isinstance(batch, Batch) and batch.step == 0
    assert batch.lq is not None
    for tensor in (batch.gt, batch.lq):
        assert tensor.shape == (BATCH, 3, FACE_SIZE, FACE_SIZE) and tensor.dtype == torch.float32
        assert tensor.min() >= -1.0 and tensor.max() <= 1.0
    assert not torch.equal(batch.gt, batch.lq)
    assert batch.gt.min() < -0.5 and batch.gt.max() > 0.5  # real faces span the range


def test_gt_is_rgb_of_the_file(face_folder: Path) -> None:
    """A single colour face: every slot is that face, so the channel order and scaling are checked exactly."""
    astronaut = face_folder / "astronaut.png"
    batch = dataset([astronaut], batch_size=2, hflip=False, degradation=None)[0]
    expected = read_face(astronaut, FACE_SIZE)[..., ::-1].transpose(2, 0, 1) * 2.0 - 1.0
    np.testing.assert_allclose(batch.gt[0].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(batch.gt[1].numpy(), expected, atol=1e-6)


def test_batches_are_a_function_of_seed_and_step(face_files: list[Path]) -> None:
    first, again = dataset(face_files)[3], dataset(face_files)[3]
    torch.testing.assert_close(first.gt, again.gt, rtol=0, atol=0)
    torch.testing.assert_close(first.lq, again.lq, rtol=0, atol=0)
    other_seed = dataset(face_files, seed=SEED + 1)[3]
    assert not torch.equal(first.gt, other_seed.gt)
    assert not torch.equal(first.gt, dataset(face_files)[4].gt)


def test_a_resumed_run_sees_the_same_batches(face_files: list[Path]) -> None:
    whole = dataset(face_files, first_step=0, last_step=6)
    resumed = dataset(face_files, first_step=4, last_step=6)
    assert len(resumed) == 2
    for k in range(len(resumed)):
        expected, got = whole[4 + k], resumed[k]
        assert got.step == expected.step == 4 + k
        torch.testing.assert_close(got.gt, expected.gt, rtol=0, atol=0)
        torch.testing.assert_close(got.lq, expected.lq, rtol=0, atol=0)
    with pytest.raises(IndexError):
        resumed[2]


def test_workers_do_not_change_the_batches(face_files: list[Path]) -> None:
    data = dataset(face_files, first_step=2, last_step=6)
    in_process = list(batch_loader(data, num_workers=0))
    with_workers = list(batch_loader(data, num_workers=2))
    assert [b.step for b in in_process] == [b.step for b in with_workers] == [2, 3, 4, 5]
    for a, b in zip(in_process, with_workers, strict=True):
        assert isinstance(b, Batch)
        torch.testing.assert_close(a.gt, b.gt, rtol=0, atol=0)
        torch.testing.assert_close(a.lq, b.lq, rtol=0, atol=0)


def test_clean_stage_gets_no_lq(face_files: list[Path]) -> None:
    batches = list(batch_loader(dataset(face_files, degradation=None, last_step=2), num_workers=0))
    assert len(batches) == 2 and all(batch.lq is None for batch in batches)


def test_hflip_flips_some_faces_and_keeps_others(face_files: list[Path]) -> None:
    flipped = unflipped = 0
    for step in range(6):
        with_flip = dataset(face_files, degradation=None, hflip=True)[step].gt
        without = dataset(face_files, degradation=None, hflip=False)[step].gt
        for a, b in zip(with_flip, without, strict=True):
            if torch.equal(a, b):
                unflipped += 1
            else:
                torch.testing.assert_close(a, b.flip(-1), rtol=0, atol=0)
                flipped += 1
    assert flipped > 0 and unflipped > 0


def test_few_files_are_drawn_with_replacement(face_files: list[Path]) -> None:
    batch = dataset(face_files[:2], batch_size=5, hflip=False, degradation=None)[0]
    assert batch.gt.shape[0] == 5
    many = dataset(face_files, batch_size=16, hflip=False, degradation=None)[0].gt
    assert len({tuple(face.flatten().tolist()) for face in many}) == 16  # no face twice when there are enough


def test_bad_settings_are_refused(face_files: list[Path]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        dataset([])
    with pytest.raises(ValueError, match="batch_size"):
        dataset(face_files, batch_size=0)
    with pytest.raises(ValueError, match="first_step"):
        dataset(face_files, first_step=5, last_step=3)
    with pytest.raises(ValueError, match="num_workers"):
        batch_loader(dataset(face_files), num_workers=-1)
