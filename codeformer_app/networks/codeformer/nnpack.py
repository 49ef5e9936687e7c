"""NNPACK's own C entry point for 3x3 convolutions, reached in the copy that PyTorch's CPU library carries.

``torch._nnpack_spatial_convolution`` always runs Winograd F(6x6, 3x3) and transforms the kernel on every call.
Called directly, NNPACK also offers its FFT 16x16 algorithm, which is about a fifth faster on our 64-channel
512 x 512 maps, lets a transformed kernel be kept (a third faster for 256 channels at 64 x 64, where the kernel
transform is a large part of the work), and takes a workspace from us, which PyTorch's operator allocates anew
in each call (docs/benchmarks.md).

The symbols are public NNPACK API (``nnpack.h``) and pthreadpool's, exported by ``libtorch_cpu``; when a PyTorch
build lacks them, :func:`available` is False and the caller keeps PyTorch's own NNPACK operator.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from enum import IntEnum
from pathlib import Path

import torch


class Algorithm(IntEnum):
    """``enum nnp_convolution_algorithm`` (nnpack.h)."""

    FFT_16X16 = 2
    WINOGRAD_8X8 = 3


class _Strategy(IntEnum):
    """``enum nnp_convolution_transform_strategy`` (nnpack.h): what happens to the kernel in a call."""

    COMPUTE = 1
    """transform it, then convolve"""
    PRECOMPUTE = 2
    """only transform it, into the workspace buffer"""
    REUSE = 3
    """convolve with a kernel transformed before"""


_SUCCESS = 0
_ACTIVATION_IDENTITY = 0
KERNEL_SIDE = 3


class _Size(ctypes.Structure):
    _fields_ = [("width", ctypes.c_size_t), ("height", ctypes.c_size_t)]


class _Padding(ctypes.Structure):
    _fields_ = [(side, ctypes.c_size_t) for side in ("top", "right", "bottom", "left")]


class NnpackError(RuntimeError):
    """NNPACK refused a call (its status code is in the message)."""


class _Api:
    def __init__(self, library: ctypes.CDLL) -> None:
        self.convolve = library.nnp_convolution_inference
        self.convolve.restype = ctypes.c_int
        self.convolve.argtypes = (
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_size_t,
            ctypes.c_size_t,
            _Size,
            _Padding,
            _Size,
            _Size,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.c_int,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        self.create_pool = library.pthreadpool_create
        self.create_pool.restype = ctypes.c_void_p
        self.create_pool.argtypes = (ctypes.c_size_t,)
        self._pools: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()

    def pool(self) -> int:
        """A thread pool as wide as PyTorch's intra-op pool; kept for the process (one per width asked for).

        Keyed by process too: a forked child inherits the pool's handle but not its threads, so it makes its own.
        """
        key = (os.getpid(), torch.get_num_threads())
        with self._lock:
            if key not in self._pools:
                self._pools[key] = self.create_pool(key[1])
            return self._pools[key]


@functools.cache
def _api() -> _Api | None:
    if not torch._nnpack_available():  # this call also initialises NNPACK, which every entry point needs
        return None
    path = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        return _Api(ctypes.CDLL(str(path)))
    except (OSError, AttributeError):
        return None


class _Workspace:
    """One workspace for the process, grown to the largest request and kept.

    NNPACK's thread pool runs one convolution at a time anyway, so sharing it under a lock costs no parallelism;
    allocating 100-300 MB anew for each call instead fragments the heap and raised a face's peak memory by up to
    0.8 GB in our measurements.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._buffer = torch.empty(0, dtype=torch.float32)

    def at_least(self, nbytes: int) -> torch.Tensor:
        """The buffer, at least ``nbytes`` long; call with :attr:`lock` held."""
        if self._buffer.numel() * 4 < nbytes:
            self._buffer = torch.empty(0, dtype=torch.float32)  # the old one is freed before the new one is taken
            self._buffer = torch.empty(nbytes // 4 + 1, dtype=torch.float32)
        return self._buffer


_workspace = _Workspace()


def available() -> bool:
    """Whether NNPACK can be called directly in this process."""
    return _api() is not None


def _sizes(c_in: int, c_out: int, height: int, width: int, padding: tuple[int, int, int, int]) -> tuple:
    return (c_in, c_out, _Size(width, height), _Padding(*padding), _Size(KERNEL_SIDE, KERNEL_SIDE), _Size(1, 1))


def _call(
    api: _Api,
    algorithm: Algorithm,
    strategy: _Strategy,
    sizes: tuple,
    data: tuple,
    workspace: int | None,
    size: ctypes.c_size_t,
) -> int:
    """``nnp_convolution_inference``; ``data`` holds the input, kernel, bias and output addresses (or None)."""
    return api.convolve(
        algorithm,
        strategy,
        *sizes,
        *data,
        workspace,
        ctypes.byref(size),
        _ACTIVATION_IDENTITY,
        None,  # activation parameters
        api.pool(),
        None,  # profile
    )


def _workspace_bytes(api: _Api, algorithm: Algorithm, strategy: _Strategy, sizes: tuple) -> int:
    """What NNPACK asks for when called with no buffers: the workspace this call needs (for ``PRECOMPUTE``: the
    size of the transformed kernel)."""
    size = ctypes.c_size_t(0)
    status = _call(api, algorithm, strategy, sizes, (None, None, None, None), None, size)
    if status != _SUCCESS:
        raise NnpackError(f"NNPACK could not size its workspace (status {status})")
    return size.value


def transform_kernel(weight: torch.Tensor, algorithm: Algorithm) -> torch.Tensor:
    """``weight`` (C_out, C_in, 3, 3) as ``algorithm`` uses it, for :func:`convolve`'s ``transformed``. For
    Winograd it is about 7 times the kernel's size (17 MB for 256 -> 256)."""
    api = _api()
    assert api is not None
    c_out, c_in = weight.shape[:2]
    # The transformed kernel depends on the channels and the algorithm only; the image size is a formality.
    sizes = _sizes(c_in, c_out, 16, 16, (1, 1, 1, 1))
    transformed = torch.empty(_workspace_bytes(api, algorithm, _Strategy.PRECOMPUTE, sizes) // 4 + 1)
    size = ctypes.c_size_t(transformed.numel() * 4)
    kernel = weight.detach().contiguous()
    data = (None, kernel.data_ptr(), None, None)
    status = _call(api, algorithm, _Strategy.PRECOMPUTE, sizes, data, transformed.data_ptr(), size)
    if status != _SUCCESS:
        raise NnpackError(f"NNPACK could not transform a {c_out}x{c_in} kernel (status {status})")
    return transformed


def convolve(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: tuple[int, int, int, int],
    algorithm: Algorithm,
    transformed: torch.Tensor | None = None,
) -> torch.Tensor:
    """3x3, stride-1 convolution of ``x`` (B, C, H, W), float32; ``padding`` is (top, right, bottom, left).

    One image at a time, in the process's one workspace. ``transformed``: :func:`transform_kernel` of ``weight``
    for the same algorithm, which then is not transformed again.
    """
    api = _api()
    assert api is not None
    x = x.contiguous()
    b, c_in, height, width = x.shape
    c_out = weight.shape[0]
    top, right, bottom, left = padding
    out = x.new_empty((b, c_out, height + top + bottom - 2, width + left + right - 2))
    sizes = _sizes(c_in, c_out, height, width, padding)
    strategy = _Strategy.COMPUTE if transformed is None else _Strategy.REUSE
    kernel = weight.detach().contiguous() if transformed is None else transformed
    bias = x.new_zeros(c_out) if bias is None else bias.detach().contiguous()
    with _workspace.lock:
        workspace = _workspace.at_least(_workspace_bytes(api, algorithm, strategy, sizes))
        size = ctypes.c_size_t(workspace.numel() * 4)
        for n in range(b):
            data = (x[n].data_ptr(), kernel.data_ptr(), bias.data_ptr(), out[n].data_ptr())
            status = _call(api, algorithm, strategy, sizes, data, workspace.data_ptr(), size)
            if status != _SUCCESS:
                shape = f"{c_in}->{c_out} convolution of {height}x{width}"
                raise NnpackError(f"NNPACK refused a {shape} (status {status})")
    return out
