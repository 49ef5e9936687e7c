"""Convolutional building blocks of the VQGAN autoencoder.

Attribute names (``norm1``, ``conv1``, ``q``, ``proj_out``...) follow the official checkpoint so that its
state dict loads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import runtime

GROUP_NORM_GROUPS = 32
GROUP_NORM_EPS = 1e-6


def group_norm(channels: int) -> nn.GroupNorm:
    """The normalisation used everywhere in the VQGAN: 32 groups, affine."""
    return nn.GroupNorm(num_groups=GROUP_NORM_GROUPS, num_channels=channels, eps=GROUP_NORM_EPS, affine=True)


class Conv3x3(nn.Conv2d):
    """A 3x3 convolution that runs as a Winograd convolution when :mod:`.runtime` says it pays off."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        #: NNPACK's transform of the kernel, kept on the maps where that pays off (``runtime.KERNEL_REUSE_SIDES``)
        self._kernels = runtime.KernelTransforms()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if runtime.use_winograd(self, x.shape, x.dtype):
            return runtime.winograd_conv3x3(x, self.weight, self.bias, self._kernels)
        return super().forward(x)

    def run(self, source: runtime.ConvInput) -> torch.Tensor:
        """Convolve a computed input (fast path): strips are filled straight from ``source``."""
        if runtime.use_winograd(self, source.shape, source.x.dtype):
            return runtime.winograd_conv3x3(source, self.weight, self.bias, self._kernels)
        return super().forward(source.whole())


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, padding: int = 1) -> Conv3x3:
    return Conv3x3(in_channels, out_channels, kernel_size=3, stride=stride, padding=padding)


def conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1)


class ResBlock(nn.Module):
    """Pre-activation residual block: (GroupNorm, swish, conv) twice, 1x1 shortcut when channels change."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.norm1 = group_norm(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels)
        self.norm2 = group_norm(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        if in_channels != out_channels:
            self.conv_out = conv1x1(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Rebinding ``h`` at each step frees the previous activation at once; in-place activations save one
        # more full-size buffer per step when no gradients are needed.
        if runtime.fast_kernels():
            h = self.conv1.run(runtime.SiluInput(self.norm1(x)))
            h = self.conv2.run(runtime.SiluInput(self.norm2(h)))
            return h.add_(self.conv_out(x) if self.in_channels != self.out_channels else x)
        in_place = not torch.is_grad_enabled()
        h = F.silu(self.norm1(x), inplace=in_place)
        h = self.conv1(h)
        h = F.silu(self.norm2(h), inplace=in_place)
        h = self.conv2(h)
        return h.add_(self.conv_out(x) if self.in_channels != self.out_channels else x)


class AttnBlock(nn.Module):
    """Single-head spatial self-attention with a residual connection."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = conv1x1(channels, channels)
        self.k = conv1x1(channels, channels)
        self.v = conv1x1(channels, channels)
        self.proj_out = conv1x1(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Plain matrix products rather than scaled_dot_product_attention: its CPU kernel gives slightly different
        # results for a face depending on the batch it is in; this is cheap at the 16x16 latent size.
        b, c, h, w = x.shape
        normed = self.norm(x)
        q = self.q(normed).reshape(b, c, h * w).transpose(1, 2)  # (B, tokens, C)
        k = self.k(normed).reshape(b, c, h * w)  # (B, C, tokens)
        v = self.v(normed).reshape(b, c, h * w)
        weights = torch.softmax(torch.bmm(q, k) * c**-0.5, dim=2)  # (B, query, key)
        attended = torch.bmm(v, weights.transpose(1, 2)).reshape(b, c, h, w)
        return self.proj_out(attended).add_(x)


class Downsample(nn.Module):
    """Stride-2 3x3 convolution after padding one pixel on the right and bottom only."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(channels, channels, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest-neighbour 2x upsampling followed by a 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(channels, channels)
        self._subpixel = runtime.DerivedWeights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if runtime.fast_kernels():
            if runtime.subpixel_pays_off(x.shape, self.conv.weight, x.dtype):
                conv = self.conv
                weight, bias = self._subpixel.get(
                    (conv.weight, conv.bias), None, lambda: runtime.subpixel_weights(conv.weight, conv.bias)
                )
                return runtime.pixel_shuffle_2x(runtime.conv3x3(x, weight, bias))
            return self.conv.run(runtime.UpsampledInput(x))
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
