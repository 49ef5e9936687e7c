"""NNPACK called directly (``networks/codeformer/nnpack.py``) against PyTorch's exact convolution.

The fast path depends on reaching NNPACK inside PyTorch's library; these tests fail, rather than skip, when the
pinned PyTorch stops exporting it, so that the slowdown cannot pass unnoticed.
"""

from __future__ import annotations

import os
import threading

import pytest
import torch
import torch.nn.functional as F

from codeformer_app.networks.codeformer import nnpack, runtime

#: FFT and Winograd convolutions differ from direct ones by a few 1e-5 of the signal's largest value.
RELATIVE_TOLERANCE = 1e-4


def _randn(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _assert_close(fast: torch.Tensor, exact: torch.Tensor) -> None:
    assert fast.shape == exact.shape
    diff = (fast - exact).abs().max().item()
    assert diff <= RELATIVE_TOLERANCE * exact.abs().max().item(), f"max abs difference {diff:.2e}"


def test_nnpack_is_reachable_in_the_pinned_pytorch() -> None:
    assert nnpack.available()


@pytest.mark.parametrize("algorithm", list(nnpack.Algorithm))
def test_both_algorithms_match_the_exact_convolution_with_any_padding_and_batch(algorithm) -> None:
    x = _randn(3, 16, 40, 37, seed=1)  # odd sizes: partial tiles at the right and bottom
    weight = _randn(24, 16, 3, 3, seed=2, scale=0.1)
    bias = _randn(24, seed=3)
    with torch.inference_mode():
        _assert_close(nnpack.convolve(x, weight, bias, (1, 1, 1, 1), algorithm), F.conv2d(x, weight, bias, padding=1))
        # strips: rows of context instead of padding above and below
        exact = F.conv2d(F.pad(x, (1, 1, 0, 0)), weight, bias)
        _assert_close(nnpack.convolve(x, weight, bias, (0, 1, 0, 1), algorithm), exact)
        no_bias = nnpack.convolve(x, weight, None, (1, 1, 1, 1), algorithm)
        _assert_close(no_bias, F.conv2d(x, weight, None, padding=1))


def test_the_fft_algorithm_is_chosen_for_wide_maps_with_few_output_channels() -> None:
    assert runtime.nnpack_algorithm(64, 512, 512) is nnpack.Algorithm.FFT_16X16
    assert runtime.nnpack_algorithm(128, 512, 512) is nnpack.Algorithm.WINOGRAD_8X8
    assert runtime.nnpack_algorithm(64, 256, 256) is nnpack.Algorithm.WINOGRAD_8X8


def test_a_wide_map_runs_as_fft_through_the_fast_path_and_matches() -> None:
    x = _randn(1, 16, 512, 512, seed=4)
    weight = _randn(16, 16, 3, 3, seed=5, scale=0.1)
    bias = _randn(16, seed=6)
    with torch.inference_mode():
        fast = runtime.winograd_conv3x3(runtime.SiluInput(x.clone()), weight, bias)
        exact = F.conv2d(F.silu(x), weight, bias, padding=1)
    _assert_close(fast, exact)


def test_concurrent_convolutions_share_the_workspace_safely() -> None:
    """Two threads (the window's engine and a second task) convolving at once must not corrupt each other."""
    cases = [(_randn(1, 16, 64, 64, seed=10 + i), _randn(16, 16, 3, 3, seed=20 + i, scale=0.1)) for i in range(2)]
    exact = [F.conv2d(x, w, None, padding=1) for x, w in cases]
    failures: list[str] = []

    def work(index: int) -> None:
        x, weight = cases[index]
        with torch.inference_mode():
            for _ in range(20):
                out = nnpack.convolve(x, weight, None, (1, 1, 1, 1), nnpack.Algorithm.WINOGRAD_8X8)
                if (out - exact[index]).abs().max() > 1e-3:
                    failures.append(f"thread {index}")
                    return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_nnpack_refusing_a_convolution_raises_a_clear_error() -> None:
    x = torch.zeros(1, 0, 8, 8)  # no input channels: NNPACK rejects the arguments
    with pytest.raises(nnpack.NnpackError, match="status"):
        nnpack.convolve(x, torch.zeros(4, 0, 3, 3), None, (1, 1, 1, 1), nnpack.Algorithm.WINOGRAD_8X8)


def test_without_direct_nnpack_the_fast_path_falls_back_to_pytorchs_operator(monkeypatch) -> None:
    monkeypatch.setattr(nnpack, "available", lambda: False)
    monkeypatch.setattr(runtime, "WINOGRAD_STRIP_BYTES", 16 * 48 * 4 * 9)  # strips of 9 rows
    x = _randn(2, 16, 70, 48, seed=7)
    weight = _randn(8, 16, 3, 3, seed=8, scale=0.1)
    bias = _randn(8, seed=9)
    with torch.inference_mode():
        fallback = runtime.winograd_conv3x3(x, weight, bias)
    _assert_close(fallback, F.conv2d(x, weight, bias, padding=1))


def test_a_transformed_kernel_gives_the_same_convolution() -> None:
    x = _randn(2, 32, 64, 64, seed=11)
    weight = _randn(48, 32, 3, 3, seed=12, scale=0.1)
    bias = _randn(48, seed=13)
    with torch.inference_mode():
        for algorithm in nnpack.Algorithm:
            transformed = nnpack.transform_kernel(weight, algorithm)
            kept = nnpack.convolve(x, weight, bias, (1, 1, 1, 1), algorithm, transformed)
            assert torch.equal(kept, nnpack.convolve(x, weight, bias, (1, 1, 1, 1), algorithm))
            _assert_close(kept, F.conv2d(x, weight, bias, padding=1))


def test_kept_transforms_follow_the_kernel() -> None:
    """Reused for the same kernel; made again after an in-place change, for another tensor or algorithm."""
    keeper = runtime.KernelTransforms()
    weight = _randn(16, 16, 3, 3, seed=14)
    first = keeper.get(weight, nnpack.Algorithm.WINOGRAD_8X8)
    assert keeper.get(weight, nnpack.Algorithm.WINOGRAD_8X8) is first
    with torch.no_grad():
        weight.mul_(2.0)  # what load_state_dict does: an in-place copy
    second = keeper.get(weight, nnpack.Algorithm.WINOGRAD_8X8)
    assert second is not first and torch.allclose(second[: first.numel() - 1], 2 * first[: first.numel() - 1])
    assert keeper.get(weight.clone(), nnpack.Algorithm.WINOGRAD_8X8) is not second
    assert keeper.get(weight, nnpack.Algorithm.FFT_16X16).numel() != second.numel()


def test_conv_modules_keep_their_transform_only_on_the_maps_where_it_pays(monkeypatch) -> None:
    from codeformer_app.networks.codeformer.layers import conv3x3

    made: list[tuple[int, ...]] = []
    transform = nnpack.transform_kernel
    monkeypatch.setattr(nnpack, "transform_kernel", lambda w, a: made.append(tuple(w.shape)) or transform(w, a))
    conv = conv3x3(16, 16).eval()
    with torch.inference_mode(), runtime.inference(runtime.Precision.FAST, torch.device("cpu")):
        for side in (32, 64, 64, 128):
            x = _randn(1, 16, side, side, seed=side)
            _assert_close(conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1))
    assert made == [(16, 16, 3, 3)]  # once, for the 64 x 64 maps, and reused by the second one


def test_kept_transforms_follow_a_swapped_storage() -> None:
    """``module.to(...)`` and ``param.data = ...`` swap a parameter's storage without a version bump."""
    keeper = runtime.KernelTransforms()
    weight = torch.nn.Parameter(_randn(16, 16, 3, 3, seed=15))
    first = keeper.get(weight, nnpack.Algorithm.WINOGRAD_8X8)
    weight.data = 3.0 * weight.data
    assert keeper.get(weight, nnpack.Algorithm.WINOGRAD_8X8) is not first


def test_a_forked_process_gets_its_own_thread_pool(monkeypatch) -> None:
    """A child of ``fork`` inherits the pool's handle but none of its threads; reusing it would hang."""
    api = nnpack._api()
    assert api is not None
    parent_pool = api.pool()
    assert api.pool() == parent_pool
    child_pid = os.getpid() + 1
    monkeypatch.setattr(os, "getpid", lambda: child_pid)
    assert api.pool() != parent_pool
    x, weight = _randn(1, 16, 40, 40, seed=16), _randn(8, 16, 3, 3, seed=17, scale=0.1)
    with torch.inference_mode():
        out = nnpack.convolve(x, weight, None, (1, 1, 1, 1), nnpack.Algorithm.WINOGRAD_8X8)
    _assert_close(out, F.conv2d(x, weight, None, padding=1))
