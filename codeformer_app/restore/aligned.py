"""Restoring face crops that are already aligned to the FFHQ template (``--aligned``)."""

from __future__ import annotations

import numpy as np
import torch

from ..model import CodeFormer
from .face_tensor import faces_to_tensor, fit_square, tensor_to_faces


def restore_aligned_face(model: CodeFormer, face_bgr: np.ndarray, w: float) -> np.ndarray:
    """One aligned crop (any size, 8-bit BGR) -> restored crop at the network's size (512 for official)."""
    size = model.config.img_size
    device = model.position_emb.device
    batch = faces_to_tensor([fit_square(face_bgr, size)]).to(device)
    with torch.inference_mode():
        restored = model.decode(model.encode(batch), w)
    return tensor_to_faces(restored)[0]
