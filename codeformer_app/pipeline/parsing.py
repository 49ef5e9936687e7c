"""Face-parsing paste mask: only pixels that belong to the face are pasted back.

The square feathered mask of ``paste.py`` also pastes the restored version of whatever surrounds the face in
the aligned crop (a hat brim, a collar, the background), where CodeFormer tends to invent detail. ParseNet
(facexlib's port of PSFRGAN's parser, trained on CelebAMask-HQ) labels every pixel of the restored crop; the
face classes become 1, the rest 0, and the result is blurred heavily so that it never adds a visible edge.
``paste_face(..., extra_mask=...)`` then takes the minimum of this mask and the square one, as the official
CodeFormer does.

The network is recognised and built by ``networks/parsenet/``, from the installed ``.safetensors``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ..errors import WeightsError
from ..networks.parsenet.load import CELEBAMASK_HQ_LABELS, PARSENET_SIZE, build_parsenet
from ..networks.state_dict import StateDict
from ..weights import find_installed
from ..weights.safe_load import read_state_dict

#: Name of the ParseNet weights in the weights registry.
PARSENET_WEIGHTS = "parsenet"
#: Classes that are not pasted back (as in the official CodeFormer): the restored crop shows them too, but
#: CodeFormer was trained on faces and its version of them is no better than the photo's own pixels.
EXCLUDED_LABELS = frozenset({"background", "hat", "neck_l", "neck", "cloth"})
#: The official mask is blurred twice with this Gaussian at 512 px; two passes give a wide, smooth ramp.
MASK_BLUR_KERNEL = 101
MASK_BLUR_SIGMA = 11.0
MASK_BLUR_PASSES = 2
#: Band along the crop's edge forced to 0 (at 512 px; scaled with the crop), so the blur, which reflects
#: at the crop's border, never carries face pixels onto the crop's edge.
MASK_BORDER_PX = 10

#: Per-class value of the hard mask, indexed by label: 1 for face classes, 0 for the excluded ones.
_CLASS_TO_MASK = np.array([0.0 if name in EXCLUDED_LABELS else 1.0 for name in CELEBAMASK_HQ_LABELS], np.float32)


def hard_mask(labels: np.ndarray) -> np.ndarray:
    """Label map (class indices) -> float32 mask, 1 where the class is part of the face, 0 elsewhere."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(CELEBAMASK_HQ_LABELS)):
        raise ValueError(f"label map holds classes outside 0..{len(CELEBAMASK_HQ_LABELS) - 1}")
    return _CLASS_TO_MASK[labels]


def soften_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """A hard mask at ParseNet's size -> the soft paste mask at the crop's ``size``, float32 in [0, 1].

    Blurring happens at 512 px like the official code, so the ramp keeps the same width relative to the face
    whatever the crop size; the border band is zeroed after resizing so it is exactly 0 at any size.
    """
    soft = np.ascontiguousarray(mask, dtype=np.float32)
    for _ in range(MASK_BLUR_PASSES):
        soft = cv2.GaussianBlur(soft, (MASK_BLUR_KERNEL, MASK_BLUR_KERNEL), MASK_BLUR_SIGMA)
    if soft.shape != (size, size):
        soft = cv2.resize(soft, (size, size), interpolation=cv2.INTER_LINEAR)
    border = max(round(MASK_BORDER_PX * size / PARSENET_SIZE), 1)
    soft[:border, :] = 0.0
    soft[-border:, :] = 0.0
    soft[:, :border] = 0.0
    soft[:, -border:] = 0.0
    return np.clip(soft, 0.0, 1.0)


class FaceParser:
    """ParseNet with the weights loaded, turning an aligned face crop into a soft paste mask.

    Holds no per-image state, so one instance serves every face of every photo.
    """

    def __init__(self, state_dict: StateDict, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.network = build_parsenet(state_dict).to(self.device)

    def labels(self, crop_bgr: np.ndarray) -> np.ndarray:
        """Class index per pixel at ParseNet's size, (512, 512) int64, for an 8-bit BGR crop of any size."""
        if crop_bgr.dtype != np.uint8 or crop_bgr.ndim != 3 or crop_bgr.shape[2] != 3:
            raise ValueError(f"expected an 8-bit BGR crop (HxWx3 uint8), got {crop_bgr.dtype} {crop_bgr.shape}")
        side = crop_bgr.shape[0]
        # Area averaging when shrinking avoids aliasing; the official code resizes bilinearly (same at 512).
        interpolation = cv2.INTER_AREA if side > PARSENET_SIZE else cv2.INTER_LINEAR
        face = cv2.resize(crop_bgr, (PARSENET_SIZE, PARSENET_SIZE), interpolation=interpolation)
        rgb = np.ascontiguousarray(face[:, :, ::-1])
        tensor = torch.from_numpy(rgb).to(self.device).permute(2, 0, 1)[None].float()
        tensor = tensor / 127.5 - 1.0  # [0, 255] -> [-1, 1], the network's training range
        with torch.inference_mode():
            logits = self.network(tensor)[0]  # (parsing logits, reconstructed image)
        return logits.argmax(dim=1)[0].cpu().numpy()

    def mask(self, crop_bgr: np.ndarray) -> np.ndarray:
        """Soft paste mask over the crop: float32 (S, S) in [0, 1], 1 on the face, 0 on everything else."""
        if crop_bgr.ndim != 3 or crop_bgr.shape[0] != crop_bgr.shape[1]:
            raise ValueError(f"expected a square aligned crop, got shape {crop_bgr.shape}")
        return soften_mask(hard_mask(self.labels(crop_bgr)), crop_bgr.shape[0])


def load_face_parser(device: torch.device | str = "cpu", folder: Path | None = None) -> FaceParser | None:
    """The parser built from the installed ParseNet weights, or None when they are not installed.

    Installed but unreadable or mismatched weights are an error, not None: the user asked for them.
    """
    path = find_installed(PARSENET_WEIGHTS, folder)
    if path is None:
        return None
    state_dict, _ = read_state_dict(path)
    try:
        return FaceParser(state_dict, device)
    except WeightsError as error:
        raise WeightsError(path, error.reason) from None
