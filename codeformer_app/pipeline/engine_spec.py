"""What networks a run needs, as plain values: built by the command line and the window before PyTorch loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..defaults import DEFAULT_DETECTOR, DEFAULT_DEVICE, DEFAULT_PRECISION


@dataclass(frozen=True)
class EngineSpec:
    """What to build; every field has the command line's default."""

    weights: Path | None = None
    """A CodeFormer weights file, or None for the installed one."""
    weights_dir: Path | None = None
    """The weights folder, or None for ``$CODEFORMER_APP_WEIGHTS_DIR`` / the per-user folder."""
    device: str = DEFAULT_DEVICE
    precision: str = DEFAULT_PRECISION
    """``fast`` or ``exact`` (``model.runtime.Precision``)."""
    detector: str | None = DEFAULT_DETECTOR
    """None when no faces are searched for (pre-aligned crops)."""
    parsing: bool = True
    """Use ParseNet's mask when its weights are installed."""
    upscaler: bool = False
    """Load Real-ESRGAN x2 (when installed) for background upscaling."""
    threads: int | None = None
    """CPU threads for the networks; None leaves PyTorch's default."""
    identity: bool = False
    """Load the identity network, so each face's likeness is measured (skipped with a warning where it is not
    available, unless ``identity_required``)."""
    identity_required: bool = False
    """Automatic fidelity or a reference photo needs it: its absence is then an error."""
    task: str | None = None
    """``restore``, ``colorize`` or ``inpaint``: the weights must be of that kind; None accepts any."""
    reference: Path | None = None
    """A clear photo of the person: restored faces are compared with its largest face."""
