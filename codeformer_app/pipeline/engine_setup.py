"""Building the networks of a run from a few plain choices: shared by the command line and the GUI."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..detection import create_detector
from ..device import pick_device
from ..model.checkpoint import load_codeformer, no_fidelity_warning
from ..model.runtime import Precision
from ..weights import find_installed, resolve_codeformer_weights
from .engine_spec import EngineSpec
from .parsing import PARSENET_WEIGHTS, load_face_parser
from .restore_file import Engine
from .upscale import REALESRGAN_WEIGHTS, load_realesrgan_x2

__all__ = ["EngineSpec", "load_engine"]


#: Told what is being loaded, so a user sees why the first seconds pass ("Loading CodeFormer…").
StepFn = Callable[[str], None]


def load_engine(spec: EngineSpec, on_step: StepFn | None = None) -> Engine:
    """The networks of ``spec``; raises ``CodeFormerAppError`` (e.g. ``WeightsMissingError``) or ``ValueError``
    with a message for the user."""
    say = on_step or (lambda _text: None)
    if spec.threads is not None:
        torch.set_num_threads(max(1, spec.threads))
    device = pick_device(spec.device)
    weights = resolve_codeformer_weights(spec.weights, spec.weights_dir)
    say(f"Loading CodeFormer ({weights.name})…")
    model = load_codeformer(weights, device)
    model.precision = Precision(spec.precision)
    detector = None
    if spec.detector is not None:
        say(f"Loading the face detector ({spec.detector})…")
        detector = create_detector(spec.detector, device, spec.weights_dir)
    parser = upscaler = None
    if spec.parsing and find_installed(PARSENET_WEIGHTS, spec.weights_dir) is not None:
        say("Loading ParseNet…")
        parser = load_face_parser(device, spec.weights_dir)
    if spec.upscaler and find_installed(REALESRGAN_WEIGHTS, spec.weights_dir) is not None:
        say("Loading Real-ESRGAN…")
        upscaler = load_realesrgan_x2(device, spec.weights_dir)
    warnings = () if model.config.connect_list else (no_fidelity_warning(weights),)
    return Engine(model=model, detector=detector, parser=parser, upscaler=upscaler, warnings=warnings)
