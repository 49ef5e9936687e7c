"""Conversions between 8-bit BGR face crops (OpenCV's layout) and the network's RGB tensors in [-1, 1]."""

from __future__ import annotations

import cv2
import numpy as np
import torch

UINT8_MAX = 255.0


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a face crop to ``size`` x ``size``: area averaging when shrinking, bicubic when enlarging."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return image
    interpolation = cv2.INTER_AREA if max(h, w) > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def faces_to_tensor(faces_bgr: list[np.ndarray]) -> torch.Tensor:
    """Equal-size uint8 BGR crops -> (B, 3, S, S) float32 RGB in [-1, 1]."""
    batch = np.stack([face[:, :, ::-1] for face in faces_bgr])  # BGR -> RGB
    tensor = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float()
    return tensor.div_(UINT8_MAX / 2).sub_(1.0)


def tensor_to_faces(images: torch.Tensor) -> list[np.ndarray]:
    """(B, 3, S, S) RGB in [-1, 1] -> uint8 BGR crops, rounded to the nearest level."""
    scaled = images.detach().float().cpu().clamp(-1, 1).add(1.0).mul(UINT8_MAX / 2).round_()
    array = scaled.to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [np.ascontiguousarray(face[:, :, ::-1]) for face in array]
