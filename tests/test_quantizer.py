"""Codes <-> indices round trips and the straight-through gradient of the nearest-neighbour quantizer."""

from __future__ import annotations

import torch

from codeformer_app.networks.codeformer.vqgan import NearestQuantizer


def make_quantizer(seed: int = 0) -> NearestQuantizer:
    torch.manual_seed(seed)
    quantizer = NearestQuantizer(codebook_size=32, emb_dim=8)
    with torch.no_grad():
        quantizer.embedding.weight.normal_()  # well separated codes
    return quantizer


def test_indices_to_codes_to_indices_is_identity() -> None:
    quantizer = make_quantizer()
    indices = torch.randint(0, 32, (3, 16), generator=torch.Generator().manual_seed(1))
    codes = quantizer.lookup(indices, (4, 4))
    assert codes.shape == (3, 8, 4, 4)
    assert torch.equal(quantizer.nearest_indices(codes), indices)


def test_codes_to_indices_to_codes_snaps_to_the_codebook() -> None:
    quantizer = make_quantizer()
    indices = torch.randint(0, 32, (2, 9), generator=torch.Generator().manual_seed(2))
    exact_codes = quantizer.lookup(indices, (3, 3))
    noisy = exact_codes + 1e-3 * torch.randn(exact_codes.shape, generator=torch.Generator().manual_seed(3))
    recovered = quantizer.lookup(quantizer.nearest_indices(noisy), (3, 3))
    assert torch.equal(recovered, exact_codes)


def test_nearest_index_is_the_closest_code() -> None:
    quantizer = make_quantizer()
    z = torch.randn(1, 8, 2, 5, generator=torch.Generator().manual_seed(4))
    indices = quantizer.nearest_indices(z)
    vectors = z.permute(0, 2, 3, 1).reshape(-1, 8)
    brute_force = torch.cdist(vectors, quantizer.embedding.weight).argmin(dim=1)
    assert torch.equal(indices.reshape(-1), brute_force)


def test_forward_output_straight_through_gradient_and_losses() -> None:
    quantizer = make_quantizer()
    z = torch.randn(2, 8, 3, 3, generator=torch.Generator().manual_seed(5), requires_grad=True)
    out = quantizer(z)
    torch.testing.assert_close(out.quantized.detach(), quantizer.lookup(out.indices, (3, 3)).detach())
    weights = torch.randn(out.quantized.shape, generator=torch.Generator().manual_seed(6))
    (out.quantized * weights).sum().backward()
    assert torch.equal(z.grad, weights), "the gradient must pass straight through to the encoder output"

    codes = quantizer.lookup(out.indices, (3, 3)).detach()
    mse = (codes - z.detach()).pow(2).mean()
    torch.testing.assert_close(out.loss, (1 + quantizer.beta) * mse)
    assert 1.0 <= out.perplexity.item() <= 18.0
