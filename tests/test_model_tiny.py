"""Behaviour of the network API on tiny configurations (fast, CPU)."""

from __future__ import annotations

import pytest
import torch
from model_helpers import SMALL_CONFIG, TINY_CONFIG, make_model, random_faces

from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig
from codeformer_app.networks.codeformer.runtime import Precision


def test_forward_equals_decode_of_encode(tiny_model: CodeFormer) -> None:
    faces = random_faces(2, 32, seed=1)
    for w in (0.0, 0.3, 1.0):
        assert torch.equal(tiny_model(faces, w), tiny_model.decode(tiny_model.encode(faces), w))


def test_one_encoding_serves_every_fidelity(tiny_model: CodeFormer) -> None:
    faces = random_faces(1, 32, seed=2)
    encoded = tiny_model.encode(faces)
    outputs = {w: tiny_model.decode(encoded, w) for w in (0.0, 0.5, 1.0)}
    assert not torch.equal(outputs[0.0], outputs[1.0]), "the fidelity weight must change the image"
    for w, image in outputs.items():
        assert image.shape == (1, 3, 32, 32)
        assert image.min() >= -1 and image.max() <= 1
        assert torch.equal(image, tiny_model(faces, w))


def test_w_zero_ignores_encoder_features_and_w_positive_uses_them(tiny_model: CodeFormer) -> None:
    encoded = tiny_model.encode(random_faces(1, 32, seed=3))
    scrambled = type(encoded)(
        lq_feat=encoded.lq_feat,
        indices=encoded.indices,
        skips={r: torch.randn_like(f) for r, f in encoded.skips.items()},
        decoder_head=encoded.decoder_head,
    )
    assert torch.equal(tiny_model.decode(encoded, 0.0), tiny_model.decode(scrambled, 0.0))
    assert not torch.equal(tiny_model.decode(encoded, 0.8), tiny_model.decode(scrambled, 0.8))


def test_select_picks_one_face_of_a_batch(tiny_model: CodeFormer) -> None:
    faces = random_faces(3, 32, seed=4)
    batch = tiny_model.encode(faces)
    single = tiny_model.encode(faces[1:2])
    picked = batch.select(1)
    assert torch.equal(picked.indices, single.indices)
    torch.testing.assert_close(tiny_model.decode(picked, 0.6), tiny_model.decode(single, 0.6), atol=1e-4, rtol=0)


def test_indices_come_from_the_codebook_and_follow_the_transformer(tiny_model: CodeFormer) -> None:
    faces = random_faces(2, 32, seed=5)
    encoded = tiny_model.encode(faces)
    assert encoded.indices.shape == (2, 64)
    assert encoded.indices.dtype == torch.long
    assert encoded.indices.min() >= 0 and encoded.indices.max() < 16
    with torch.no_grad():
        logits = tiny_model.predict_logits(encoded.lq_feat)
    assert torch.equal(logits.argmax(dim=2), encoded.indices)


def test_fast_precision_stays_close_to_exact() -> None:
    """64x64 faces reach the 32x32 maps where Winograd convolutions are used."""
    model = make_model(SMALL_CONFIG, seed=7)
    faces = random_faces(2, 64, seed=8)
    model.precision = Precision.EXACT
    exact = model(faces, 0.7)
    model.precision = Precision.FAST
    fast = model(faces, 0.7)
    assert (fast - exact).abs().max().item() < 1e-4


def test_bad_arguments_are_refused_with_a_reason(tiny_model: CodeFormer) -> None:
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"):
        tiny_model.encode(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        tiny_model.decode(tiny_model.encode(random_faces(1, 32, 0)), 1.5)
    with pytest.raises(ValueError, match="latent_size"):
        CodeFormer(CodeFormerConfig(**{**TINY_CONFIG, "latent_size": 63}))
    with pytest.raises(ValueError, match="attention resolution"):
        CodeFormer(CodeFormerConfig(**{**TINY_CONFIG, "connect_list": (8, 16)}))


def test_gradients_flow_in_training_mode() -> None:
    """The layers stay trainable: the Winograd path is inference-only and never used with autograd."""
    model = make_model(SMALL_CONFIG, seed=9).train()
    faces = random_faces(1, 64, seed=10)
    lq_feat, _ = model.encoder(faces, model.config.connect_list)
    out = model.generator(model.quantize(lq_feat).quantized)
    out.mean().backward()
    assert model.encoder.blocks[0].weight.grad is not None
    assert model.generator.blocks[-1].weight.grad.abs().sum() > 0


def test_winograd_strips_match_one_whole_convolution(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large maps are convolved in strips of rows; the seams must not show."""
    from codeformer_app.networks.codeformer import runtime

    assert runtime.nnpack_ready()
    generator = torch.Generator().manual_seed(11)
    x = torch.randn(1, 16, 70, 48, generator=generator)
    weight = 0.1 * torch.randn(8, 16, 3, 3, generator=generator)
    bias = torch.randn(8, generator=generator)
    with torch.inference_mode():
        exact = torch.nn.functional.conv2d(x, weight, bias, padding=1)
        whole = runtime.winograd_conv3x3(x, weight, bias)
        monkeypatch.setattr(runtime, "WINOGRAD_STRIP_BYTES", 16 * 48 * 4 * 9)  # 9 rows a strip, 8 strips
        strips = runtime.winograd_conv3x3(x, weight, bias)
    assert (whole - exact).abs().max() < 1e-4
    assert (strips - exact).abs().max() < 1e-4
