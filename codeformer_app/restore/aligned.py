"""Restoring face crops that are already aligned to the FFHQ template (``--aligned``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..imaging import photo_8bit_bgr, read_photo, write_photo
from ..model import CodeFormer
from ..pipeline.outcome import FaceReport, RestoreOutcome
from .face_tensor import faces_to_tensor, fit_square, tensor_to_faces


def restore_aligned_face(model: CodeFormer, face_bgr: np.ndarray, w: float) -> np.ndarray:
    """One aligned crop (any size, 8-bit BGR) -> restored crop at the network's size (512 for official)."""
    size = model.config.img_size
    device = model.position_emb.device
    batch = faces_to_tensor([fit_square(face_bgr, size)]).to(device)
    with torch.inference_mode():
        restored = model.decode(model.encode(batch), w)
    return tensor_to_faces(restored)[0]


def restore_aligned_file(
    model: CodeFormer, source: Path, target: Path, w: float, replace: bool = False
) -> tuple[int, int]:
    """Restore one aligned crop file into ``target`` (same format, 8-bit, metadata kept); returns the input size.

    An existing ``target`` is replaced only with ``replace=True``."""
    photo = read_photo(source)
    restored = restore_aligned_face(model, photo_8bit_bgr(photo), w)
    write_photo(target, restored, None, photo.info, replace=replace)
    return photo.info.width, photo.info.height


def aligned_process(
    model: CodeFormer, fidelity: float, replace: bool = False
) -> Callable[[Path, Path], RestoreOutcome]:
    """``--aligned``: each job's crop restored whole; the report shows the crop as its one face."""

    def process(source: Path, target: Path) -> RestoreOutcome:
        w, h = restore_aligned_file(model, source, target, fidelity, replace)
        return RestoreOutcome([FaceReport(box=(0.0, 0.0, float(w), float(h)), score=1.0, fidelity=fidelity)])

    return process
