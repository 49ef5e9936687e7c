"""LPIPS perceptual distance (Zhang et al. 2018, v0.1, VGG16 variant) as a frozen training loss.

Written here rather than taken from the ``lpips`` package so that its weights load only through
``torch.load(weights_only=True)``, nothing is downloaded behind the user's back, and the state dict keeps
readable names. The layout matches LPIPS v0.1 exactly, so torchvision's ImageNet VGG16 file and LPIPS's
``vgg.pth`` load without conversion. The network never learns: its parameters are frozen, and gradients
flow only to the images it compares (the generator's output).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

import torch
import torchvision
from torch import Tensor, nn

from codeformer_app.errors import WeightsError
from codeformer_app.networks.state_dict import load_strict
from codeformer_app.weights.safe_load import read_state_dict


@dataclass(frozen=True)
class Tap:
    """One VGG16 activation that LPIPS compares."""

    name: str
    #: The tap is the output of ``features[:end]`` in torchvision's ``vgg16().features``.
    end: int
    channels: int


#: The five taps, shallow to deep: the outputs of relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3.
TAPS: tuple[Tap, ...] = (
    Tap("relu1_2", 4, 64),
    Tap("relu2_2", 9, 128),
    Tap("relu3_3", 16, 256),
    Tap("relu4_3", 23, 512),
    Tap("relu5_3", 30, 512),
)
#: LPIPS v0.1 maps [-1, 1] RGB to ImageNet-normalised input with (x - shift) / scale, per channel.
INPUT_SHIFT = (-0.030, -0.088, -0.188)
INPUT_SCALE = (0.458, 0.448, 0.450)
RGB_CHANNELS = 3
#: Added to each feature vector's L2 norm before dividing by it, as LPIPS does.
NORM_EPS = 1e-10
#: relu5_3 comes after four 2x poolings: a smaller image has no pixel left there.
MIN_SIDE = 2**4
#: Key prefix of the classifier in torchvision's VGG16 file; LPIPS uses only the convolutional part.
VGG_CLASSIFIER_PREFIX = "classifier."
#: LPIPS's ``vgg.pth`` names tap K's module ``lin{K}``: a Sequential of (Dropout, 1x1 conv).
OFFICIAL_LIN_PREFIX = "lin"
#: Names used in error messages.
BACKBONE_NAME = "torchvision VGG16 backbone"
LIN_NAME = "LPIPS v0.1 VGG lin-layer"
#: ``seeded_random`` draws lin weights uniformly from this range (the official ones lie in about 0.01 .. 1.3).
SEEDED_LIN_RANGE = (0.01, 1.0)


class VGG16Taps(nn.Module):
    """torchvision's VGG16 convolutional layers up to relu5_3; returns the five LPIPS taps.

    The state dict keys are torchvision's (``features.0.weight`` ...), so its ImageNet file loads as it is.
    """

    def __init__(self) -> None:
        super().__init__()
        # Built on the meta device: vgg16() also builds a 124M-parameter classifier (about 1 s and 500 MB)
        # that LPIPS never uses. Only the layers up to relu5_3 are then given real memory.
        with torch.device("meta"):
            layers = torchvision.models.vgg16(weights=None).features[: TAPS[-1].end]
        self.features = layers.to_empty(device="cpu")
        for layer in self.features:
            if isinstance(layer, nn.Conv2d):
                _initialise_like_torchvision(layer)

    def forward(self, x: Tensor) -> list[Tensor]:
        """The activations at each tap, shallow to deep."""
        ends = {tap.end for tap in TAPS}
        taps = []
        for count, layer in enumerate(self.features, start=1):
            x = layer(x)
            if count in ends:
                taps.append(x)
        return taps


def _initialise_like_torchvision(conv: nn.Conv2d) -> None:
    """The initialisation ``vgg16(weights=None)`` gives, which the meta-device build skipped.

    Only matters for ``seeded_random`` (and keeps its random backbone well scaled); real use loads weights.
    """
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def unit_normalise(features: Tensor) -> Tensor:
    """Each pixel's feature vector divided by its L2 norm over channels (plus ``NORM_EPS``).

    ``vector_norm`` rather than ``sqrt(sum(x**2))``: same value, but its gradient at an all-zero vector (a
    pixel where every ReLU is off) is zero instead of NaN, which would poison a training step.
    """
    return features / (torch.linalg.vector_norm(features, dim=1, keepdim=True) + NORM_EPS)


class PerceptualLoss(nn.Module):
    """LPIPS distance between images in [-1, 1] RGB, ``(B, 3, H, W)`` with H, W >= 16; frozen.

    The constructor builds the architecture only (random backbone, lin layers at 1, the paper's unlearned
    baseline); use ``from_files`` (or ``perceptual_weights.load_perceptual_loss``) for the real loss.
    State dict keys: ``vgg.features.N.weight/bias`` and ``lin.relu1_2.weight`` ... ``lin.relu5_3.weight``.
    """

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = weight
        self.vgg = VGG16Taps()
        self.lin = nn.ModuleDict({tap.name: nn.Conv2d(tap.channels, 1, kernel_size=1, bias=False) for tap in TAPS})
        with torch.no_grad():
            for conv in self.lin.values():
                conv.weight.fill_(1.0)
        # Constants of the method, not weights: kept out of the state dict.
        self.register_buffer("shift", torch.tensor(INPUT_SHIFT).view(1, RGB_CHANNELS, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(INPUT_SCALE).view(1, RGB_CHANNELS, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> Self:
        """Stays in eval mode whatever the trainer sets: the loss is a fixed measuring instrument."""
        return super().train(False)

    def distance(self, a: Tensor, b: Tensor) -> Tensor:
        """LPIPS distance of each image pair, shape ``(B,)``; 0 for identical images."""
        _check_pair(a, b)
        batch = a.shape[0]
        # One backbone pass for both images: VGG16 has no batch-dependent layers.
        both = (torch.cat([a, b]) - self.shift) / self.scale
        total = a.new_zeros(batch)
        for tap, features in zip(TAPS, self.vgg(both), strict=True):
            normalised = unit_normalise(features)
            squared_difference = (normalised[:batch] - normalised[batch:]).square()
            total = total + self.lin[tap.name](squared_difference).mean(dim=(1, 2, 3))
        return total

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        """``weight`` times the batch mean of the distance: a scalar to add to the generator's loss."""
        return self.weight * self.distance(output, target).mean()

    def extra_repr(self) -> str:
        return f"weight={self.weight}"

    @classmethod
    def from_files(cls, vgg_path: Path, lin_path: Path, weight: float = 1.0) -> Self:
        """The real loss from torchvision's VGG16 file and LPIPS's ``vgg.pth`` (``.pth`` or ``.safetensors``).

        Both are checked strictly; ``WeightsError`` names the file and what does not fit. The VGG16
        classifier keys are ignored.
        """
        vgg_path, lin_path = Path(vgg_path), Path(lin_path)
        loss = cls(weight)
        vgg_state, _ = read_state_dict(vgg_path)
        backbone = {key: value for key, value in vgg_state.items() if not key.startswith(VGG_CLASSIFIER_PREFIX)}
        load_strict(loss.vgg, backbone, vgg_path, BACKBONE_NAME)
        lin_state, _ = read_state_dict(lin_path)
        load_strict(_official_lin_layout(loss.lin), lin_state, lin_path, LIN_NAME)
        _check_non_negative(loss.lin, lin_path)
        return loss

    @classmethod
    def seeded_random(cls, seed: int, weight: float = 1.0) -> Self:
        """For tests: a random backbone and positive random lin weights from ``seed``; reads no file.

        The global random state is left as it was.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            loss = cls(weight)
            with torch.no_grad():
                for conv in loss.lin.values():
                    conv.weight.uniform_(*SEEDED_LIN_RANGE)
        return loss


def _official_lin_layout(lin: nn.ModuleDict) -> nn.Module:
    """Our lin convs seen under LPIPS's key names, so ``load_strict`` checks the file in its own terms.

    The view shares the convs: loading into it loads into ``lin``.
    """
    view = nn.Module()
    for index, tap in enumerate(TAPS):
        holder = nn.Module()
        # nn.Identity stands in for LPIPS's dropout (no weights), so the conv sits at index 1 as in the file.
        holder.model = nn.Sequential(nn.Identity(), lin[tap.name])
        view.add_module(f"{OFFICIAL_LIN_PREFIX}{index}", holder)
    return view


def _check_non_negative(lin: nn.ModuleDict, path: Path) -> None:
    """LPIPS's lin weights are non-negative, so each tap adds a distance >= 0; refuse a file that breaks this."""
    bad = [
        f"{OFFICIAL_LIN_PREFIX}{index} ({tap.name})"
        for index, tap in enumerate(TAPS)
        if not bool((lin[tap.name].weight >= 0).all())
    ]
    if bad:
        raise WeightsError(
            path,
            f"the {LIN_NAME} weights must be non-negative, but {', '.join(bad)} has negative or NaN values; "
            "this is not an LPIPS weights file",
        )


def _check_pair(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"the two image batches differ in shape: {tuple(a.shape)} and {tuple(b.shape)}")
    if a.ndim != 4 or a.shape[1] != RGB_CHANNELS:
        raise ValueError(f"expected RGB image batches of shape (B, 3, H, W), got {tuple(a.shape)}")
    if min(a.shape[2:]) < MIN_SIDE:
        raise ValueError(
            f"images must be at least {MIN_SIDE}x{MIN_SIDE} pixels for VGG16's relu5_3, got {tuple(a.shape)}"
        )
