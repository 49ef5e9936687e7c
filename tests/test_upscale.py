"""Background upscaling: Lanczos for any image, Real-ESRGAN x2 in seamless, cancellable tiles."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from codeformer_app.compat import import_basicsr
from codeformer_app.errors import WeightsError
from codeformer_app.networks.realesrgan.load import OFFICIAL_RRDBNET_CONFIG, describe_rrdbnet
from codeformer_app.pipeline.upscale import (
    UPSCALE_FACTORS,
    RealEsrganX2,
    UpscaleCancelled,
    load_realesrgan_x2,
    upscale_alpha,
    upscale_image,
)
from codeformer_app.weights import DEFAULT_REGISTRY, import_weights, weights_dir

#: A small RRDBNet (same layers, fewer and narrower) so tiling tests run in well under a second each.
SMALL_RRDBNET = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 16, "num_block": 2, "num_grow_ch": 8}
#: Largest difference (8-bit levels) allowed between tiled and untiled results: the context padding cuts
#: only weak far-away contributions.
TILE_SEAM_TOLERANCE = 2


#: Gain on the small network's last layer and the bias it gets: the random network's output is otherwise a
#: faint +-0.05 around 0, which clips to black and would make every comparison below pass trivially.
OUTPUT_GAIN = 8.0
OUTPUT_BIAS = 0.5


def rrdbnet_state_dict(config: dict[str, int], scale: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return import_basicsr("archs.rrdbnet_arch").RRDBNet(**config, scale=scale).state_dict()


@pytest.fixture(scope="module")
def small_weights() -> dict[str, torch.Tensor]:
    """A seeded small x2 network whose output spans most of [0, 1]."""
    weights = rrdbnet_state_dict(SMALL_RRDBNET)
    weights["conv_last.weight"] *= OUTPUT_GAIN
    weights["conv_last.bias"].fill_(OUTPUT_BIAS)
    return weights


@pytest.fixture(scope="module")
def official_size_weights() -> dict[str, torch.Tensor]:
    """The official x2plus architecture (23 blocks, 16.7 M parameters) with seeded random weights."""
    return rrdbnet_state_dict(asdict(OFFICIAL_RRDBNET_CONFIG))


def spread(image: np.ndarray) -> float:
    """Standard deviation in units of the dtype's full range."""
    return float(image.std() / np.iinfo(image.dtype).max)


def photo_like(height: int, width: int, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """Smooth random colours with some texture: something a photo could be, in ``dtype``'s full range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(5 * xx + c) * np.cos(3 * yy - c) for c in range(3)], axis=-1) * 0.4 + 0.5
    noisy = np.clip(base + rng.normal(0.0, 0.03, base.shape), 0.0, 1.0)
    return np.rint(noisy * np.iinfo(dtype).max).astype(dtype)


# --- Lanczos -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", UPSCALE_FACTORS)
@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((21, 34, 3), np.uint8), ((21, 34, 3), np.uint16), ((21, 34), np.uint8), ((21, 34, 4), np.uint16)],
)
def test_lanczos_gives_the_exact_multiple_size_and_keeps_the_dtype(factor: int, shape: tuple, dtype: type) -> None:
    image = np.zeros(shape, dtype)
    result = upscale_image(image, factor)
    assert result.shape == (21 * factor, 34 * factor, *shape[2:])
    assert result.dtype == dtype


def test_factor_one_returns_the_image_itself() -> None:
    image = photo_like(20, 30)
    assert upscale_image(image, 1) is image
    assert upscale_image(image, 1, esrgan=object()) is image  # type: ignore[arg-type]  # the network is not run


def test_unknown_factor_is_refused() -> None:
    with pytest.raises(ValueError, match="one of"):
        upscale_image(photo_like(8, 8), 5)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_a_smooth_gradient_stays_on_the_scaled_gradient(factor: int) -> None:
    """Away from the edges, Lanczos reproduces a linear ramp sampled at the enlarged pixel centres."""
    height, width, start, step = 16, 40, 5000.0, 1000.0
    ramp = start + step * np.arange(width, dtype=np.float64)
    image = np.repeat(np.rint(ramp)[None, :, None], height, axis=0).repeat(3, axis=2).astype(np.uint16)
    result = upscale_image(image, factor).astype(np.float64)
    source_x = (np.arange(width * factor) + 0.5) / factor - 0.5  # enlarged pixel centre in source pixels
    expected = start + step * source_x
    margin = 4 * factor  # Lanczos-4 reaches 4 source pixels; the edges are clamped
    interior = slice(margin, width * factor - margin)
    np.testing.assert_allclose(
        result[:, interior, 1],
        np.broadcast_to(expected[interior], (height * factor, width * factor - 2 * margin)),
        atol=0.02 * step,
    )


def test_alpha_is_enlarged_and_clipped_to_its_range() -> None:
    alpha = np.zeros((20, 20), np.uint8)
    alpha[4:16, 4:16] = 255  # hard edges: Lanczos rings past 0 and 255 next to them
    result = upscale_alpha(alpha, 3)
    assert result.shape == (60, 60) and result.dtype == np.uint8
    assert result[30, 30] == 255 and result[0, 0] == 0
    assert result[:, 30].min() == 0  # undershoot clipped to 0, not wrapped round to a bright value
    unit = alpha.astype(np.float32) / 255.0
    assert cv2.resize(unit, (80, 80), interpolation=cv2.INTER_LANCZOS4).min() < 0.0  # the ringing is real
    soft = upscale_alpha(unit, 4)
    assert soft.shape == (80, 80) and soft.dtype == np.float32
    assert soft.min() == 0.0 and soft.max() == 1.0


# --- Real-ESRGAN x2 ------------------------------------------------------------------------------------------


def test_describe_reads_the_official_config_and_refuses_an_x4_model(official_size_weights: dict) -> None:
    assert describe_rrdbnet(official_size_weights) == OFFICIAL_RRDBNET_CONFIG
    with pytest.raises(WeightsError, match="x4 model"):
        describe_rrdbnet(rrdbnet_state_dict(SMALL_RRDBNET, scale=4))
    with pytest.raises(WeightsError, match="not a Real-ESRGAN"):
        describe_rrdbnet({"weight": torch.zeros(1)})


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_network_output_is_twice_the_size_in_the_same_dtype(small_weights: dict, dtype: type) -> None:
    result = RealEsrganX2(small_weights).upscale(photo_like(24, 30, dtype))
    assert result.shape == (48, 60, 3) and result.dtype == dtype
    assert spread(result) > 0.1  # a picture, not a clipped constant


@pytest.mark.parametrize(("height", "width"), [(80, 96), (45, 37)])
def test_tiled_output_matches_the_untiled_output(small_weights: dict, height: int, width: int) -> None:
    image = photo_like(height, width)
    whole = RealEsrganX2(small_weights, tile=0).upscale(image)
    tiled = RealEsrganX2(small_weights, tile=32, tile_pad=8).upscale(image)
    assert tiled.shape == whole.shape == (2 * height, 2 * width, 3)
    assert spread(whole) > 0.1
    difference = np.abs(tiled.astype(np.int16) - whole.astype(np.int16))
    assert difference.max() <= TILE_SEAM_TOLERANCE
    assert difference.mean() < 0.05


def test_sixteen_bit_photos_keep_sixteen_bit_precision(small_weights: dict) -> None:
    """The network sees the same picture in both depths, and the 16-bit result is not 8-bit in disguise."""
    upscaler = RealEsrganX2(small_weights)
    image8 = photo_like(24, 24)
    result8 = upscaler.upscale(image8).astype(np.float64)
    result16 = upscaler.upscale(image8.astype(np.uint16) * 257).astype(np.float64)
    np.testing.assert_allclose(result16 / 257.0, result8, atol=0.51)
    assert np.count_nonzero(result16 % 257) > result16.size // 2


def test_progress_counts_every_tile(small_weights: dict) -> None:
    calls: list[tuple[int, int]] = []
    RealEsrganX2(small_weights, tile=16, tile_pad=4).upscale(
        photo_like(40, 33), progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(done, 9) for done in range(1, 10)]  # 3 x 3 tiles


def test_cancel_stops_between_tiles(small_weights: dict) -> None:
    done: list[int] = []
    with pytest.raises(UpscaleCancelled, match="cancelled"):
        RealEsrganX2(small_weights, tile=16, tile_pad=4).upscale(
            photo_like(40, 40), progress=lambda d, _t: done.append(d), cancelled=lambda: len(done) >= 2
        )
    assert done == [1, 2]


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_network_path_with_alpha_and_larger_factors(small_weights: dict, factor: int) -> None:
    image = np.dstack((photo_like(14, 18), np.full((14, 18), 200, np.uint8)))
    result = upscale_image(image, factor, RealEsrganX2(small_weights))
    assert result.shape == (14 * factor, 18 * factor, 4) and result.dtype == np.uint8
    assert np.all(result[:, :, 3] == 200)


def test_single_channel_images_use_lanczos_even_with_the_network(small_weights: dict) -> None:
    grey = photo_like(10, 12)[:, :, 0]
    np.testing.assert_array_equal(upscale_image(grey, 2, RealEsrganX2(small_weights)), upscale_image(grey, 2))


def test_loader_returns_none_without_weights_and_the_network_once_installed(
    tmp_path: Path, official_size_weights: dict
) -> None:
    """Full-size official architecture with random weights, installed like a user's file, on a small input."""
    assert load_realesrgan_x2() is None
    source = tmp_path / "RealESRGAN_x2plus.pth"
    torch.save({"params_ema": official_size_weights}, source)
    import_weights(source, weights_dir(), registry=DEFAULT_REGISTRY, name="realesrgan-x2", force=True)
    upscaler = load_realesrgan_x2()
    assert isinstance(upscaler, RealEsrganX2)
    result = upscaler.upscale(photo_like(64, 64))
    assert result.shape == (128, 128, 3) and result.dtype == np.uint8


def test_installed_weights_of_another_network_are_an_error_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "RealESRGAN_x2plus.pth"
    torch.save(rrdbnet_state_dict(SMALL_RRDBNET, scale=4), source)
    import_weights(source, weights_dir(), registry=DEFAULT_REGISTRY, name="realesrgan-x2", force=True)
    with pytest.raises(WeightsError, match=r"RealESRGAN_x2plus\.safetensors.*x4 model"):
        load_realesrgan_x2()


def test_weights_that_do_not_fit_are_refused(small_weights: dict) -> None:
    broken = dict(small_weights)
    del broken["conv_hr.weight"]
    with pytest.raises(
        WeightsError, match=r"does not match the Real-ESRGAN x2 network: 1 missing keys: conv_hr\.weight"
    ):
        RealEsrganX2(broken)


def test_face_upsample_enlarges_big_faces_with_the_network_and_touches_nothing_else(small_weights: dict) -> None:
    """The official --face_upsample: a face larger than its crop in the output is enlarged by Real-ESRGAN."""
    from model_helpers import TINY_CONFIG, make_model
    from photo_samples import astronaut_bgr

    from codeformer_app.detection import create_detector
    from codeformer_app.imaging import photo_from_pixels
    from codeformer_app.pipeline.face_upsample import needs_upsampling, size_in_output
    from codeformer_app.pipeline.photo import ComposeOptions, analyse_photo, compose, render_faces

    analysed = analyse_photo(photo_from_pixels(astronaut_bgr()), make_model(TINY_CONFIG), create_detector("mtcnn"))
    face = analysed.faces[0]
    assert size_in_output(face.alignment, 2.0) == pytest.approx(2 * size_in_output(face.alignment, 1.0))
    assert needs_upsampling(face.alignment, 2.0), "a 32 px crop of a ~150 px face is stretched in the output"
    restored = render_faces(analysed, 0.5)
    upscaler = RealEsrganX2(small_weights)
    plain, _ = compose(analysed, restored, ComposeOptions(upscale=2), upscaler)
    sharp, _ = compose(analysed, restored, ComposeOptions(upscale=2, face_upsample=True), upscaler)
    differs = (plain != sharp).any(axis=2)
    assert differs.any(), "the face is pasted from the network-enlarged crop"
    ys, xs = np.nonzero(differs)
    x0, y0, x1, y1 = (2 * v for v in face.detected.box)
    margin = 0.6 * (x1 - x0)
    assert xs.min() > x0 - margin and xs.max() < x1 + margin and ys.min() > y0 - margin and ys.max() < y1 + margin
