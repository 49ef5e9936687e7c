"""How the network runs fast on a CPU; applied by the model's own ``encode``/``decode``.

Three measured facts drive this module (see docs/benchmarks.md):

* glibc returns large freed blocks to the kernel and maps them again on the next forward pass: about two
  million page faults per face. Keeping freed memory inside the process roughly halves the run time.
* Most of the time is 3x3 convolutions at 32x32 and above. PyTorch ships NNPACK, whose Winograd convolutions
  need about half the multiplications; the output stays within ~1e-4 of the exact convolution. Called
  directly (:mod:`.nnpack`), NNPACK also runs FFT convolutions, faster on the widest maps, and keeps a
  transformed kernel where that is worth its memory. Below 16 input or output channels (the first and last
  layers) the direct convolution is cheaper.
* Everything else (attention, norms) is small, but the decoder's largest maps (128 x 512 x 512 floats, 128 MB)
  are read and written several times around each convolution. Under ``Precision.FAST`` the layers therefore
  hand a 3x3 convolution a :class:`ConvInput` that writes each strip straight from its source (the silu of a
  norm's output, a 2x nearest upsampling) instead of materialising the map first, and the CFT fusion blocks
  rearrange their arithmetic (see ``fusion.CFTBlock``). The two largest upsampling convolutions run at the
  low resolution instead (:func:`subpixel_weights`). ``Precision.EXACT`` runs none of this.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import nn

from . import nnpack


class Precision(StrEnum):
    """How convolutions are computed during inference."""

    FAST = "fast"
    """Winograd convolutions where they pay off (CPU, NNPACK available); other layers exact."""
    EXACT = "exact"
    """Direct convolutions only: bit-for-bit the usual PyTorch result."""


#: Smallest feature-map side at which a Winograd convolution beats the direct one on our CPUs.
WINOGRAD_MIN_SIDE = 32
#: NNPACK transforms a whole image at once: about 2-3x the input's size in workspace (265 MB for a 128-channel
#: 512x512 map, FFT 16x16). Images above this size are convolved in horizontal strips. Each strip costs a copy in
#: and out, and NNPACK's FFT loses a fifth of its speed on strips, so none of the full-size network's maps is
#: split: measured, a 128 -> 64 convolution of a 512 x 512 map takes 0.14 s whole and 0.18 s in two strips.
WINOGRAD_STRIP_BYTES = 128 * 1024**2
#: Environment variable that, when set to 1, leaves the C allocator as it is.
KEEP_ALLOCATOR_ENV = "CODEFORMER_APP_KEEP_ALLOCATOR"
#: glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: Freed memory the process keeps before giving it back to the system.
_TRIM_THRESHOLD_BYTES = 1 << 30

#: Below this many input or output channels a Winograd convolution costs more than the direct one: transforming
#: a 64-channel 512x512 map for 3 output channels (the last layer) takes 4-5x as long as convolving it directly.
WINOGRAD_MIN_CHANNELS = 16

#: Smallest input side at which an upsampling convolution runs at the low resolution (:func:`subpixel_weights`):
#: measured, 256 -> 512 takes 0.20 s instead of 0.30 s and 128 -> 256 0.055 s instead of 0.061 s, while at 64
#: and below the four times wider convolution costs more than the upsampled one.
SUBPIXEL_MIN_SIDE = 128
#: :func:`pixel_shuffle_2x` rearranges this many bytes at a time: small enough to stay in cache, large enough to
#: keep both threads busy (measured on a 128 x 512 x 512 map: 21 ms, against 59 ms for ``F.pixel_shuffle``).
SHUFFLE_CHUNK_BYTES = 4 * 1024**2
#: NNPACK's FFT 16x16 algorithm runs maps at least this wide into at most this many channels: measured, a
#: 64 -> 64 convolution of a 512 x 512 map takes 80 ms instead of Winograd's 100 ms, while with more output
#: channels, or on 256 x 256 maps, Winograd stays faster.
FFT_MIN_SIDE = 512
FFT_MAX_OUT_CHANNELS = 64
#: Maps of these sides keep each convolution module's transformed kernel (:class:`KernelTransforms`): on the
#: 64 x 64 ones a 256 -> 256 convolution then takes 12.4 ms instead of 18.1, and a full restore 0.98x of the time,
#: for 193 MB kept. Adding the 32 x 32 ones kept 461 MB in all for no gain that showed beyond the noise.
KERNEL_REUSE_SIDES = frozenset({64})

_winograd_enabled: ContextVar[bool] = ContextVar("codeformer_winograd", default=False)
_fast_enabled: ContextVar[bool] = ContextVar("codeformer_fast", default=False)


@functools.cache
def nnpack_ready() -> bool:
    """Whether Winograd convolutions can run; the first call also initialises NNPACK (required)."""
    try:
        return bool(torch._nnpack_available())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def keep_freed_memory() -> bool:
    """Tell glibc to keep freed blocks for reuse instead of unmapping them; once per process.

    Costs about 0.5 GB of extra resident memory while a face is processed, saves ~45% of its time.
    Returns whether the setting was applied (glibc on Linux only).
    """
    if os.environ.get(KEEP_ALLOCATOR_ENV) == "1" or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl)
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))


@contextmanager
def inference(precision: Precision, device: torch.device) -> Iterator[None]:
    """Context for one encode or decode call: allocator tuned, Winograd enabled when asked and possible."""
    on_cpu = device.type == "cpu"
    if on_cpu:
        keep_freed_memory()
    fast = precision is Precision.FAST and on_cpu
    token = _winograd_enabled.set(fast and nnpack_ready())
    fast_token = _fast_enabled.set(fast)
    try:
        yield
    finally:
        _fast_enabled.reset(fast_token)
        _winograd_enabled.reset(token)


def fast_kernels() -> bool:
    """Whether the fast path's rearranged inference kernels apply right now (FAST on a CPU, no autograd)."""
    return _fast_enabled.get() and not torch.is_grad_enabled()


class ConvInput:
    """The input of a 3x3 convolution, produced whole or a band of rows at a time (for strips)."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    @property
    def shape(self) -> tuple[int, int, int, int]:
        b, c, h, w = self.x.shape
        return b, c, h, w

    def whole(self) -> torch.Tensor:
        return self.x

    def rows_into(self, dst: torch.Tensor, top: int, bottom: int) -> None:
        """Write rows ``top:bottom`` of the input into ``dst`` (B, C, bottom - top, W)."""
        dst.copy_(self.x[:, :, top:bottom])


class SiluInput(ConvInput):
    """``silu(x)``, computed straight into each strip: the activation and the strip copy are one pass."""

    def whole(self) -> torch.Tensor:
        return F.silu(self.x, inplace=True)

    def rows_into(self, dst: torch.Tensor, top: int, bottom: int) -> None:
        torch._C._nn.silu(self.x[:, :, top:bottom], out=dst)


class UpsampledInput(ConvInput):
    """``x`` upsampled 2x (nearest), made a strip at a time: the full-size map never exists."""

    @property
    def shape(self) -> tuple[int, int, int, int]:
        b, c, h, w = self.x.shape
        return b, c, 2 * h, 2 * w

    def whole(self) -> torch.Tensor:
        return F.interpolate(self.x, scale_factor=2.0, mode="nearest")

    def rows_into(self, dst: torch.Tensor, top: int, bottom: int) -> None:
        first = top // 2
        up = F.interpolate(self.x[:, :, first : (bottom + 1) // 2], scale_factor=2.0, mode="nearest")
        dst.copy_(up[:, :, top - 2 * first : bottom - 2 * first])


def winograd_conv3x3(
    source: torch.Tensor | ConvInput,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    kernels: KernelTransforms | None = None,
) -> torch.Tensor:
    """3x3, stride 1, padding 1 convolution through NNPACK, in strips of rows to bound its workspace.

    Strips are filled in place in one reused buffer (only its zero border rows are cleared), straight from
    ``source``: no padded copy of the map and, for computed inputs, no full-size intermediate. ``kernels``, the
    caller's keeper of the transformed kernel, is used on maps of :data:`KERNEL_REUSE_SIDES`.
    """
    src = source if isinstance(source, ConvInput) else ConvInput(source)
    b, c, h, w = src.shape
    keeper = kernels if h in KERNEL_REUSE_SIDES and w in KERNEL_REUSE_SIDES else None
    convolve = _nnpack_convolution(weight, bias, nnpack_algorithm(weight.shape[0], h, w), keeper)
    # called directly, NNPACK runs one image at a time; PyTorch's operator transforms the whole batch at once
    images_per_call = 1 if nnpack.available() else b
    rows = max(WINOGRAD_STRIP_BYTES // (images_per_call * c * w * weight.element_size()), 1)
    if rows >= h:
        return convolve(src.whole(), (1, 1, 1, 1))
    out = weight.new_empty((b, weight.shape[0], h, w))
    buffer = weight.new_empty(b * c * (rows + 2) * w)
    for top in range(0, h, rows):
        bottom = min(top + rows, h)
        # one row of context above and below, zeros at the image border (the convolution's own padding)
        first, last = max(top - 1, 0), min(bottom + 1, h)
        pad_top, pad_bottom = int(top == 0), int(bottom == h)
        height = last - first + pad_top + pad_bottom
        strip = buffer[: b * c * height * w].view(b, c, height, w)
        if pad_top:
            strip[:, :, 0].zero_()
        if pad_bottom:
            strip[:, :, -1].zero_()
        src.rows_into(strip[:, :, pad_top : height - pad_bottom], first, last)
        out[:, :, top:bottom] = convolve(strip, (0, 1, 0, 1))
    return out


def nnpack_algorithm(c_out: int, height: int, width: int) -> nnpack.Algorithm:
    """The faster of NNPACK's algorithms for a convolution of this shape, as measured (docs/benchmarks.md)."""
    if min(height, width) >= FFT_MIN_SIDE and c_out <= FFT_MAX_OUT_CHANNELS:
        return nnpack.Algorithm.FFT_16X16
    return nnpack.Algorithm.WINOGRAD_8X8


def _nnpack_convolution(
    weight: torch.Tensor, bias: torch.Tensor | None, algorithm: nnpack.Algorithm, kernels: KernelTransforms | None
) -> Callable[[torch.Tensor, tuple[int, int, int, int]], torch.Tensor]:
    """A function of (input, padding as top, right, bottom, left) that runs ``algorithm``, or PyTorch's own
    NNPACK operator (always Winograd) where NNPACK cannot be called directly."""
    if not nnpack.available():
        return lambda x, pad: torch._nnpack_spatial_convolution(x.contiguous(), weight, bias, [pad[0], pad[1]])
    transformed = None if kernels is None else kernels.get(weight, algorithm)
    return lambda x, pad: nnpack.convolve(x, weight, bias, pad, algorithm, transformed)


def winograd_pays_off(x_shape: torch.Size | tuple[int, ...], weight: torch.Tensor, dtype: torch.dtype) -> bool:
    """Whether a 3x3, stride-1, padding-1 convolution of this input shape should run as a Winograd one now."""
    return (
        _winograd_enabled.get()
        and dtype == torch.float32
        and x_shape[-1] >= WINOGRAD_MIN_SIDE
        and x_shape[-2] >= WINOGRAD_MIN_SIDE
        and min(weight.shape[0], weight.shape[1]) >= WINOGRAD_MIN_CHANNELS
        and not torch.is_grad_enabled()
    )


def use_winograd(conv: nn.Conv2d, x_shape: torch.Size | tuple[int, ...], dtype: torch.dtype) -> bool:
    """Whether this 3x3 convolution of an input of this shape should run as a Winograd convolution right now."""
    return (
        conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and winograd_pays_off(x_shape, conv.weight, dtype)
    )


def conv3x3(source: torch.Tensor | ConvInput, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """3x3, stride 1, padding 1 convolution of a plain or computed input, Winograd where it pays off."""
    src = source if isinstance(source, ConvInput) else ConvInput(source)
    if winograd_pays_off(src.shape, weight, src.x.dtype):
        return winograd_conv3x3(src, weight, bias)
    return F.conv2d(src.whole(), weight, bias, padding=1)


#: How a 3x3 kernel applied after a 2x nearest upsampling reads the low-resolution map, per output parity:
#: ``_NEAREST_2X_TAPS[parity][low_offset][tap]`` is 1 where the kernel's ``tap`` (0, 1, 2 for offsets -1, 0, +1
#: in the upsampled map) lands on the low-resolution neighbour ``low_offset`` (also -1, 0, +1). Even output rows
#: read rows ``i-1, i, i`` of the low-resolution map, odd ones ``i, i, i+1``.
_NEAREST_2X_TAPS = (
    ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (1.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
)


def subpixel_weights(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights that compute ``conv3x3(upsample_nearest_2x(x))`` as ``pixel_shuffle(conv3x3(x, ...), 2)``.

    Each output pixel of the upsampled convolution sees only a 2x2 patch of the low-resolution map, with summed
    kernel taps; the four parities become four times as many output channels at the low resolution, so the
    Winograd input transform (the costly part for wide maps) runs on a quarter of the pixels.
    """
    taps = torch.tensor(_NEAREST_2X_TAPS, dtype=weight.dtype, device=weight.device)
    # (out, parity y, parity x, in, low y, low x): pixel_shuffle reads channel ``out * 4 + py * 2 + px``
    combined = torch.einsum("pay,qbx,oiyx->opqiab", taps, taps, weight)
    out_channels, in_channels = weight.shape[:2]
    return combined.reshape(4 * out_channels, in_channels, 3, 3).contiguous(), bias.repeat_interleave(4)


def subpixel_pays_off(x_shape: torch.Size | tuple[int, ...], weight: torch.Tensor, dtype: torch.dtype) -> bool:
    """Whether an upsampling convolution of this low-resolution input should run at the low resolution now."""
    return min(x_shape[-1], x_shape[-2]) >= SUBPIXEL_MIN_SIDE and winograd_pays_off(x_shape, weight, dtype)


def pixel_shuffle_2x(y: torch.Tensor) -> torch.Tensor:
    """``F.pixel_shuffle(y, 2)``, a few channels at a time (PyTorch's one-pass version misses the cache)."""
    b, c4, h, w = y.shape
    channels = c4 // 4
    out = y.new_empty((b, channels, 2 * h, 2 * w))
    # out[n, c, 2i + py, 2j + px] = y[n, 4c + 2py + px, i, j]
    out6 = out.view(b, channels, h, 2, w, 2)
    y6 = y.view(b, channels, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    step = max(SHUFFLE_CHUNK_BYTES // (4 * h * w * y.element_size()), 1)
    for n in range(b):
        for first in range(0, channels, step):
            out6[n, first : first + step].copy_(y6[n, first : first + step])
    return out


class DerivedWeights:
    """Tensors computed from a module's parameters, kept until a parameter is replaced or changed in place
    (``load_state_dict`` copies in place, which bumps the tensor's version) or ``extra`` changes."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._value: tuple[torch.Tensor, ...] = ()

    def get(
        self, params: Sequence[torch.Tensor], extra: Hashable, make: Callable[[], tuple[torch.Tensor, ...]]
    ) -> tuple[torch.Tensor, ...]:
        key = (extra, *((p.data_ptr(), p._version) for p in params))
        if self._key != key:
            self._value = make()
            self._key = key
        return self._value


class KernelTransforms:
    """NNPACK's transform of one convolution module's kernel, kept with the kernel it was made from.

    It is made again for another tensor (compared by identity: a freed tensor's address can come back), after
    the kernel changed in place (``load_state_dict``, an optimiser step), when its storage was swapped
    (``param.data = ...``, as ``module.to`` does) or for another algorithm.
    """

    def __init__(self) -> None:
        self._kernel: torch.Tensor | None = None
        self._key: tuple | None = None
        self._transformed: torch.Tensor | None = None

    def get(self, kernel: torch.Tensor, algorithm: nnpack.Algorithm) -> torch.Tensor:
        # a model built under inference mode has inference tensors, which keep no version (nor change in place)
        key = (algorithm, kernel.data_ptr(), 0 if kernel.is_inference() else kernel._version)
        if self._transformed is None or self._kernel is not kernel or self._key != key:
            self._transformed = None  # the old transform is freed before the new one is made
            self._transformed = nnpack.transform_kernel(kernel, algorithm)
            self._kernel, self._key = kernel, key
        return self._transformed
