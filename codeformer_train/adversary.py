"""The PatchGAN side of stages I and III: the discriminator, its optimiser and the generator's GAN term."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import torch

from .config import GANConfig
from .losses import adaptive_gan_weight, hinge_discriminator_loss, hinge_generator_loss
from .networks import PatchDiscriminator
from .optim import build_adam

Scalars = dict[str, float]


class Adversary:
    """Owns the discriminator; the generator's stage asks it for the weighted GAN term, then lets it learn."""

    def __init__(
        self, config: GANConfig, device: torch.device, autocast: Callable[[], AbstractContextManager] = nullcontext
    ) -> None:
        self.config = config
        self.autocast = autocast
        self.discriminator = PatchDiscriminator(ndf=config.ndf, n_layers=config.n_layers).to(device)
        self.optimizer = build_adam(self.discriminator.parameters(), config.optimizer)

    def active(self, step: int) -> bool:
        return step >= self.config.start_step

    def generator_term(
        self, fake: torch.Tensor, reconstruction_loss: torch.Tensor, last_layer: torch.Tensor
    ) -> tuple[torch.Tensor, Scalars]:
        """scale * adaptive weight * hinge generator loss; the discriminator gets no gradient from it."""
        self.discriminator.requires_grad_(False)
        with self.autocast():
            gan_loss = hinge_generator_loss(self.discriminator(fake))
        weight = adaptive_gan_weight(
            reconstruction_loss, gan_loss, last_layer, delta=self.config.delta, max_weight=self.config.max_weight
        )
        weight = weight * self.config.scale
        return weight * gan_loss, {"gan_generator": gan_loss.detach().item(), "adaptive_weight": weight.item()}

    def learn(self, real: torch.Tensor, fake: torch.Tensor) -> Scalars:
        """One discriminator step on a real and a (detached) generated batch."""
        self.discriminator.requires_grad_(True)
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():
            real_logits = self.discriminator(real)
            fake_logits = self.discriminator(fake.detach())
            loss = hinge_discriminator_loss(real_logits, fake_logits)
        loss.backward()
        self.optimizer.step()
        return {
            "discriminator": loss.detach().item(),
            "logit_real": float(real_logits.detach().mean()),
            "logit_fake": float(fake_logits.detach().mean()),
        }
