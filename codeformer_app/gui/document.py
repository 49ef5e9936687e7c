"""The photo being edited: what was found in it, what the user chose per face, and what was rendered.

Qt-free and plain data: the window holds one :class:`PhotoDocument`; workers get the pieces they need and
return new values that the window stores back (only the GUI thread writes here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..pipeline.photo import AnalysedPhoto


@dataclass
class FaceChoice:
    included: bool = True
    fidelity: float | None = None
    """This face's own fidelity, or None to follow the photo's slider."""


@dataclass(frozen=True)
class RenderedFace:
    fidelity: float
    crop: np.ndarray
    """The restored face at the network's size, 8-bit BGR."""


@dataclass
class PhotoDocument:
    analysed: AnalysedPhoto
    source: Path | None
    """The file it came from; None for a pasted image."""
    name: str
    choices: list[FaceChoice] = field(default_factory=list)
    rendered: dict[int, RenderedFace] = field(default_factory=dict)
    preview: np.ndarray | None = None
    """The latest composed photo (the input's size and depth), as shown on the 'after' side."""
    saved_to: Path | None = None

    def __post_init__(self) -> None:
        self.sync_choices()

    def sync_choices(self) -> None:
        """A choice for every face, also for faces added since (a box the user drew)."""
        while len(self.choices) < len(self.analysed.faces):
            self.choices.append(FaceChoice())

    @property
    def face_count(self) -> int:
        return len(self.analysed.faces)

    def face_fidelity(self, index: int, fidelity: float) -> float:
        own = self.choices[index].fidelity
        return fidelity if own is None else own

    def included(self) -> list[int]:
        return [i for i, choice in enumerate(self.choices) if choice.included]

    def wanted(self, fidelity: float) -> dict[int, float]:
        """Fidelity of every included face at the photo-wide ``fidelity``."""
        return {i: self.face_fidelity(i, fidelity) for i in self.included()}

    def to_render(self, fidelity: float) -> dict[int, float]:
        """The included faces whose latest render is missing or at another fidelity."""
        return {
            i: w for i, w in self.wanted(fidelity).items() if i not in self.rendered or self.rendered[i].fidelity != w
        }

    def reusable(self, fidelity: float) -> dict[int, np.ndarray]:
        """Crops already rendered at the fidelity they are wanted at."""
        wanted = self.wanted(fidelity)
        return {i: r.crop for i, r in self.rendered.items() if wanted.get(i) == r.fidelity}


def suggested_output(source: Path | None, name: str, folder: Path | None, suffix: str | None) -> Path:
    """``<stem>-restored<ext>`` next to the source (or in ``folder``): never the original's own name."""
    stem = Path(name).stem
    ext = suffix or (source.suffix if source is not None else ".png")
    base = folder or (source.parent if source is not None else Path.home())
    return base / f"{stem}-restored{ext}"
