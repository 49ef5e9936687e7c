"""Every network the app knows, for telling an unknown state dict apart (``identify_network``)."""

from __future__ import annotations

from .architecture import Architecture, identify
from .codeformer.load import ARCHITECTURE as CODEFORMER
from .mtcnn.load import ARCHITECTURE as MTCNN
from .parsenet.load import ARCHITECTURE as PARSENET
from .realesrgan.load import ARCHITECTURE as REALESRGAN
from .retinaface.load import ARCHITECTURE as RETINAFACE
from .state_dict import StateDict

#: In the order they are tried; each is recognised by keys no other one has.
ARCHITECTURES: tuple[Architecture, ...] = (CODEFORMER, PARSENET, REALESRGAN, RETINAFACE, MTCNN)


def identify_network(state_dict: StateDict) -> Architecture | None:
    """The network these tensors are for, or None when they fit none of ours."""
    return identify(state_dict, ARCHITECTURES)
