"""The training recipe's loss terms, schedules, configurations and discriminator, on hand-made cases."""

from __future__ import annotations

import math

import pytest
import torch

from codeformer_train.config import (
    CodesStage,
    FusionStage,
    OptimizerConfig,
    RunConfig,
    RunRecord,
    StageName,
    VQGANStage,
    preset,
    with_overrides,
)
from codeformer_train.losses import (
    adaptive_gan_weight,
    code_cross_entropy,
    codebook_usage,
    feature_l2,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from codeformer_train.networks import PatchDiscriminator, VQAutoEncoder
from codeformer_train.optim import learning_rate


def _last_layer() -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.tensor([1.0, 2.0]))


def test_adaptive_weight_is_the_ratio_of_gradient_norms_at_the_last_layer() -> None:
    layer = _last_layer()
    reconstruction = (3.0 * layer).sum()  # gradient (3, 3): norm 3*sqrt(2)
    gan = (layer**2).sum()  # gradient 2*layer = (2, 4): norm sqrt(20)
    weight = adaptive_gan_weight(reconstruction, gan, layer)
    assert weight.item() == pytest.approx(3 * math.sqrt(2) / (math.sqrt(20) + 1e-6), rel=1e-6)
    assert not weight.requires_grad
    # both graphs survive for the backward pass that follows
    (reconstruction + weight * gan).backward()
    assert torch.allclose(layer.grad, torch.tensor([3.0, 3.0]) + weight * torch.tensor([2.0, 4.0]))


def test_adaptive_weight_delta_and_clamp() -> None:
    layer = _last_layer()
    reconstruction = (3.0 * layer).sum()
    no_gan_gradient = (0.0 * layer).sum()
    unclamped = adaptive_gan_weight(reconstruction, no_gan_gradient, layer, delta=1e-6, max_weight=1e12)
    assert unclamped.item() == pytest.approx(3 * math.sqrt(2) / 1e-6, rel=1e-5)
    assert adaptive_gan_weight(reconstruction, no_gan_gradient, layer).item() == 1.0  # clamped to max_weight
    assert adaptive_gan_weight(reconstruction, (0.1 * layer).sum(), layer, max_weight=50.0).item() == pytest.approx(
        30.0, rel=1e-4
    )


def test_hinge_losses() -> None:
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - x): 0, 0.5, 2
    fake = torch.tensor([-2.0, 0.0, 1.0])  # relu(1 + x): 0, 1, 2
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 3.0 / 3)
    assert hinge_generator_loss(fake).item() == pytest.approx(1.0 / 3)


def test_code_losses() -> None:
    logits = torch.log(torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]]))  # (B=1, N=2, K=3), rows sum to 1
    target = torch.tensor([[0, 2]])
    assert code_cross_entropy(logits, target).item() == pytest.approx(-(math.log(0.7) + math.log(0.8)) / 2, rel=1e-5)
    lq = torch.zeros(1, 2, 2, 2, requires_grad=True)
    target_feat = torch.ones(1, 2, 2, 2, requires_grad=True)
    loss = feature_l2(lq, target_feat)
    loss.backward()
    assert loss.item() == 1.0
    assert target_feat.grad is None  # stop-gradient on the codebook side
    assert codebook_usage(torch.tensor([[0, 0, 1, 3]]), codebook_size=8) == (
        3,
        pytest.approx(math.exp(1.5 * math.log(2))),
    )


def test_learning_rate_schedules() -> None:
    cosine = OptimizerConfig(lr=1.0, schedule="cosine", eta_min=0.2)
    assert learning_rate(cosine, 0, 100) == 1.0
    assert learning_rate(cosine, 50, 100) == pytest.approx(0.6)
    assert learning_rate(cosine, 100, 100) == pytest.approx(0.2)
    multistep = OptimizerConfig(lr=1.0, schedule="multistep", milestones=(10, 20), gamma=0.5)
    assert [learning_rate(multistep, s, 30) for s in (9, 10, 19, 20)] == [1.0, 0.5, 0.5, 0.25]


def test_official_defaults() -> None:
    stage1, stage2, stage3 = VQGANStage(), CodesStage(), FusionStage()
    assert (stage1.optimizer.lr, stage1.gan.start_step, stage1.gan.scale, stage1.ema_decay) == (7e-5, 30001, 0.8, 0.995)
    assert stage1.network.codebook_size == 1024 and stage1.network.ch_mult == (1, 2, 2, 4, 4, 8)
    assert (stage2.cross_entropy_weight, stage2.feature_weight, stage2.optimizer.milestones) == (
        0.5,
        1.0,
        (400000, 450000),
    )
    assert (stage2.degradation.blur_sigma, stage2.degradation.downsample) == ((1.0, 15.0), (4.0, 30.0))
    assert (stage3.fidelity_weight, stage3.gan.scale, stage3.gan.start_step, stage3.ema_decay) == (
        1.0,
        0.1,
        5001,
        0.997,
    )
    assert (stage3.degradation.jpeg_quality, stage3.degradation.noise) == ((60, 100), (0.0, 15.0))


def test_config_overrides_and_json_round_trip() -> None:
    config = with_overrides(preset(StageName.FUSION, "tiny"), ["optimizer.lr=2e-4", "gan.start_step=7", "adain=true"])
    assert (config.optimizer.lr, config.gan.start_step, config.adain) == (2e-4, 7, True)
    config = with_overrides(config, ["degradation.jpeg_quality=50,70", "init=/tmp/x.safetensors"])
    assert config.degradation.jpeg_quality == (50, 70)
    record = RunRecord(StageName.FUSION, config, "/data", RunConfig(steps=5))
    assert RunRecord.from_json(record.to_json()) == record
    with pytest.raises(ValueError, match=r"no setting 'optimizer\.rate'"):
        with_overrides(config, ["optimizer.rate=1"])
    with pytest.raises(ValueError, match="adain='maybe'"):
        with_overrides(config, ["adain=maybe"])


def test_discriminator_has_the_official_layout() -> None:
    """Official VQGANDiscriminator(nc=3, ndf=64, n_layers=4): conv 3->64 s2, three conv+BN s2 up to 512, conv+BN
    s1, conv to 1 logit; state-dict names main.N.*."""
    disc = PatchDiscriminator()
    shapes = {k: tuple(v.shape) for k, v in disc.state_dict().items() if k.endswith("weight")}
    assert shapes["main.0.weight"] == (64, 3, 4, 4)
    assert shapes["main.2.weight"] == (128, 64, 4, 4)
    assert shapes["main.8.weight"] == (512, 256, 4, 4)
    assert shapes["main.11.weight"] == (512, 512, 4, 4)
    assert shapes["main.14.weight"] == (1, 512, 4, 4)
    assert disc(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 2, 2)


def test_vqgan_state_dict_names_match_codeformer() -> None:
    """Stage I's VQGAN and the app's CodeFormer share the encoder/quantize/generator names and shapes."""
    from codeformer_app.networks.codeformer import CodeFormer
    from codeformer_train.config import TINY_CODEFORMER, TINY_VQGAN

    vqgan = VQAutoEncoder(TINY_VQGAN).state_dict()
    codeformer = CodeFormer(TINY_CODEFORMER).state_dict()
    assert {k: v.shape for k, v in vqgan.items()} == {
        k: v.shape for k, v in codeformer.items() if k.split(".")[0] in {"encoder", "quantize", "generator"}
    }
