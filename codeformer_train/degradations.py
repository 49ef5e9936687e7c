"""CodeFormer's synthetic degradation (blur, downsample, noise, JPEG, upsample), drawn from a seeded generator.

The official training (``FFHQBlindDataset`` in sczhou/CodeFormer, after GFPGAN's ``FFHQDegradationDataset``)
draws its parameters from numpy's global RNG, so a run cannot be reproduced or resumed exactly. Here drawing
and applying are separate: ``sample_degradation`` draws every parameter from a ``numpy.random.Generator`` the
caller owns, and ``degrade`` is a pure function of the face and those parameters. The global RNG is never used.

The blur kernel and JPEG step are basicsr's own deterministic functions, so the images match the official
recipe's. basicsr's ``add_gaussian_noise`` draws from the global RNG, so the noise (the same formula:
per-channel Gaussian noise of ``sigma / 255``, then clipping to [0, 1]) is drawn here from a generator seeded
by ``DegradationParams.noise_seed``.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from types import ModuleType

import cv2
import numpy as np

from codeformer_app.compat import import_basicsr

#: The official blur kernel is 41 x 41 (``blur_kernel_size`` in CodeFormer_stage2.yml / stage3.yml).
OFFICIAL_KERNEL_SIZE = 41
#: Official ``kernel_prob: [0.5, 0.5]`` for ``kernel_list: ['iso', 'aniso']``.
OFFICIAL_ISOTROPIC_PROBABILITY = 0.5
#: Rotation of an anisotropic kernel is uniform in [-pi, pi] (basicsr's default ``rotation_range``).
ROTATION_RANGE = (-math.pi, math.pi)
#: Noise sigmas are given on the 0-255 scale, like the official ``noise_range``.
PIXEL_SCALE = 255.0
#: cv2's JPEG quality runs from 0 to 100.
JPEG_QUALITY_BOUNDS = (0, 100)
#: A downsampled face is never smaller than 1 x 1: with the tests' 32 px faces, ``32 // 30`` would be 0.
MIN_DOWNSAMPLED_SIDE = 1
#: Upper bound of the seed for the noise generator (any 63-bit value; numpy accepts non-negative ints).
NOISE_SEED_BOUND = 2**63


@functools.cache
def _basicsr_degradations() -> ModuleType:
    """basicsr's ``data.degradations``, imported once, on first use (it pulls in basicsr and torchvision)."""
    return import_basicsr("data.degradations")


def _check_range(name: str, bounds: tuple[float, float], minimum: float, maximum: float = math.inf) -> None:
    if len(bounds) != 2:
        raise ValueError(f"{name} must be two numbers (low, high), got {bounds!r}")
    low, high = bounds
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} must be two finite numbers, got {bounds!r}")
    if low > high:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {bounds!r}")
    if low < minimum or high > maximum:
        raise ValueError(f"{name} must lie within [{minimum}, {maximum}], got {bounds!r}")


@dataclass(frozen=True)
class DegradationRanges:
    """Where each degradation parameter is drawn from; the defaults are stage II's "large" degradation."""

    kernel_size: int = OFFICIAL_KERNEL_SIZE
    isotropic_probability: float = OFFICIAL_ISOTROPIC_PROBABILITY
    #: Gaussian blur standard deviation in pixels of the clean face, for each axis.
    blur_sigma: tuple[float, float] = (1.0, 15.0)
    #: Downsampling factor: the face is shrunk to ``int(size // scale)`` pixels.
    downsample: tuple[float, float] = (4.0, 30.0)
    #: Gaussian noise standard deviation on the 0-255 scale.
    noise: tuple[float, float] = (0.0, 20.0)
    #: JPEG quality, both ends included.
    jpeg_quality: tuple[int, int] = (30, 80)

    def __post_init__(self) -> None:
        if isinstance(self.kernel_size, bool) or not isinstance(self.kernel_size, int) or self.kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive integer, got {self.kernel_size!r}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd so the kernel has a centre pixel, got {self.kernel_size}")
        if not 0.0 <= self.isotropic_probability <= 1.0:
            raise ValueError(f"isotropic_probability must lie within [0, 1], got {self.isotropic_probability!r}")
        _check_range("blur_sigma", self.blur_sigma, minimum=0.0)
        if self.blur_sigma[0] <= 0.0:
            raise ValueError(f"blur_sigma must be positive (a zero sigma has no Gaussian), got {self.blur_sigma!r}")
        _check_range("downsample", self.downsample, minimum=1.0)  # a factor below 1 would enlarge, not degrade
        _check_range("noise", self.noise, minimum=0.0)
        if not all(isinstance(q, int) and not isinstance(q, bool) for q in self.jpeg_quality):
            raise ValueError(f"jpeg_quality must be two integers, got {self.jpeg_quality!r}")
        _check_range("jpeg_quality", self.jpeg_quality, *JPEG_QUALITY_BOUNDS)


#: Stage II (codebook lookup): CodeFormer_stage2.yml.
LARGE_DEGRADATION = DegradationRanges()
#: Stage III (controllable feature transform): CodeFormer_stage3.yml.
SMALL_DEGRADATION = DegradationRanges(
    blur_sigma=(0.1, 10.0), downsample=(1.0, 12.0), noise=(0.0, 15.0), jpeg_quality=(60, 100)
)


@dataclass(frozen=True)
class DegradationParams:
    """One drawn degradation: with the kernel size, everything ``degrade`` needs to reproduce the image."""

    isotropic: bool
    sigma_x: float
    sigma_y: float
    #: Rotation of the kernel in radians (0 for an isotropic kernel).
    theta: float
    scale: float
    #: On the 0-255 scale.
    noise_sigma: float
    jpeg_quality: int
    #: Seeds the generator of the noise pixels, so the noise is part of the parameters, not of hidden state.
    noise_seed: int = 0

    def __post_init__(self) -> None:
        if not (self.sigma_x > 0.0 and self.sigma_y > 0.0):
            raise ValueError(f"blur sigmas must be positive, got {self.sigma_x!r} and {self.sigma_y!r}")
        if not self.scale >= 1.0:
            raise ValueError(f"the downsampling scale must be at least 1, got {self.scale!r}")
        if not self.noise_sigma >= 0.0:
            raise ValueError(f"the noise sigma must not be negative, got {self.noise_sigma!r}")
        if not isinstance(self.jpeg_quality, numbers.Integral) or isinstance(self.jpeg_quality, bool):
            raise ValueError(f"the JPEG quality must be an integer, got {self.jpeg_quality!r}")
        if not JPEG_QUALITY_BOUNDS[0] <= self.jpeg_quality <= JPEG_QUALITY_BOUNDS[1]:
            raise ValueError(f"the JPEG quality must lie within {JPEG_QUALITY_BOUNDS}, got {self.jpeg_quality!r}")
        if not 0 <= self.noise_seed < NOISE_SEED_BOUND:
            raise ValueError(f"noise_seed must be a non-negative 63-bit integer, got {self.noise_seed!r}")


def sample_degradation(ranges: DegradationRanges, rng: np.random.Generator) -> DegradationParams:
    """Draw one degradation the way the official recipe does, from ``rng`` only.

    Every call takes the same number of draws from ``rng`` whatever the kernel type, so the stream position
    after a call never depends on the values drawn.
    """
    isotropic = bool(rng.random() < ranges.isotropic_probability)
    sigma_x = float(rng.uniform(*ranges.blur_sigma))
    sigma_y = float(rng.uniform(*ranges.blur_sigma))
    theta = float(rng.uniform(*ROTATION_RANGE))
    scale = float(rng.uniform(*ranges.downsample))
    noise_sigma = float(rng.uniform(*ranges.noise))
    jpeg_quality = int(rng.integers(ranges.jpeg_quality[0], ranges.jpeg_quality[1], endpoint=True))
    noise_seed = int(rng.integers(NOISE_SEED_BOUND))
    if isotropic:
        sigma_y, theta = sigma_x, 0.0
    return DegradationParams(isotropic, sigma_x, sigma_y, theta, scale, noise_sigma, jpeg_quality, noise_seed)


def blur_kernel(params: DegradationParams, kernel_size: int) -> np.ndarray:
    """The normalised ``kernel_size`` x ``kernel_size`` Gaussian kernel of ``params`` (basicsr's formula)."""
    return _basicsr_degradations().bivariate_Gaussian(
        kernel_size, params.sigma_x, params.sigma_y, params.theta, isotropic=params.isotropic
    )


def downsampled_side(size: int, scale: float) -> int:
    """The official ``int(size // scale)``, but at least ``MIN_DOWNSAMPLED_SIDE`` so tiny faces still work."""
    return max(MIN_DOWNSAMPLED_SIDE, int(size // scale))


def degrade(face: np.ndarray, params: DegradationParams, kernel_size: int) -> np.ndarray:
    """The low-quality version of a clean face: blur, downsample, noise, JPEG, then back to the face's size.

    ``face`` is a square float32 BGR ``S x S x 3`` image in [0, 1]; the result has the same shape and range.
    """
    if face.ndim != 3 or face.shape[2] != 3 or face.shape[0] != face.shape[1] or face.shape[0] == 0:
        raise ValueError(f"degrade needs a square S x S x 3 BGR face, got shape {face.shape}")
    if face.dtype != np.float32:
        raise ValueError(f"degrade needs a float32 face in [0, 1], got {face.dtype}")
    size = face.shape[0]
    image = cv2.filter2D(face, -1, blur_kernel(params, kernel_size))
    side = downsampled_side(size, params.scale)
    image = cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)
    noise = np.random.default_rng(params.noise_seed).standard_normal(image.shape, dtype=np.float32)
    image = np.clip(image + noise * np.float32(params.noise_sigma / PIXEL_SCALE), 0.0, 1.0)
    image = _basicsr_degradations().add_jpg_compression(image, params.jpeg_quality)
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False)
