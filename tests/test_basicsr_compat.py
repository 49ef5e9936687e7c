"""basicsr 1.4.2 imports and works with current torchvision through ``codeformer_app.compat``."""

from __future__ import annotations

import subprocess
import sys

import torch

from codeformer_app.compat import import_basicsr


def test_plain_import_fails_without_the_shim() -> None:
    """Documents the upstream problem; if this starts passing, the shim can go."""
    result = subprocess.run([sys.executable, "-c", "import basicsr"], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "functional_tensor" in result.stderr


def test_rrdbnet_and_degradations_work_through_the_shim() -> None:
    rrdb = import_basicsr("archs.rrdbnet_arch").RRDBNet
    net = rrdb(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=8, scale=2).eval()
    with torch.inference_mode():
        assert net(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)
    degradations = import_basicsr("data.degradations")
    noisy = degradations.random_add_gaussian_noise_pt(torch.rand(2, 3, 8, 8), gray_prob=1.0)
    assert noisy.shape == (2, 3, 8, 8)
