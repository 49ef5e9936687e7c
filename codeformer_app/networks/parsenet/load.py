"""ParseNet from a state dict: its keys, its (fixed) shape, and the module built without touching the network.

The network definition is facexlib's; facexlib's own ``init_parsing_model`` would download weights into its
package folder, which the app never allows, so the module is built here and loaded from our installed file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ...errors import WeightsError
from ..architecture import Architecture
from ..state_dict import StateDict, load_strict, missing_keys, without_random_init

#: ParseNet's input and output side (the official file is trained at 512, like the aligned face).
PARSENET_SIZE = 512
#: ParseNet's output classes, in channel order: the CelebAMask-HQ labels with "background" first. facexlib's
#: source does not list them; the order is the one of CelebAMask-HQ's own mask-merging script (g_mask.py,
#: label i+1 = i-th name), which GPEN's copy of the same PSFRGAN ParseNet spells out (0: background,
#: 1: skin, 2: nose, ... 18: cloth), and which fits the official CodeFormer colour map that keeps channels
#: 1-13 and 15 and zeroes 0, 14, 16, 17 and 18.
CELEBAMASK_HQ_LABELS = (
    "background",
    "skin",
    "nose",
    "eye_g",  # eyeglasses
    "l_eye",
    "r_eye",
    "l_brow",
    "r_brow",
    "l_ear",
    "r_ear",
    "mouth",
    "u_lip",
    "l_lip",
    "hair",
    "hat",
    "ear_r",  # earring
    "neck_l",  # necklace
    "neck",
    "cloth",
)
#: Keys every ParseNet state dict has: the first encoder convolution and the two output heads.
MASK_HEAD_KEY = "out_mask_conv.conv2d.weight"
SIGNATURE_KEYS = ("encoder.0.conv2d.weight", "out_img_conv.conv2d.weight", MASK_HEAD_KEY)
NETWORK_NAME = "ParseNet"


@dataclass(frozen=True)
class ParseNetConfig:
    """What the shapes say: how many classes the mask head predicts (19 for the official file)."""

    classes: int
    size: int = PARSENET_SIZE


def describe_parsenet(state_dict: StateDict, path: Path | None = None) -> ParseNetConfig:
    """The class count off the mask head; a wrong network is a ``WeightsError`` naming what is missing."""
    missing = missing_keys(state_dict, SIGNATURE_KEYS)
    if missing:
        raise WeightsError(path, "this is not a ParseNet state dict (missing keys: " + ", ".join(missing) + ")")
    return ParseNetConfig(classes=int(state_dict[MASK_HEAD_KEY].shape[0]))


def build_parsenet(state_dict: StateDict, path: Path | None = None) -> torch.nn.Module:
    """facexlib's ParseNet with these tensors loaded strictly, in evaluation mode on the CPU.

    A state dict of something else is built as the official ParseNet, so that the error lists every key that
    does not fit (more useful than "not a ParseNet" when a file is merely damaged or of another version).
    """
    mask_head = state_dict.get(MASK_HEAD_KEY)
    config = ParseNetConfig(classes=int(mask_head.shape[0]) if mask_head is not None else len(CELEBAMASK_HQ_LABELS))
    # facexlib is imported on first use: it pulls in torchvision (~5 s)
    from facexlib.parsing.parsenet import ParseNet

    with without_random_init():
        network = ParseNet(in_size=config.size, out_size=config.size, parsing_ch=config.classes)
    load_strict(network, state_dict, path, NETWORK_NAME)
    return network.eval()


ARCHITECTURE: Architecture[ParseNetConfig] = Architecture(
    name=NETWORK_NAME, signature_keys=SIGNATURE_KEYS, describe=describe_parsenet, build=build_parsenet
)
