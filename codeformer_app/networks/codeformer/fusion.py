"""Controllable feature transform (CFT) and AdaIN: how encoder features re-enter the decoder.

Names (``encode_enc``, ``scale``, ``shift``) follow the official checkpoint's ``fuse_convs_dict`` blocks.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import runtime
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
        self._fast_weights_for_w = runtime.DerivedWeights()
        self._split_weights = runtime.DerivedWeights()

    def forward(
        self, enc_feat: torch.Tensor, dec_feat: torch.Tensor, w: float, enc_term: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``enc_term``: :meth:`encoder_term` of ``enc_feat``, when the caller kept it (fast path only)."""
        if runtime.fast_kernels() and enc_term is not None:
            return self._fast_modulate(self._joint_from_halves(enc_feat, dec_feat, enc_term), dec_feat, w)
        joint = self.encode_enc(torch.cat([enc_feat, dec_feat], dim=1))
        if runtime.fast_kernels():
            return self._fast_modulate(joint, dec_feat, w)
        if torch.is_grad_enabled():
            return dec_feat + w * (dec_feat * self.scale(joint) + self.shift(joint))
        # inference: the same sum, accumulated in the scale map's buffer (saves three full-size temporaries)
        shift = self.shift(joint)
        out = self.scale(joint)
        del joint
        return out.mul_(dec_feat).add_(shift).mul_(w).add_(dec_feat)

    def change(self, enc_feat: torch.Tensor, dec_feat: torch.Tensor) -> torch.Tensor:
        """``dec * scale + shift``: the block returns ``dec_feat + w * change`` (plain order of the sums)."""
        joint = self.encode_enc(torch.cat([enc_feat, dec_feat], dim=1))
        return torch.addcmul(self.shift(joint), dec_feat, self.scale(joint))

    def encoder_term(self, enc_feat: torch.Tensor) -> torch.Tensor:
        """The encoder features' share of ``encode_enc``'s first convolution, its bias included (fast path).

        ``encode_enc`` normalises ``cat([enc, dec])`` by groups that never straddle the two halves, then convolves
        it; so its first convolution is a sum of one term from the encoder features, which do not depend on
        ``w``, and one from the decoder's. An encoding meant for several renders keeps this term, and each render
        skips about a fifth of the block's work. (Split in two, the convolution costs more than whole, so a face
        rendered once does not use it.)
        """
        block = self.encode_enc
        channels = enc_feat.shape[1]
        enc_weight, _, _, _ = self._split(channels)
        normed = self._half_norm(enc_feat, block.norm1.weight[:channels], block.norm1.bias[:channels])
        return runtime.conv3x3(runtime.SiluInput(normed), enc_weight, block.conv1.bias)

    def _joint_from_halves(
        self, enc_feat: torch.Tensor, dec_feat: torch.Tensor, enc_term: torch.Tensor
    ) -> torch.Tensor:
        """``encode_enc(cat([enc_feat, dec_feat]))`` from the kept encoder term and the decoder half."""
        block = self.encode_enc
        channels = dec_feat.shape[1]
        _, dec_weight, shortcut_enc, shortcut_dec = self._split(channels)
        normed = self._half_norm(dec_feat, block.norm1.weight[channels:], block.norm1.bias[channels:])
        h = runtime.conv3x3(runtime.SiluInput(normed), dec_weight, None).add_(enc_term)
        h = block.conv2.run(runtime.SiluInput(block.norm2(h)))
        h.add_(F.conv2d(dec_feat, shortcut_dec, block.conv_out.bias))
        return h.add_(F.conv2d(enc_feat, shortcut_enc))

    def _half_norm(self, half: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        norm = self.encode_enc.norm1
        return F.group_norm(half, norm.num_groups // 2, weight, bias, norm.eps)

    def _split(self, channels: int) -> tuple[torch.Tensor, ...]:
        """``encode_enc``'s first and shortcut convolution weights, split into encoder and decoder input halves."""
        conv1, shortcut = self.encode_enc.conv1, self.encode_enc.conv_out

        def make() -> tuple[torch.Tensor, ...]:
            return (
                conv1.weight[:, :channels].contiguous(),
                conv1.weight[:, channels:].contiguous(),
                shortcut.weight[:, :channels].contiguous(),
                shortcut.weight[:, channels:].contiguous(),
            )

        return self._split_weights.get((conv1.weight, shortcut.weight), channels, make)

    def _fast_modulate(self, joint: torch.Tensor, dec_feat: torch.Tensor, w: float) -> torch.Tensor:
        """``dec + w * (dec * scale + shift)`` rearranged as ``dec * (1 + w * scale) + w * shift``.

        Both branches' first convolutions read ``joint``: as one convolution with twice the outputs its input is
        transformed once. ``w`` and the 1 are folded into the second convolutions' weights and biases, so what
        is left after them is a single multiply-add pass.
        """
        first_weight, first_bias, scale_weight, scale_bias, shift_weight, shift_bias = self._fast_weights(w)
        both = runtime.conv3x3(joint, first_weight, first_bias)
        del joint
        F.leaky_relu(both, CFT_LEAKY_SLOPE, inplace=True)
        channels = dec_feat.shape[1]
        one_plus_scale = runtime.conv3x3(both[:, :channels], scale_weight, scale_bias)
        out = runtime.conv3x3(both[:, channels:], shift_weight, shift_bias)
        del both
        return out.addcmul_(one_plus_scale, dec_feat)

    def _fast_weights(self, w: float) -> tuple[torch.Tensor, ...]:
        """The rearranged weights for ``w``, kept until ``w`` or a parameter changes (a slider drag reuses them)."""
        scale_in, shift_in, scale_out, shift_out = self.scale[0], self.shift[0], self.scale[2], self.shift[2]

        def make() -> tuple[torch.Tensor, ...]:
            return (
                torch.cat([scale_in.weight, shift_in.weight]),
                torch.cat([scale_in.bias, shift_in.bias]),
                scale_out.weight * w,
                scale_out.bias * w + 1.0,
                shift_out.weight * w,
                shift_out.bias * w,
            )

        params = [t for conv in (scale_in, shift_in, scale_out, shift_out) for t in (conv.weight, conv.bias)]
        return self._fast_weights_for_w.get(params, w, make)
