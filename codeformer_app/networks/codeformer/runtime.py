"""How the network runs fast on a CPU; applied by the model's own ``encode``/``decode``.

Three measured facts drive this module (see docs/benchmarks.md):

* glibc returns large freed blocks to the kernel and maps them again on the next forward pass: about two
  million page faults per face. Keeping freed memory inside the process roughly halves the run time.
* Most of the time is 3x3 convolutions at 32x32 and above. PyTorch ships NNPACK, whose Winograd convolutions
  need about half the multiplications; the output stays within ~1e-4 of the exact convolution.
* Everything else (attention, norms) is small.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum

import torch
import torch.nn.functional as F
from torch import nn


class Precision(StrEnum):
    """How convolutions are computed during inference."""

    FAST = "fast"
    """Winograd convolutions where they pay off (CPU, NNPACK available); other layers exact."""
    EXACT = "exact"
    """Direct convolutions only: bit-for-bit the usual PyTorch result."""


#: Smallest feature-map side at which a Winograd convolution beats the direct one on our CPUs.
WINOGRAD_MIN_SIDE = 32
#: NNPACK transforms its whole input at once: about 3-5x the input's size in workspace (360 MB for a 128-channel
#: 512x512 map). Maps above this size are convolved in horizontal strips. Each strip costs a copy in and out, so
#: the limit is set to split only the largest maps: measured, 16 MB strips cost ~0.5 s per face, 64 MB ~0.05 s.
WINOGRAD_STRIP_BYTES = 64 * 1024**2
#: Environment variable that, when set to 1, leaves the C allocator as it is.
KEEP_ALLOCATOR_ENV = "CODEFORMER_APP_KEEP_ALLOCATOR"
#: glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: Freed memory the process keeps before giving it back to the system.
_TRIM_THRESHOLD_BYTES = 1 << 30

_winograd_enabled: ContextVar[bool] = ContextVar("codeformer_winograd", default=False)


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
    token = _winograd_enabled.set(precision is Precision.FAST and on_cpu and nnpack_ready())
    try:
        yield
    finally:
        _winograd_enabled.reset(token)


def winograd_conv3x3(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """3x3, stride 1, padding 1 convolution through NNPACK, in strips of rows to bound its workspace."""
    b, c, h, w = x.shape
    rows = max(WINOGRAD_STRIP_BYTES // (b * c * w * x.element_size()), 1)
    if rows >= h:
        return torch._nnpack_spatial_convolution(x.contiguous(), weight, bias, [1, 1])
    out = x.new_empty((b, weight.shape[0], h, w))
    for top in range(0, h, rows):
        bottom = min(top + rows, h)
        # one row of context above and below, zeros at the image border (the convolution's own padding)
        strip = x[:, :, max(top - 1, 0) : min(bottom + 1, h)]
        strip = F.pad(strip, (0, 0, int(top == 0), int(bottom == h)))
        out[:, :, top:bottom] = torch._nnpack_spatial_convolution(strip.contiguous(), weight, bias, [0, 1])
    return out


def use_winograd(conv: nn.Conv2d, x: torch.Tensor) -> bool:
    """Whether this 3x3 convolution should run as a Winograd convolution right now."""
    return (
        _winograd_enabled.get()
        and x.dtype == torch.float32
        and x.shape[-1] >= WINOGRAD_MIN_SIDE
        and x.shape[-2] >= WINOGRAD_MIN_SIDE
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and not torch.is_grad_enabled()
    )
