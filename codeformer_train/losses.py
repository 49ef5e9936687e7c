"""Loss terms of the three stages that are not networks themselves.

Each is a small pure function so the tests can check it against a hand-made case.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Added to the GAN gradient norm in the adaptive weight so it never divides by zero (the issue's delta).
ADAPTIVE_WEIGHT_DELTA = 1e-6
#: The adaptive weight is clamped to [0, this] (the official code's disc_weight_max).
ADAPTIVE_WEIGHT_MAX = 1.0


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake))): the discriminator's hinge loss."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean(D(fake)): the generator's side of the hinge GAN."""
    return -fake_logits.mean()


def adaptive_gan_weight(
    reconstruction_loss: torch.Tensor,
    gan_loss: torch.Tensor,
    last_layer: torch.Tensor,
    delta: float = ADAPTIVE_WEIGHT_DELTA,
    max_weight: float = ADAPTIVE_WEIGHT_MAX,
) -> torch.Tensor:
    """||grad_L(reconstruction)|| / (||grad_L(gan)|| + delta), clamped to [0, max_weight] and detached.

    ``L`` is the generator's last layer: the GAN term is scaled so its pull on the output matches the
    reconstruction's, whatever the two losses' magnitudes (Esser et al., VQGAN). Both graphs are kept for
    the backward pass that follows.
    """
    reconstruction_grad = torch.autograd.grad(reconstruction_loss, last_layer, retain_graph=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer, retain_graph=True)[0]
    weight = reconstruction_grad.norm() / (gan_grad.norm() + delta)
    return weight.clamp(0.0, max_weight).detach()


def code_cross_entropy(logits: torch.Tensor, target_indices: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the transformer's code logits (B, N, K) against the clean face's codes (B, N)."""
    return F.cross_entropy(logits.permute(0, 2, 1), target_indices)


def feature_l2(lq_feat: torch.Tensor, quantized_target: torch.Tensor) -> torch.Tensor:
    """Mean squared distance from the degraded face's latent to the clean face's (stop-gradient) codes."""
    return (lq_feat - quantized_target.detach()).pow(2).mean()


def codebook_usage(indices: torch.Tensor, codebook_size: int) -> tuple[int, float]:
    """How many distinct codes ``indices`` use, and the perplexity exp(H) of their frequencies."""
    counts = torch.bincount(indices.reshape(-1).cpu(), minlength=codebook_size).double()
    frequencies = counts / counts.sum()
    entropy = -(frequencies[frequencies > 0] * frequencies[frequencies > 0].log()).sum()
    return int((counts > 0).sum()), float(entropy.exp())
