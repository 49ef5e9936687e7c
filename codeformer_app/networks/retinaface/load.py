"""RetinaFace from a state dict: which backbone its keys say, and facexlib's module built without a download.

facexlib's ``RetinaFace`` class is the network definition, but it is never asked to fetch anything: the
ResNet-50 backbone is created without pretrained weights and MobileNet-0.25 has none to load, so building
reads no file and opens no connection; the tensors come from our installed file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ...errors import WeightsError
from ..architecture import Architecture
from ..state_dict import StateDict, load_strict, missing_keys, without_random_init

#: The official checkpoint was saved from ``nn.DataParallel``: its keys carry this prefix.
DATA_PARALLEL_PREFIX = "module."
#: facexlib's names of the two backbones.
RESNET50 = "resnet50"
MOBILENET = "mobile0.25"
#: A key only each backbone has (after the prefix is removed).
BACKBONE_KEYS = {RESNET50: "body.conv1.weight", MOBILENET: "body.stage1.0.0.weight"}
#: Shown in messages, by backbone.
LABELS = {RESNET50: "RetinaFace ResNet-50", MOBILENET: "RetinaFace MobileNet-0.25"}
#: Keys every RetinaFace state dict has: the first of each of the three heads.
SIGNATURE_KEYS = ("ClassHead.0.conv1x1.weight", "BboxHead.0.conv1x1.weight", "LandmarkHead.0.conv1x1.weight")


@dataclass(frozen=True)
class RetinaFaceConfig:
    """What the keys say: which backbone (facexlib's ``network_name``)."""

    backbone: str

    @property
    def label(self) -> str:
        return LABELS[self.backbone]


def without_prefix(state_dict: StateDict) -> StateDict:
    """The keys as the module names them (the official file's ``module.`` prefix removed)."""
    return {key.removeprefix(DATA_PARALLEL_PREFIX): tensor for key, tensor in state_dict.items()}


def describe_retinaface(state_dict: StateDict, path: Path | None = None) -> RetinaFaceConfig:
    """The backbone this state dict was trained with; ``WeightsError`` for another network."""
    plain = without_prefix(state_dict)
    missing = missing_keys(plain, SIGNATURE_KEYS)
    if missing:
        raise WeightsError(path, "this is not a RetinaFace state dict (missing keys: " + ", ".join(missing) + ")")
    for backbone, key in BACKBONE_KEYS.items():
        if key in plain:
            return RetinaFaceConfig(backbone)
    raise WeightsError(path, "this RetinaFace has neither the ResNet-50 nor the MobileNet-0.25 backbone")


def build_network(backbone: str = RESNET50) -> torch.nn.Module:
    """facexlib's RetinaFace with this backbone and random weights, on the CPU (for conversions and tests).

    For ResNet-50 facexlib creates the backbone with ``torchvision.models.resnet50(pretrained=False)``, which
    torchvision treats as ``weights=None`` (no download) but warns about; those two deprecation warnings are
    silenced here and nowhere else.
    """
    from facexlib.detection.retinaface import RetinaFace

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The parameter 'pretrained' is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"Arguments other than a weight enum", category=UserWarning)
        return RetinaFace(network_name=backbone, half=False, device=torch.device("cpu"))


def build_retinaface(state_dict: StateDict, path: Path | None = None, backbone: str | None = None) -> torch.nn.Module:
    """RetinaFace with these tensors loaded strictly, in evaluation mode on the CPU.

    ``backbone`` is the one the caller expects (a mismatch is then listed key by key, naming that network);
    None takes the one the keys say.
    """
    backbone = backbone or describe_retinaface(state_dict, path).backbone
    with without_random_init():
        network = build_network(backbone)
    load_strict(network, without_prefix(state_dict), path, LABELS[backbone])
    return network.eval()


ARCHITECTURE: Architecture[RetinaFaceConfig] = Architecture(
    name="RetinaFace",
    signature_keys=SIGNATURE_KEYS,
    describe=describe_retinaface,
    build=build_retinaface,
    keys_of=without_prefix,
)
