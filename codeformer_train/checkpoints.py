"""Resumable training state: one file per run folder, replaced atomically at every checkpoint.

The file holds tensors, numbers and strings only, so it is read back with ``torch.load(weights_only=True)``
like every other ``.pth`` this project opens. The data a step sees depends only on (seed, step), so the step
number plus the networks' and optimisers' states is everything a resumed run needs.
"""

from __future__ import annotations

from pathlib import Path

import torch

from codeformer_app.weights.files import write_atomically

from .errors import TrainingError

#: Bumped when the layout below changes; an older file is refused with a clear message.
CHECKPOINT_FORMAT = 1


class CheckpointError(TrainingError):
    """A training checkpoint cannot be read or does not belong to this run."""


def save_checkpoint(path: Path, step: int, stage_state: dict) -> None:
    """Write the state after ``step`` completed steps; a crash mid-write leaves the previous file intact."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "stage": stage_state,
        "torch_rng": torch.get_rng_state(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temp: torch.save(payload, temp))


def load_checkpoint(path: Path) -> tuple[int, dict]:
    """The completed step count and the stage state stored in ``path``."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # the safe loader raises many kinds on a damaged file
        raise CheckpointError(
            path, f"cannot be read as a training checkpoint ({type(error).__name__}: {error})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(path, f"is not a training checkpoint of format {CHECKPOINT_FORMAT}")
    torch.set_rng_state(payload["torch_rng"])
    return int(payload["step"]), payload["stage"]
