"""Building the networks of a run from a few plain choices: shared by the command line and the GUI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..detection import DETECTOR_NAMES, create_detector
from ..device import pick_device
from ..model.checkpoint import load_codeformer
from ..model.runtime import Precision
from ..weights import resolve_codeformer_weights
from .parsing import load_face_parser
from .restore_file import Engine
from .upscale import load_realesrgan_x2


@dataclass(frozen=True)
class EngineSpec:
    """What to build; every field has the command line's default."""

    weights: Path | None = None
    """A CodeFormer weights file, or None for the installed one."""
    device: str = "auto"
    precision: Precision = Precision.FAST
    detector: str = DETECTOR_NAMES[0]
    parsing: bool = True
    """Use ParseNet's mask when its weights are installed."""
    upscaler: bool = False
    """Load Real-ESRGAN x2 (when installed) for background upscaling."""
    threads: int | None = None
    """CPU threads for the networks; None leaves PyTorch's default."""


def load_engine(spec: EngineSpec) -> Engine:
    """The networks of ``spec``; raises ``CodeFormerAppError`` (e.g. ``WeightsMissingError``) or ``ValueError``
    with a message for the user."""
    if spec.threads is not None:
        torch.set_num_threads(max(1, spec.threads))
    device = pick_device(spec.device)
    model = load_codeformer(resolve_codeformer_weights(spec.weights), device)
    model.precision = spec.precision
    return Engine(
        model=model,
        detector=create_detector(spec.detector, device),
        parser=load_face_parser(device) if spec.parsing else None,
        upscaler=load_realesrgan_x2(device) if spec.upscaler else None,
    )
