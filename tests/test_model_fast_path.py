"""The fast path's rearranged inference kernels against the plain modules they replace.

Each new code path (strips filled from a computed input, the rearranged CFT modulation, direct convolutions for
few channels) is checked on random tensors at sizes that trigger it; ``Precision.EXACT`` must not use any of them.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from model_helpers import SMALL_CONFIG, make_model, random_faces

from codeformer_app.networks.codeformer import runtime
from codeformer_app.networks.codeformer.fusion import CFTBlock
from codeformer_app.networks.codeformer.layers import ResBlock, Upsample, conv3x3
from codeformer_app.networks.codeformer.runtime import Precision

#: Winograd convolutions differ from direct ones by a few 1e-5 of the signal's largest value per layer.
FAST_RELATIVE_TOLERANCE = 1e-4
CPU = torch.device("cpu")


def _randn(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _perturbed(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(0.1 * torch.randn(param.shape, generator=generator))
    return module.eval()


def _assert_close(fast: torch.Tensor, exact: torch.Tensor, what: object = "") -> None:
    assert fast.shape == exact.shape
    diff = (fast - exact).abs().max().item()
    assert diff <= FAST_RELATIVE_TOLERANCE * exact.abs().max().item(), f"{what}: max abs difference {diff:.2e}"


def _run(module: torch.nn.Module, precision: Precision, *args) -> torch.Tensor:
    with torch.inference_mode(), runtime.inference(precision, CPU):
        return module(*args)


@pytest.fixture
def small_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strips of a few rows even for the small maps of these tests (16 channels x 48 columns: 6 rows)."""
    assert runtime.nnpack_ready()  # also initialises NNPACK, which the direct calls below need
    monkeypatch.setattr(runtime, "WINOGRAD_STRIP_BYTES", 16 * 48 * 4 * 6)


def test_strips_filled_from_computed_inputs_match_the_materialised_input(small_strips) -> None:
    weight = _randn(8, 16, 3, 3, seed=1, scale=0.1)
    bias = _randn(8, seed=2)
    x = _randn(1, 16, 70, 48, seed=3)
    half = _randn(1, 16, 35, 24, seed=4)
    with torch.inference_mode():
        cases = {
            "silu": (runtime.SiluInput(x.clone()), F.silu(x)),
            "upsampled": (runtime.UpsampledInput(half), F.interpolate(half, scale_factor=2.0, mode="nearest")),
        }
        for name, (source, materialised) in cases.items():
            exact = F.conv2d(materialised, weight, bias, padding=1)
            strips = runtime.winograd_conv3x3(source, weight, bias)
            assert (strips - exact).abs().max() < 1e-4, name


def test_resblock_and_upsample_fast_match_plain(small_strips) -> None:
    x = _randn(1, 32, 70, 48, seed=5)
    for module in (_perturbed(ResBlock(32, 32), 6), _perturbed(ResBlock(32, 64), 7)):
        exact = _run(module, Precision.EXACT, x)
        fast = _run(module, Precision.FAST, x)
        _assert_close(fast, exact)
    upsample = _perturbed(Upsample(16), 8)
    half = _randn(1, 16, 35, 24, seed=9)
    exact = _run(upsample, Precision.EXACT, half)
    fast = _run(upsample, Precision.FAST, half)
    assert fast.shape == exact.shape == (1, 16, 70, 48)
    _assert_close(fast, exact)


@pytest.mark.parametrize("batch", [1, 2])
def test_cft_rearranged_modulation_matches_plain(batch: int) -> None:
    block = _perturbed(CFTBlock(32), 10)
    enc = _randn(batch, 32, 40, 40, seed=11)
    dec = _randn(batch, 32, 40, 40, seed=12)
    for w in (0.3, 0.7, 1.0, 0.3):  # back to 0.3: the cached weights follow w
        exact = _run(block, Precision.EXACT, enc, dec, w)
        fast = _run(block, Precision.FAST, enc, dec, w)
        _assert_close(fast, exact, f"w={w}")


def test_cft_cache_follows_loaded_weights() -> None:
    block = _perturbed(CFTBlock(32), 13)
    enc, dec = _randn(1, 32, 40, 40, seed=14), _randn(1, 32, 40, 40, seed=15)
    _run(block, Precision.FAST, enc, dec, 0.5)
    block.load_state_dict(_perturbed(CFTBlock(32), 16).state_dict())
    exact = _run(block, Precision.EXACT, enc, dec, 0.5)
    fast = _run(block, Precision.FAST, enc, dec, 0.5)
    _assert_close(fast, exact)


def test_few_channels_run_direct_even_when_fast() -> None:
    """The last layer (3 outputs) and the first (3 inputs) are cheaper as direct convolutions."""
    x = _randn(1, 16, 64, 64, seed=17)
    with torch.inference_mode(), runtime.inference(Precision.FAST, CPU):
        assert runtime.use_winograd(conv3x3(16, 16), x.shape, x.dtype)
        assert not runtime.use_winograd(conv3x3(16, 3), x.shape, x.dtype)
        assert not runtime.use_winograd(conv3x3(3, 16), (1, 3, 64, 64), x.dtype)


def test_exact_precision_is_the_plain_pytorch_computation() -> None:
    """EXACT decodes bit for bit as the modules do outside the runtime context (plain PyTorch)."""
    model = make_model(SMALL_CONFIG, seed=18)
    model.precision = Precision.EXACT
    faces = random_faces(1, 64, seed=19)
    with torch.inference_mode():
        encoded = model.encode(faces)
        got = model.decode(encoded, 0.6)
        fuse = model._fuse(encoded, 0.6)
        start = model._w_free_generator_stop
        first = {i: r for r, i in model.generator.fusion_points.items()}[start - 1]
        head = fuse(first, encoded.decoder_head)
        plain = model.generator.run(head, start=start, fuse=fuse).clamp(-1.0, 1.0)
    assert torch.equal(got, plain)


@pytest.mark.parametrize(("batch", "height", "width"), [(1, 9, 7), (2, 12, 12)])
def test_subpixel_weights_compute_the_upsampled_convolution_at_low_resolution(batch, height, width) -> None:
    """Direct convolutions on both sides: the rewritten weights alone are checked, to float32 rounding."""
    weight = _randn(6, 5, 3, 3, seed=30)
    bias = _randn(6, seed=31)
    x = _randn(batch, 5, height, width, seed=32)
    upsampled = F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), weight, bias, padding=1)
    low_weight, low_bias = runtime.subpixel_weights(weight, bias)
    assert low_weight.shape == (24, 5, 3, 3)
    low = F.pixel_shuffle(F.conv2d(x, low_weight, low_bias, padding=1), 2)
    assert (low - upsampled).abs().max() < 1e-5


def test_chunked_pixel_shuffle_is_bit_for_bit_pytorchs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "SHUFFLE_CHUNK_BYTES", 3 * 4 * 5 * 7 * 4)  # three channels per chunk
    y = _randn(2, 4 * 8, 5, 7, seed=33)
    assert torch.equal(runtime.pixel_shuffle_2x(y), F.pixel_shuffle(y, 2))


def test_upsample_at_low_resolution_matches_plain_and_follows_loaded_weights(monkeypatch) -> None:
    assert runtime.nnpack_ready()
    monkeypatch.setattr(runtime, "SUBPIXEL_MIN_SIDE", 32)
    upsample = _perturbed(Upsample(16), 34)
    half = _randn(2, 16, 36, 40, seed=35)
    calls: list[torch.Size] = []
    real_subpixel = runtime.subpixel_weights
    monkeypatch.setattr(runtime, "subpixel_weights", lambda w, b: calls.append(w.shape) or real_subpixel(w, b))
    for _ in range(2):
        _assert_close(_run(upsample, Precision.FAST, half), _run(upsample, Precision.EXACT, half))
    assert len(calls) == 1  # the rewritten weights are kept between calls
    upsample.load_state_dict(_perturbed(Upsample(16), 36).state_dict())
    _assert_close(_run(upsample, Precision.FAST, half), _run(upsample, Precision.EXACT, half))
    assert len(calls) == 2
    small = _randn(1, 16, 31, 40, seed=37)  # below the threshold: the upsampled strips, not the rewrite
    _assert_close(_run(upsample, Precision.FAST, small), _run(upsample, Precision.EXACT, small))
    assert len(calls) == 2


@pytest.mark.parametrize("batch", [1, 2])
def test_cft_from_a_kept_encoder_term_and_its_change_match_plain(batch: int) -> None:
    block = _perturbed(CFTBlock(32), 38)
    enc = _randn(batch, 32, 40, 40, seed=39)
    dec = _randn(batch, 32, 40, 40, seed=40)
    with torch.inference_mode(), runtime.inference(Precision.FAST, CPU):
        term = block.encoder_term(enc)
        change = block.change(enc, dec)
    for w in (0.3, 1.0):
        exact = _run(block, Precision.EXACT, enc, dec, w)
        _assert_close(_run(block, Precision.FAST, enc, dec, w, term), exact, f"kept term, w={w}")
        _assert_close(dec + w * change, exact, f"change, w={w}")


def test_kept_fusion_terms_render_as_a_fresh_encoding() -> None:
    """The window's encodings (``keep_fusion_terms``) give the same faces at every w, one by one too."""
    model = make_model(SMALL_CONFIG, seed=41)
    faces = random_faces(2, 64, seed=42)
    with torch.inference_mode():
        plain = model.encode(faces)
        kept = model.encode(faces, keep_fusion_terms=True)
        assert not plain.fusion_terms and plain.head_change is None
        assert set(kept.fusion_terms) == {64} and kept.head_change is not None  # 32 is the head's own fusion
        for w in (0.0, 0.4, 1.0):
            _assert_close(model.decode(kept, w), model.decode(plain, w), f"w={w}")
            _assert_close(model.decode(kept.select(1), w), model.decode(plain.select(1), w), f"face 1, w={w}")
        model.precision = Precision.EXACT
        assert not model.encode(faces, keep_fusion_terms=True).fusion_terms  # exact stays the plain computation
        # a fast encoding decoded exactly (precision changed in between) ignores what the fast path kept
        assert torch.equal(model.decode(kept, 0.4), model.decode(plain, 0.4))
