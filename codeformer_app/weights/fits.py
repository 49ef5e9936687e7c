"""Does a file fit the network its registry entry names? Answered by building that network with the file's
tensors (``codeformer_app.networks``), so a re-saved or converted file of the right network installs without
``--force`` and a wrong one is refused with what does not fit, before it could fail far from its cause."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WeightsError
from .registry import NetworkKind

if TYPE_CHECKING:
    from ..networks.state_dict import StateDict


def _builders() -> dict[NetworkKind, Callable[[StateDict, Path | None], object]]:
    # imported on use: each network folder imports PyTorch (and facexlib or basicsr when it builds)
    from ..networks.codeformer.load import ARCHITECTURE as CODEFORMER
    from ..networks.parsenet.load import ARCHITECTURE as PARSENET
    from ..networks.realesrgan.load import ARCHITECTURE as REALESRGAN
    from ..networks.retinaface.load import MOBILENET, RESNET50, build_retinaface

    return {
        NetworkKind.CODEFORMER: CODEFORMER.build,
        NetworkKind.PARSENET: PARSENET.build,
        NetworkKind.REALESRGAN_X2: REALESRGAN.build,
        NetworkKind.RETINAFACE: partial(build_retinaface, backbone=RESNET50),
        NetworkKind.RETINAFACE_MOBILE: partial(build_retinaface, backbone=MOBILENET),
    }


def can_check(kind: NetworkKind) -> bool:
    """Whether the app can build this kind of network to check a file against it."""
    return kind in _builders()


def misfit(kind: NetworkKind, state_dict: StateDict, source: Path) -> str | None:
    """Why these tensors do not fit a network of ``kind`` (None: they load into it strictly)."""
    try:
        _builders()[kind](state_dict, source)
    except WeightsError as error:
        return error.reason
    return None


#: The ``networks`` architecture each kind of entry is (by ``Architecture.name``).
ARCHITECTURE_NAMES = {
    NetworkKind.CODEFORMER: "CodeFormer",
    NetworkKind.PARSENET: "ParseNet",
    NetworkKind.REALESRGAN_X2: "Real-ESRGAN x2",
    NetworkKind.RETINAFACE: "RetinaFace",
    NetworkKind.RETINAFACE_MOBILE: "RetinaFace",
}


def other_network(kind: NetworkKind, state_dict: StateDict) -> str | None:
    """The name of the network these tensors are, when their keys say it is not one of ``kind``."""
    from ..networks.catalogue import identify_network

    found = identify_network(state_dict)
    expected = ARCHITECTURE_NAMES.get(kind)
    return found.name if found is not None and expected is not None and found.name != expected else None
