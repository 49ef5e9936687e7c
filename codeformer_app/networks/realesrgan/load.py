"""Real-ESRGAN's RRDBNet from a state dict: keys, hyperparameters from shapes, and the module.

Reading the sizes (rather than assuming the official ones) lets small test networks load through the same
path and turns a wrong file (an x4 model, another network) into a message that says what it is.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ...errors import WeightsError
from ..architecture import Architecture
from ..state_dict import StateDict, load_strict, missing_keys, without_random_init

#: Enlargement of the x2 network; its first layer is a 2x2 pixel-unshuffle.
NETWORK_SCALE = 2
#: Colour channels the upscaler reads and writes.
COLOUR_CHANNELS = 3
#: Keys every RRDBNet state dict has.
SIGNATURE_KEYS = ("conv_first.weight", "body.0.rdb1.conv1.weight", "conv_last.weight")
NETWORK_NAME = "Real-ESRGAN x2"
_BODY_BLOCK = re.compile(r"^body\.(\d+)\.")


@dataclass(frozen=True)
class RRDBNetConfig:
    """basicsr ``RRDBNet`` constructor arguments; the defaults are the official RealESRGAN_x2plus file's."""

    num_in_ch: int = COLOUR_CHANNELS
    num_out_ch: int = COLOUR_CHANNELS
    num_feat: int = 64
    num_block: int = 23
    num_grow_ch: int = 32


#: The official network, for comparison in tests; loading always reads the sizes off the file.
OFFICIAL_RRDBNET_CONFIG = RRDBNetConfig()


def describe_rrdbnet(state_dict: StateDict, path: Path | None = None) -> RRDBNetConfig:
    """RRDBNet sizes read off the tensor shapes of an x2 state dict."""
    missing = missing_keys(state_dict, SIGNATURE_KEYS)
    if missing:
        raise WeightsError(
            path, "this is not a Real-ESRGAN RRDBNet state dict (missing keys: " + ", ".join(missing) + ")"
        )
    num_feat, unshuffled_in = state_dict["conv_first.weight"].shape[:2]
    num_out_ch = state_dict["conv_last.weight"].shape[0]
    if unshuffled_in != COLOUR_CHANNELS * NETWORK_SCALE**2 or num_out_ch != COLOUR_CHANNELS:
        raise WeightsError(
            path,
            f"this RRDBNet reads {unshuffled_in} and writes {num_out_ch} channels; the x2 colour model reads "
            f"{COLOUR_CHANNELS * NETWORK_SCALE**2} (3 colours after the 2x2 unshuffle) and writes {COLOUR_CHANNELS}"
            " (an x4 model reads 3)",
        )
    blocks = {int(m.group(1)) for key in state_dict if (m := _BODY_BLOCK.match(key))}
    return RRDBNetConfig(
        num_feat=int(num_feat),
        num_block=len(blocks),
        num_grow_ch=int(state_dict["body.0.rdb1.conv1.weight"].shape[0]),
    )


def build_rrdbnet(state_dict: StateDict, path: Path | None = None) -> torch.nn.Module:
    """basicsr's RRDBNet (x2) with these tensors loaded strictly, in evaluation mode on the CPU."""
    config = describe_rrdbnet(state_dict, path)
    from ...compat import import_basicsr  # basicsr 1.4.2 needs the shim; imported on first use

    rrdbnet = import_basicsr("archs.rrdbnet_arch").RRDBNet
    with without_random_init():
        network = rrdbnet(**asdict(config), scale=NETWORK_SCALE)
    load_strict(network, state_dict, path, NETWORK_NAME)
    return network.eval()


ARCHITECTURE: Architecture[RRDBNetConfig] = Architecture(
    name=NETWORK_NAME, signature_keys=SIGNATURE_KEYS, describe=describe_rrdbnet, build=build_rrdbnet
)
