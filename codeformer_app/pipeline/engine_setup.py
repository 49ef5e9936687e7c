"""Building the networks of a run from a few plain choices: shared by the command line and the GUI."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..defaults import DEFAULT_DETECTOR
from ..detection import create_detector
from ..device import pick_device
from ..errors import CodeFormerAppError
from ..identity import IdentityUnavailableError
from ..imaging import photo_8bit_bgr, read_photo
from ..networks.codeformer.load import no_fidelity_warning
from ..networks.codeformer.runtime import Precision
from ..networks.codeformer.variants import FaceTask, check_task
from ..weights import find_installed, resolve_codeformer_weights
from ..weights.safe_load import load_codeformer
from .engine_spec import EngineSpec
from .likeness import IdentityCheck
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
    weights = resolve_codeformer_weights(spec.weights, spec.weights_dir, spec.task)
    say(f"Loading CodeFormer ({weights.name})…")
    model = load_codeformer(weights, device)
    model.precision = Precision(spec.precision)
    if spec.task is not None:
        check_task(model.config, FaceTask(spec.task), str(weights))
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
    warnings = [] if model.config.connect_list else [no_fidelity_warning(weights)]
    identity = None
    if spec.identity or spec.identity_required or spec.reference is not None:
        identity = _identity_check(spec, detector, say, warnings)
    return Engine(
        model=model, detector=detector, parser=parser, upscaler=upscaler, identity=identity, warnings=tuple(warnings)
    )


def _identity_check(spec: EngineSpec, detector, say: StepFn, warnings: list[str]) -> IdentityCheck | None:
    """The identity network and, with a reference photo, its largest face's embedding."""
    from ..identity import IDENTITY_THRESHOLD, embed_largest_face, identity_unavailable_reason, load_identity_model

    reason = identity_unavailable_reason()
    if reason is not None:
        if spec.identity_required or spec.reference is not None:
            raise IdentityUnavailableError(reason)
        warnings.append(f"identity scores are left out: {reason}")
        return None
    say("Loading the identity network (dlib)…")
    model = load_identity_model()
    reference = None
    if spec.reference is not None:
        if detector is None:
            detector = create_detector(DEFAULT_DETECTOR, "cpu", spec.weights_dir)
        reference = embed_largest_face(model, photo_8bit_bgr(read_photo(spec.reference)), detector)
        if reference is None:
            raise CodeFormerAppError(f"{spec.reference}: no face found in the reference photo")
    return IdentityCheck(model, IDENTITY_THRESHOLD, reference)
