"""Our CodeFormer against the reference implementation (spandrel-extra-arches, same code as the official).

Full-size network with seeded, perturbed random weights: the same state dict goes into both.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from model_helpers import perturb_, random_faces

from codeformer_app.networks.codeformer import CodeFormer
from codeformer_app.networks.codeformer.runtime import Precision

pytestmark = pytest.mark.slow  # full-size networks or whole training runs

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the reference uses the deprecated torch.jit.script
    from spandrel_extra_arches.architectures.CodeFormer import CodeFormer as ReferenceCodeFormer

WEIGHTS = (0.0, 0.5, 1.0)
EXACT_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def models() -> tuple[torch.nn.Module, CodeFormer]:
    torch.manual_seed(0)
    reference = perturb_(ReferenceCodeFormer(), seed=1, scale=0.02).eval()
    ours = CodeFormer().eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


def test_state_dict_keys_and_shapes_match(models) -> None:
    reference, ours = models
    ref_sd, our_sd = reference.state_dict(), ours.state_dict()
    assert set(ref_sd) == set(our_sd)
    assert len(our_sd) == 515
    assert all(ref_sd[k].shape == our_sd[k].shape for k in ref_sd)


@pytest.mark.parametrize("batch", [1, 2])
def test_exact_precision_matches_reference(models, batch: int) -> None:
    reference, ours = models
    ours.precision = Precision.EXACT
    faces = random_faces(batch, 512, seed=10 + batch)
    with torch.inference_mode():  # as the pipeline calls the model (without it, autograd keeps every activation)
        encoded = ours.encode(faces)
        for w in WEIGHTS:
            expected = reference(faces, weight=w)[0].clamp(-1, 1)
            got = ours.decode(encoded, w)
            assert got.shape == expected.shape
            diff = (got - expected).abs().max().item()
            assert diff <= EXACT_TOLERANCE, f"w={w}, batch={batch}: max abs difference {diff:.2e}"
            assert torch.equal(ours(faces, w), got), "forward must equal decode(encode(x), w)"


def test_fast_precision_is_visually_identical(models) -> None:
    """Winograd convolutions change the output by less than one 8-bit level, far above 60 dB PSNR; so do the
    window's encodings, which keep the fusion terms (the full-size network is where the low-resolution
    upsampling convolutions run)."""
    reference, ours = models
    ours.precision = Precision.FAST
    faces = random_faces(1, 512, seed=21)
    with torch.inference_mode():  # the fast kernels apply only without autograd, as in the pipeline
        expected = reference(faces, weight=0.7)[0].clamp(-1, 1)
        renders = {
            "one-shot": ours(faces, 0.7),
            "kept terms": ours.decode(ours.encode(faces, keep_fusion_terms=True), 0.7),
        }
    for name, got in renders.items():
        mse = (got - expected).pow(2).mean().item()
        psnr = 10 * math.log10(2.0**2 / mse)  # signal range [-1, 1]
        assert psnr >= 60, (name, psnr)
        assert (got - expected).abs().max().item() <= 1e-3, name
