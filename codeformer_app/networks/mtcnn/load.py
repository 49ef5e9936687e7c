"""MTCNN's stages from state dicts: which stage the keys say, and facenet-pytorch's module with them loaded.

The weights are package data of the ``facenet-pytorch`` wheel (about 2 MB for the three stages), so nothing is
ever downloaded; ``packaged_weights`` says where each file is, and the file is read by ``weights.safe_load``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

import torch

from ...errors import WeightsError
from ..architecture import Architecture
from ..state_dict import StateDict, load_strict, without_random_init

#: The networks' weight files inside the facenet_pytorch package.
WEIGHTS_PACKAGE = "facenet_pytorch"
WEIGHTS_FOLDER = "data"
#: Every stage starts with this convolution.
SIGNATURE_KEYS = ("conv1.weight", "prelu1.weight")


class Stage(StrEnum):
    """The cascade's stages, in the order they run."""

    PROPOSAL = "pnet"
    REFINE = "rnet"
    OUTPUT = "onet"


#: A key only each stage has: P-Net's box regression head, R-Net's and O-Net's last dense layers.
STAGE_KEYS = {Stage.PROPOSAL: "conv4_2.weight", Stage.REFINE: "dense5_2.weight", Stage.OUTPUT: "dense6_3.weight"}


@dataclass(frozen=True)
class MtcnnStageConfig:
    """What the keys say: which stage this is."""

    stage: Stage

    @property
    def file_name(self) -> str:
        return f"{self.stage.value}.pt"


def describe_stage(state_dict: StateDict, path: Path | None = None) -> MtcnnStageConfig:
    """The stage these tensors belong to; ``WeightsError`` for another network."""
    for stage, key in STAGE_KEYS.items():
        if key in state_dict and all(k in state_dict for k in SIGNATURE_KEYS):
            return MtcnnStageConfig(stage)
    raise WeightsError(path, "this is not an MTCNN stage (P-, R- or O-Net) state dict")


def _stage_class(stage: Stage) -> type[torch.nn.Module]:
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    return {Stage.PROPOSAL: PNet, Stage.REFINE: RNet, Stage.OUTPUT: ONet}[stage]


def build_stage(state_dict: StateDict, path: Path | None = None) -> torch.nn.Module:
    """The stage these tensors belong to, loaded strictly, in evaluation mode on the CPU."""
    stage = describe_stage(state_dict, path).stage
    with without_random_init():
        network = _stage_class(stage)(pretrained=False)
    load_strict(network, state_dict, path, f"MTCNN {stage.value}")
    return network.eval()


def packaged_weights(stage: Stage) -> AbstractContextManager[Path]:
    """The stage's weights file inside the installed facenet-pytorch, as a real path while in use."""
    return resources.as_file(resources.files(WEIGHTS_PACKAGE) / WEIGHTS_FOLDER / MtcnnStageConfig(stage).file_name)


ARCHITECTURE: Architecture[MtcnnStageConfig] = Architecture(
    name="MTCNN", signature_keys=SIGNATURE_KEYS, describe=describe_stage, build=build_stage
)
