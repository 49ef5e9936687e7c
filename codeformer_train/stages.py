"""One training step of each stage, and everything a stage owns (networks, optimisers, EMA).

A stage object is built from its configuration; :func:`build_stage` picks the class. Its ``train_step``
returns the step's scalars and the code indices it produced, so the loop can report codebook usage.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from codeformer_app.networks.codeformer import CodeFormer
from codeformer_app.networks.codeformer.vqgan import Encoder, NearestQuantizer
from codeformer_app.networks.state_dict import load_strict

from .adversary import Adversary
from .config import CodesStage, FusionStage, StageConfig, VQGANStage
from .data import Batch
from .errors import TrainingError
from .losses import code_cross_entropy, feature_l2
from .networks import VQAutoEncoder, VQGANConfig
from .optim import build_adam, learning_rate, set_learning_rate
from .perceptual import PerceptualLoss
from .stage_weights import (
    TRANSFORMER_KEY,
    export_codeformer,
    export_vqgan,
    load_codeformer_weights,
    load_vqgan_parts,
    read_weights,
)

Scalars = dict[str, float]
#: Steps in a row with a non-finite loss (skipped) after which a run stops.
MAX_NONFINITE_STEPS = 20
#: Name of the EMA export each stage writes into its run folder.
EXPORT_NAMES = {"vqgan": "vqgan_ema.safetensors", "codes": "codeformer_ema.safetensors"}
EXPORT_NAMES["fusion"] = EXPORT_NAMES["codes"]


def _value(tensor: torch.Tensor) -> float:
    """A scalar loss as a plain number for the log."""
    return tensor.detach().item()


class StageSetupError(TrainingError):
    """A stage cannot start: a required weights file is not configured."""


@dataclass(frozen=True)
class StepOutput:
    scalars: Scalars
    #: Code indices used in this step (B, h*w): the quantizer's (stage I) or the transformer's predictions.
    indices: torch.Tensor


class Stage:
    """What the three stages share: the trained network, its EMA copy, optimisers and an optional GAN."""

    network: nn.Module
    optimizer: torch.optim.Optimizer
    adversary: Adversary | None = None

    def __init__(self, config: StageConfig, device: torch.device, total_steps: int, amp: bool = False) -> None:
        self.config = config
        self.device = device
        self.total_steps = total_steps
        #: Forward passes run under bfloat16 autocast when ``amp``; backward passes never do.
        self.autocast = functools.partial(torch.autocast, device.type, torch.bfloat16, enabled=amp)
        self.nonfinite_in_a_row = 0

    def _start_ema(self) -> None:
        self.ema = AveragedModel(
            self.network, multi_avg_fn=get_ema_multi_avg_fn(self.config.ema_decay), use_buffers=True
        )

    def set_step(self, step: int) -> Scalars:
        """Set every optimiser's learning rate for ``step``; returns them for the log."""
        rate = learning_rate(self.config.optimizer, step, self.total_steps)
        set_learning_rate(self.optimizer, rate)
        rates = {"lr": rate}
        if self.adversary is not None:
            disc_rate = learning_rate(self.adversary.config.optimizer, step, self.total_steps)
            set_learning_rate(self.adversary.optimizer, disc_rate)
            rates["lr_discriminator"] = disc_rate
        return rates

    def _generator_update(self, loss: torch.Tensor) -> bool:
        """Backward, Adam and EMA; a step whose loss is not finite is skipped so it cannot poison the weights
        (and the EMA and the next checkpoint). Many in a row stop the run with a message."""
        self.optimizer.zero_grad(set_to_none=True)
        if not torch.isfinite(loss.detach()):
            self.nonfinite_in_a_row += 1
            if self.nonfinite_in_a_row >= MAX_NONFINITE_STEPS:
                raise TrainingError(
                    None,
                    f"the loss was not finite for {MAX_NONFINITE_STEPS} steps in a row; the last checkpoint holds "
                    "the last good weights: lower the learning rate (--set optimizer.lr=...) and resume",
                )
            return False
        self.nonfinite_in_a_row = 0
        loss.backward()
        self.optimizer.step()
        self.ema.update_parameters(self.network)
        return True

    # -- checkpoints ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = {
            "network": self.network.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }
        if self.adversary is not None:
            state["discriminator"] = self.adversary.discriminator.state_dict()
            state["discriminator_optimizer"] = self.adversary.optimizer.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.adversary is not None:
            self.adversary.discriminator.load_state_dict(state["discriminator"])
            self.adversary.optimizer.load_state_dict(state["discriminator_optimizer"])

    def ema_state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged network's weights under the network's own names."""
        return self.ema.module.state_dict()

    def export(self, folder: Path, step: int) -> Path:
        raise NotImplementedError


class VQGANTraining(Stage):
    """Stage I."""

    config: VQGANStage

    def __init__(
        self, config: VQGANStage, device: torch.device, total_steps: int, perceptual: PerceptualLoss, amp: bool = False
    ) -> None:
        super().__init__(config, device, total_steps, amp)
        self.network = VQAutoEncoder(config.network)
        if config.init:
            load_vqgan_parts(self.network, config.init)
        self.network.to(device).train()
        self.perceptual = perceptual.to(device)
        self.optimizer = build_adam(self.network.parameters(), config.optimizer)
        self.adversary = Adversary(config.gan, device, self.autocast)
        self._start_ema()

    def train_step(self, batch: Batch, step: int) -> StepOutput:
        gt = batch.gt.to(self.device)
        with self.autocast():
            output, quantized = self.network(gt)
            pixel = F.l1_loss(output, gt) * self.config.pixel_weight
            perceptual = self.perceptual(output, gt) * self.config.perceptual_weight
            reconstruction = pixel + perceptual
            total = reconstruction + quantized.loss * self.config.codebook_weight
        scalars: Scalars = {"l1": _value(pixel), "perceptual": _value(perceptual), "codebook": _value(quantized.loss)}
        gan_on = self.adversary.active(step)
        if gan_on:
            gan_term, gan_scalars = self.adversary.generator_term(output, reconstruction, self.network.last_layer)
            total = total + gan_term
            scalars |= gan_scalars
        updated = self._generator_update(total)
        if gan_on and updated:
            scalars |= self.adversary.learn(gt, output)
        scalars["total"] = _value(total)
        scalars["skipped"] = 0.0 if updated else 1.0
        scalars["perplexity"] = _value(quantized.perplexity)
        return StepOutput(scalars, quantized.indices.detach())

    def export(self, folder: Path, step: int) -> Path:
        config_json = json.dumps(self.network.config.to_dict())
        return export_vqgan(self.ema_state_dict(), config_json, folder / EXPORT_NAMES["vqgan"], step)


class ReferenceCoder(nn.Module):
    """The stage I encoder and codebook, frozen: they turn a clean face into its target code indices."""

    def __init__(self, config: VQGANConfig, path: str) -> None:
        super().__init__()
        ch_mult, attn = config.ch_mult, config.attn_resolutions
        self.encoder = Encoder(3, config.nf, config.emb_dim, ch_mult, config.res_blocks, config.img_size, attn)
        self.quantize = NearestQuantizer(config.codebook_size, config.emb_dim, config.beta)
        vqgan = VQAutoEncoder(config)
        load_vqgan_parts(vqgan, path)
        self.encoder.load_state_dict(vqgan.encoder.state_dict())
        self.quantize.load_state_dict(vqgan.quantize.state_dict())
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def target_indices(self, gt: torch.Tensor) -> torch.Tensor:
        """Computed in float32 even under autocast: bfloat16 distances pick a different code now and then."""
        with torch.autocast(gt.device.type, enabled=False):
            latent, _ = self.encoder(gt.float())
            return self.quantize.nearest_indices(latent)


def _freeze(*modules: nn.Module) -> None:
    for module in modules:
        module.requires_grad_(False)


class CodesTraining(Stage):
    """Stage II: w = 0, the VQGAN's codebook and decoder frozen."""

    config: CodesStage

    def __init__(self, config: CodesStage, device: torch.device, total_steps: int, amp: bool = False) -> None:
        super().__init__(config, device, total_steps, amp)
        if not config.vqgan:
            raise StageSetupError(
                None, "stage II needs the stage I VQGAN: set vqgan=FILE (--vqgan on the command line)"
            )
        self.network = CodeFormer(config.network)
        load_vqgan_parts(self.network, config.vqgan)
        if config.init:
            load_codeformer_weights(self.network, config.init)
        self.reference = ReferenceCoder(VQGANConfig.from_codeformer(config.network), config.vqgan).to(device)
        # Stage II never runs the decoder (code prediction only), so the fusion blocks get no gradient either.
        _freeze(self.network.quantize, self.network.generator, self.network.fuse_convs_dict)
        self.network.to(device).train()
        self.optimizer = build_adam(self.network.parameters(), config.optimizer)
        self._start_ema()

    def train_step(self, batch: Batch, step: int) -> StepOutput:
        gt, lq = batch.gt.to(self.device), batch.lq.to(self.device)
        with self.autocast():
            target = self.reference.target_indices(gt)
            lq_feat, _ = self.network.encoder(lq)
            logits = self.network.predict_logits(lq_feat)
            side = self.network.config.latent_side
            target_feat = self.network.quantize.lookup(target, (side, side))
            # logged unweighted, like stage III's, so the two stages' curves compare
            feature = feature_l2(lq_feat, target_feat)
            cross_entropy = code_cross_entropy(logits, target)
            total = feature * self.config.feature_weight + cross_entropy * self.config.cross_entropy_weight
        updated = self._generator_update(total)
        predicted = logits.detach().argmax(dim=2)
        return StepOutput(
            {
                "cross_entropy": _value(cross_entropy),
                "feature_l2": _value(feature),
                "total": _value(total),
                "code_accuracy": float((predicted == target).float().mean()),
                "skipped": 0.0 if updated else 1.0,
            },
            predicted,
        )

    def export(self, folder: Path, step: int) -> Path:
        return export_codeformer(self.network, self.ema_state_dict(), folder / EXPORT_NAMES["codes"], "codes", step)


class FusionTraining(Stage):
    """Stage III: w = 1; fusion blocks, encoder and transformer learn; codebook and decoder stay frozen."""

    config: FusionStage

    def __init__(
        self, config: FusionStage, device: torch.device, total_steps: int, perceptual: PerceptualLoss, amp: bool = False
    ) -> None:
        super().__init__(config, device, total_steps, amp)
        if not config.init:
            raise StageSetupError(None, "stage III starts from the stage II export: set init=FILE (--init)")
        init_weights = read_weights(config.init)  # read once: the official file is 376 MB
        if TRANSFORMER_KEY not in init_weights:
            raise StageSetupError(Path(config.init), "is a bare VQGAN; stage III needs a full CodeFormer (stage II)")
        uses_codes = config.cross_entropy_weight > 0 or config.feature_weight > 0
        if uses_codes and not config.vqgan:
            raise StageSetupError(
                None,
                "stage III's code terms need the stage I VQGAN: set vqgan=FILE (--vqgan), or turn them off with "
                "--set cross_entropy_weight=0 --set feature_weight=0",
            )
        self.network = CodeFormer(config.network)
        load_strict(self.network, init_weights, Path(config.init), "CodeFormer")
        del init_weights
        config_vqgan = VQGANConfig.from_codeformer(config.network)
        self.reference = ReferenceCoder(config_vqgan, config.vqgan).to(device) if uses_codes else None
        _freeze(self.network.quantize, self.network.generator)
        self.network.to(device).train()
        self.perceptual = perceptual.to(device)
        self.optimizer = build_adam(self.network.parameters(), config.optimizer)
        self.adversary = Adversary(config.gan, device, self.autocast)
        self._start_ema()

    @property
    def last_layer(self) -> torch.Tensor:
        """Output convolution of the shift branch at the largest fusion resolution (the official choice while the
        decoder is frozen)."""
        largest = str(max(self.network.config.connect_list))
        return self.network.fuse_convs_dict[largest].shift[-1].weight

    def restore(self, lq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training forward at the configured w: image, code logits and encoder latent (with gradients).

        The model's own encode/decode, as the app runs them: the codes are a lookup (no gradient through them)
        and the encoder features enter the fusion detached, as in the official stage III.
        """
        model = self.network
        encoded = model.encode(lq, adain_codes=self.config.adain, keep_logits=True)
        image = model.decode(encoded, self.config.fidelity_weight, clamp=False)
        return image, encoded.logits, encoded.lq_feat

    def train_step(self, batch: Batch, step: int) -> StepOutput:
        gt, lq = batch.gt.to(self.device), batch.lq.to(self.device)
        with self.autocast():
            output, logits, lq_feat = self.restore(lq)
            pixel = F.l1_loss(output, gt) * self.config.pixel_weight
            perceptual = self.perceptual(output, gt) * self.config.perceptual_weight
            reconstruction = pixel + perceptual
            total = reconstruction
            scalars: Scalars = {"l1": _value(pixel), "perceptual": _value(perceptual)}
            if self.reference is not None:
                target = self.reference.target_indices(gt)
                side = self.network.config.latent_side
                feature = feature_l2(lq_feat, self.network.quantize.lookup(target, (side, side)))
                cross_entropy = code_cross_entropy(logits, target)
                total = total + feature * self.config.feature_weight + cross_entropy * self.config.cross_entropy_weight
                scalars |= {"feature_l2": _value(feature), "cross_entropy": _value(cross_entropy)}
        gan_on = self.adversary.active(step)
        if gan_on:
            gan_term, gan_scalars = self.adversary.generator_term(output, reconstruction, self.last_layer)
            total = total + gan_term
            scalars |= gan_scalars
        updated = self._generator_update(total)
        if gan_on and updated:
            scalars |= self.adversary.learn(gt, output)
        scalars["total"] = _value(total)
        scalars["skipped"] = 0.0 if updated else 1.0
        return StepOutput(scalars, logits.detach().argmax(dim=2))

    def export(self, folder: Path, step: int) -> Path:
        return export_codeformer(self.network, self.ema_state_dict(), folder / EXPORT_NAMES["fusion"], "fusion", step)


def needs_perceptual(config: StageConfig) -> bool:
    return not isinstance(config, CodesStage)


def build_stage(
    config: StageConfig,
    device: torch.device,
    total_steps: int,
    perceptual: PerceptualLoss | None = None,
    amp: bool = False,
) -> Stage:
    """The stage object for a configuration; stages I and III need the perceptual loss."""
    if isinstance(config, CodesStage):
        return CodesTraining(config, device, total_steps, amp)
    if perceptual is None:
        raise ValueError(f"stage {config.name} needs a perceptual loss")
    if isinstance(config, VQGANStage):
        return VQGANTraining(config, device, total_steps, perceptual, amp)
    return FusionTraining(config, device, total_steps, perceptual, amp)
