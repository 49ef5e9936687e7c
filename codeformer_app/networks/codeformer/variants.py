"""The official CodeFormer family: one network class, three jobs, told apart by the shapes of their weights.

| weights                       | fusion (CFT) at     | codebook | how the official script runs it       |
|-------------------------------|---------------------|----------|---------------------------------------|
| codeformer.pth                | 32, 64, 128, 256    | 1024     | any w, AdaIN on                       |
| codeformer_colorization.pth   | 32, 64, 128         | 1024     | w = 0, AdaIN on (no stage III)        |
| codeformer_inpainting.pth     | 32, 64, 128         | 512      | w = 1, AdaIN off; output only in mask |

The rule generalises to smaller configurations: the restoration network fuses up to half the face size; the
variants stop one level below; the inpainting one has the 512-code book.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .codeformer import CodeFormerConfig

#: The inpainting network's codebook size (the restoration and colorization ones have 1024 codes).
INPAINTING_CODEBOOK_SIZE = 512


class FaceTask(StrEnum):
    RESTORE = "restore"
    COLORIZE = "colorize"
    INPAINT = "inpaint"


@dataclass(frozen=True)
class TaskRecipe:
    """How a task runs the network, as the official scripts do."""

    fidelity: float | None
    """Fixed fidelity weight; None: the user's."""
    adain_codes: bool
    keep_outside_mask: bool
    """Inpainting: the input is kept outside the hole mask, the network's output used only inside it."""


RECIPES = {
    FaceTask.RESTORE: TaskRecipe(fidelity=None, adain_codes=True, keep_outside_mask=False),
    FaceTask.COLORIZE: TaskRecipe(fidelity=0.0, adain_codes=True, keep_outside_mask=False),
    FaceTask.INPAINT: TaskRecipe(fidelity=1.0, adain_codes=False, keep_outside_mask=True),
}


def task_of(config: CodeFormerConfig) -> FaceTask:
    """Which job a network of this configuration was trained for (see the table above)."""
    if not config.connect_list or max(config.connect_list) >= config.img_size // 2:
        return FaceTask.RESTORE
    return FaceTask.INPAINT if config.codebook_size == INPAINTING_CODEBOOK_SIZE else FaceTask.COLORIZE


def check_task(config: CodeFormerConfig, wanted: FaceTask, source: str) -> None:
    """``ValueError`` naming ``source`` when its network was made for another job than ``wanted``."""
    found = task_of(config)
    if found is not wanted:
        fusion = ", ".join(map(str, config.connect_list)) or "none"
        raise ValueError(
            f"{source}: these are {found.value} weights (fusion at {fusion}, {config.codebook_size} codes), "
            f"not {wanted.value} weights; pick --task {found.value} or other weights"
        )
