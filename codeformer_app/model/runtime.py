"""Process-level settings that make CPU inference fast; applied by the model itself on first use."""

from __future__ import annotations

import torch
from torch import nn


def prepare(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Move the input to the model's device and dtype."""
    param = next(model.parameters())
    return x.to(device=param.device, dtype=param.dtype)
