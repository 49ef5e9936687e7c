"""Controllable feature transform (CFT) and AdaIN: how encoder features re-enter the decoder.

Names (``encode_enc``, ``scale``, ``shift``) follow the official checkpoint's ``fuse_convs_dict`` blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import ResBlock, conv3x3

ADAIN_EPS = 1e-5
CFT_LEAKY_SLOPE = 0.2


def channel_mean_std(feat: torch.Tensor, eps: float = ADAIN_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation (unbiased variance plus ``eps``)."""
    flat = feat.flatten(2)
    mean = flat.mean(dim=2)[..., None, None]
    std = (flat.var(dim=2) + eps).sqrt()[..., None, None]
    return mean, std


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Give ``content`` the channel statistics of ``style``.

    CodeFormer applies it to the looked-up codebook features with the degraded encoder features as the style,
    so colour and brightness of the restored face follow the input.
    """
    content_mean, content_std = channel_mean_std(content)
    style_mean, style_std = channel_mean_std(style)
    return (content - content_mean) / content_std * style_std + style_mean


def _modulation_branch(channels: int) -> nn.Sequential:
    return nn.Sequential(
        conv3x3(channels, channels), nn.LeakyReLU(CFT_LEAKY_SLOPE, inplace=True), conv3x3(channels, channels)
    )


class CFTBlock(nn.Module):
    """Predicts a spatial scale and shift from encoder + decoder features and adds ``w`` of the change."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.encode_enc = ResBlock(2 * channels, channels)
        self.scale = _modulation_branch(channels)
        self.shift = _modulation_branch(channels)

    def forward(self, enc_feat: torch.Tensor, dec_feat: torch.Tensor, w: float) -> torch.Tensor:
        joint = self.encode_enc(torch.cat([enc_feat, dec_feat], dim=1))
        if torch.is_grad_enabled():
            return dec_feat + w * (dec_feat * self.scale(joint) + self.shift(joint))
        # inference: the same sum, accumulated in the scale map's buffer (saves three full-size temporaries)
        shift = self.shift(joint)
        out = self.scale(joint)
        del joint
        return out.mul_(dec_feat).add_(shift).mul_(w).add_(dec_feat)
