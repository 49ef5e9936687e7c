"""Adam optimisers and their learning rate at a given step.

The rate is a pure function of the step rather than a stateful scheduler, so a resumed run needs nothing but
the step number to continue on the same curve.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from .config import OptimizerConfig


def build_adam(parameters: Iterable[torch.nn.Parameter], config: OptimizerConfig) -> torch.optim.Adam:
    """Adam over the parameters that require gradients (frozen ones are left out, as the official code does)."""
    trainable = [p for p in parameters if p.requires_grad]
    if not trainable:
        raise ValueError("nothing to train: every parameter is frozen")
    return torch.optim.Adam(trainable, lr=config.lr, betas=config.betas, weight_decay=0.0)


def learning_rate(config: OptimizerConfig, step: int, total_steps: int) -> float:
    """The learning rate at ``step`` (0-based) of a run of ``total_steps``."""
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "multistep":
        passed = sum(1 for milestone in config.milestones if step >= milestone)
        return config.lr * config.gamma**passed
    if config.schedule == "cosine":
        period = config.period or total_steps
        progress = min(step, period) / max(period, 1)
        return config.eta_min + 0.5 * (config.lr - config.eta_min) * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {config.schedule!r}")


def set_learning_rate(optimizer: torch.optim.Optimizer, rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = rate
