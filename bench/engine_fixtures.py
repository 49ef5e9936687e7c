"""What every engine-benchmark worker loads (one seeded, perturbed state dict and one input face, written once)
and the machine description that goes with the results."""

from __future__ import annotations

import os
import platform
import warnings
from pathlib import Path
from typing import Any

import torch

FACE_SIZE = 512
#: Same seeded, perturbed random weights as tests/test_model_parity.py: no parameter stays at its init value.
MODEL_SEED = 0
PERTURB_SEED = 1
PERTURB_SCALE = 0.02
INPUT_SEED = 21


def _perturb_(model: torch.nn.Module, seed: int, scale: float) -> None:
    """Add seeded noise to every parameter so that none stays at its initial value (zeros, ones...)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            spread = param.std() if param.numel() > 1 and param.std() > 0 else torch.tensor(1.0)
            param.add_(scale * spread * torch.randn(param.shape, generator=generator))


def write_fixtures(directory: Path) -> tuple[Path, Path]:
    """Save the shared state dict and input face once, so that every worker loads exactly the same tensors."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's code uses the deprecated torch.jit.script
        from spandrel_extra_arches.architectures.CodeFormer import CodeFormer as ReferenceCodeFormer

    torch.manual_seed(MODEL_SEED)
    model = ReferenceCodeFormer()
    _perturb_(model, PERTURB_SEED, PERTURB_SCALE)
    weights = directory / "weights.pt"
    torch.save(model.state_dict(), weights)
    del model
    face = torch.rand(1, 3, FACE_SIZE, FACE_SIZE, generator=torch.Generator().manual_seed(INPUT_SEED)) * 2 - 1
    face_path = directory / "input.pt"
    torch.save(face, face_path)
    return weights, face_path


def machine_info(device: str) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), cpu)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "nnpack": bool(torch.backends.nnpack.is_available()),
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
    }
