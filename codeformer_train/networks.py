"""The networks only training needs: the stage I VQGAN autoencoder and the PatchGAN discriminator.

Both keep the official checkpoints' state-dict names (``encoder.*``, ``quantize.*``, ``generator.*`` for the
VQGAN; ``main.N.*`` for the discriminator), so official stage checkpoints load into them and our exports load
into the official code. The building blocks are the app's own (:mod:`codeformer_app.networks.codeformer.vqgan`), so what
stage I trains is exactly what the app runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from codeformer_app.networks.codeformer import CodeFormerConfig
from codeformer_app.networks.codeformer.vqgan import Encoder, Generator, NearestQuantizer, QuantizerOutput

#: Negative slope of the discriminator's leaky ReLUs.
DISC_LEAKY_SLOPE = 0.2
#: The discriminator's 4x4 convolutions; stride 2 halves the map, the last two keep it (a patch map).
DISC_KERNEL = 4
#: The channel multiplier stops growing at this value (512 channels with ndf = 64).
DISC_MAX_MULT = 8


@dataclass(frozen=True)
class VQGANConfig:
    """Hyperparameters of the VQGAN autoencoder; the defaults are the official 512 model's."""

    img_size: int = 512
    nf: int = 64
    ch_mult: tuple[int, ...] = (1, 2, 2, 4, 4, 8)
    res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    emb_dim: int = 256
    codebook_size: int = 1024
    beta: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_codeformer(cls, config: CodeFormerConfig) -> VQGANConfig:
        """The VQGAN inside a CodeFormer of this configuration."""
        return cls(**{name: getattr(config, name) for name in cls.__dataclass_fields__})


class VQAutoEncoder(nn.Module):
    """Encoder -> nearest-code quantizer -> generator; stage I trains all three on clean faces."""

    def __init__(self, config: VQGANConfig = VQGANConfig()) -> None:
        super().__init__()
        config = replace(config, ch_mult=tuple(config.ch_mult), attn_resolutions=tuple(config.attn_resolutions))
        self.config = config
        ch_mult, attn = config.ch_mult, config.attn_resolutions
        self.encoder = Encoder(3, config.nf, config.emb_dim, ch_mult, config.res_blocks, config.img_size, attn)
        self.quantize = NearestQuantizer(config.codebook_size, config.emb_dim, config.beta)
        self.generator = Generator(config.nf, config.emb_dim, ch_mult, config.res_blocks, config.img_size, attn)

    @property
    def last_layer(self) -> torch.Tensor:
        """Weight of the generator's output convolution: where the adaptive GAN weight compares gradients."""
        return self.generator.blocks[-1].weight

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, QuantizerOutput]:
        """Faces in [-1, 1] -> reconstruction (unclamped) and the quantizer's output (loss, indices, usage)."""
        latent, _ = self.encoder(x)
        with torch.autocast(x.device.type, enabled=False):  # nearest-code search in float32, as at inference
            quantized = self.quantize(latent.float())
        return self.generator(quantized.quantized), quantized


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (the official ``VQGANDiscriminator``): one real/fake logit per image patch."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, ndf, DISC_KERNEL, stride=2, padding=1),
            nn.LeakyReLU(DISC_LEAKY_SLOPE, inplace=True),
        ]
        mult = 1
        for n in range(1, n_layers + 1):
            previous, mult = mult, min(2**n, DISC_MAX_MULT)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(ndf * previous, ndf * mult, DISC_KERNEL, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(ndf * mult),
                nn.LeakyReLU(DISC_LEAKY_SLOPE, inplace=True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, DISC_KERNEL, stride=1, padding=1))
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)
