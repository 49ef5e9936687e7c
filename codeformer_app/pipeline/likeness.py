"""Likeness: how much a restored face is still the person in the photo, and the fidelity that keeps it so.

The identity network (``codeformer_app.identity``) embeds the input crop (or a clear reference photo of the
same person) once per face; each restored crop is compared with it. ``choose_fidelity`` finds the strongest
restoration (lowest w) whose face is still called the same person, with a few decoder-only renders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..identity import Embedding, IdentityModel

#: Bisection steps between w = 0 and w = 1 after the two ends are tried: 3 steps find w to 1/8, in at most
#: 5 renders of the decoder per face.
AUTO_FIDELITY_STEPS = 3

RenderFn = Callable[[float], np.ndarray]
ScoreFn = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class IdentityCheck:
    """The identity network and what a restored face is compared with: its own input crop, or ``reference``
    (the embedding of a clear photo of the same person) when one is given."""

    model: IdentityModel
    threshold: float
    reference: Embedding | None = None

    def scorer(self, input_crop: np.ndarray) -> ScoreFn:
        """Similarity in [-1, 1] of a restored crop to this face's input (or the reference)."""
        from ..identity import similarity

        target = self.reference if self.reference is not None else self.model.embed_aligned(input_crop)
        return lambda restored: similarity(target, self.model.embed_aligned(restored))


@dataclass(frozen=True)
class FidelityChoice:
    fidelity: float
    crop: np.ndarray
    identity: float


def render_face(
    render: RenderFn,
    input_crop: np.ndarray,
    fidelity: float,
    auto: bool,
    check: IdentityCheck | None,
) -> tuple[float, np.ndarray, float | None]:
    """One face at ``fidelity``, or at the lowest that keeps the person (``auto``), with its identity when
    ``check`` is given: (fidelity used, restored crop, identity or None)."""
    if auto:
        if check is None:
            raise ValueError("automatic fidelity needs the identity network, which is not loaded")
        choice = choose_fidelity(render, check.scorer(input_crop), check.threshold)
        return choice.fidelity, choice.crop, choice.identity
    crop = render(fidelity)
    return fidelity, crop, None if check is None else check.scorer(input_crop)(crop)


def choose_fidelity(
    render: RenderFn, score: ScoreFn, threshold: float, steps: int = AUTO_FIDELITY_STEPS
) -> FidelityChoice:
    """The lowest w in [0, 1] whose render scores at least ``threshold``, assuming the score grows with w
    (a higher w stays closer to the input); w = 1 when even that does not pass (the closest the network gets).
    """
    crop = render(0.0)
    value = score(crop)
    if value >= threshold:
        return FidelityChoice(0.0, crop, value)
    crop = render(1.0)
    best = FidelityChoice(1.0, crop, score(crop))
    if best.identity < threshold:
        return best
    low, high = 0.0, 1.0
    for _ in range(steps):
        middle = (low + high) / 2
        crop = render(middle)
        value = score(crop)
        if value >= threshold:
            high, best = middle, FidelityChoice(middle, crop, value)
        else:
            low = middle
    return best
