"""Scratch repair's work (issue #16, point 3): the inpainting network loaded from its file and the brushed mask
filled face by face (``tasks.paste_repairs`` pastes the fills). Run by the window's task runner."""

from __future__ import annotations

import threading
from collections.abc import Generator
from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import CodeFormerAppError
from ..networks.codeformer import CodeFormer
from ..networks.codeformer.variants import RECIPES, FaceTask, check_task
from ..pipeline.encodings import ONE_SHOT_BUDGET_BYTES, EncodingCache, render
from ..pipeline.inpaint import crop_hole, keep_outside, paste_mask, with_hole
from ..pipeline.photo import AnalysedPhoto
from ..weights.safe_load import load_codeformer
from .session import Repair
from .tasks import Progress


def load_inpainter_task(path: Path, device: torch.device) -> Generator[Progress, None, CodeFormer]:
    """The inpainting CodeFormer from ``path``, refused when the file holds another kind of weights."""
    yield Progress(f"Loading the inpainting network ({path.name})")
    if not path.is_file():
        raise CodeFormerAppError(f"{path}: no such file (Tools ▸ Settings ▸ Inpainting weights)")
    model = load_codeformer(path, device).eval()
    check_task(model.config, FaceTask.INPAINT, str(path))
    return model


def fill_task(
    analysed: AnalysedPhoto, photo_mask: np.ndarray, inpainter: CodeFormer, lock: threading.Lock
) -> Generator[Progress, None, dict[int, Repair]]:
    """Each face the mask touches: the hole warped into its crop, painted white, filled by the inpainting
    network (AdaIN off, w = 1: its recipe) and kept only inside the hole."""
    recipe = RECIPES[FaceTask.INPAINT]
    touched = {}
    for index, face in enumerate(analysed.faces):
        hole = crop_hole(photo_mask, face.alignment)
        if hole.any():
            touched[index] = hole
    if not touched:
        raise CodeFormerAppError("The brushed mask touches no face: paint over the scratches on a face.")
    repairs: dict[int, Repair] = {}
    for number, (index, hole) in enumerate(touched.items()):
        yield Progress(f"Filling the scratches on face {index + 1}", number, len(touched))
        crop = analysed.faces[index].crop
        cache = EncodingCache(inpainter, [with_hole(crop, hole)], ONE_SHOT_BUDGET_BYTES, recipe.adain_codes)
        with lock:
            filled = render(cache, 0, float(recipe.fidelity))
        if filled.shape != crop.shape:  # a network of another size than the detector's crops
            filled = cv2.resize(filled, crop.shape[1::-1], interpolation=cv2.INTER_AREA)
        repairs[index] = Repair(keep_outside(filled, crop, hole), paste_mask(hole))
    return repairs
