"""The instant slider preview (issue #14, point 4): each face rendered once at a few anchor fidelities in the
background, and already warped into the photo there, so that a slider move only mixes two small images per
face and blends them into the photo on the GUI thread.

Measured with 19 faces of 512 px crops on an 800 x 650 photo (2-core CPU): mixing the crops and running the
full ``compose`` took 180-380 ms; mixing the pre-warped face regions here takes a few ms. The mix of two warped
anchors equals the warp of the mixed crops up to rounding; the exact render replaces it a moment later.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..detection.align import Alignment
from ..pipeline.paste import crop_to_output, face_region, paste_masks

#: Fidelities each face is rendered at in the background (5 warped face regions a face).
ANCHOR_FIDELITIES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: 8-bit network output onto a 16-bit photo (as ``paste_face`` does).
UINT16_SCALE = 257.0


@dataclass(frozen=True)
class FaceLayer:
    """One face's anchor renders warped into its region of the photo, ready to be mixed and blended."""

    x0: int
    y0: int
    anchors: tuple[np.ndarray, ...]
    """Per ``ANCHOR_FIDELITIES``: the warped render weighted by the trimmed square mask, 8-bit, region-sized."""
    mask: np.ndarray
    """The soft paste mask over the region, float32."""


def face_layer(
    crops: dict[float, np.ndarray], alignment: Alignment, feather: float, shape: tuple[int, int]
) -> FaceLayer:
    """Warp a face's anchor crops into the photo (``shape``: its height and width) as ``paste_face`` would."""
    to_out = crop_to_output(alignment)
    region = face_region(to_out, alignment.size, shape)
    to_region = to_out.copy()
    to_region[:, 2] -= (region.x0, region.y0)
    dims = (max(region.width, 0), max(region.height, 0))
    masks = paste_masks(alignment.size, to_region, region, feather)
    anchors = []
    for fidelity in ANCHOR_FIDELITIES:
        warped = cv2.warpAffine(crops[fidelity], to_region, dims, flags=cv2.INTER_LINEAR).astype(np.float32)
        anchors.append(np.clip(np.rint(warped * masks.trimmed[:, :, None]), 0, 255).astype(np.uint8))
    return FaceLayer(region.x0, region.y0, tuple(anchors), masks.soft.astype(np.float32))


def mix_weights(fidelity: float) -> tuple[int, int, float]:
    """The two anchors around ``fidelity`` (indices) and the weight of the upper one."""
    upper = next((i for i, w in enumerate(ANCHOR_FIDELITIES) if w >= fidelity), len(ANCHOR_FIDELITIES) - 1)
    lower = max(0, upper - 1)
    low, high = ANCHOR_FIDELITIES[lower], ANCHOR_FIDELITIES[upper]
    return lower, upper, 0.0 if high == low else float(np.clip((fidelity - low) / (high - low), 0.0, 1.0))


def quick_compose(
    photo: np.ndarray, layers: dict[int, FaceLayer], fidelities: dict[int, float], blends: dict[int, float]
) -> np.ndarray:
    """The photo with each face of ``fidelities`` mixed from its two nearest anchors at its fidelity and
    blended in with its blend (``blends``, default 1); the others stay as in the photo. No network."""
    canvas = photo.copy()
    scale = UINT16_SCALE if canvas.dtype == np.uint16 else 1.0
    limit = np.iinfo(canvas.dtype).max
    for face_id, fidelity in fidelities.items():
        layer = layers[face_id]
        lower, upper, t = mix_weights(fidelity)
        face = layer.anchors[lower].astype(np.float32) * (1.0 - t) + layer.anchors[upper].astype(np.float32) * t
        alpha = (layer.mask * np.float32(blends.get(face_id, 1.0)))[:, :, None]
        height, width = layer.mask.shape
        target = canvas[layer.y0 : layer.y0 + height, layer.x0 : layer.x0 + width]
        mixed = alpha * face * scale + (1.0 - alpha) * target.astype(np.float32)
        target[...] = np.clip(np.rint(mixed), 0, limit).astype(canvas.dtype)
    return canvas
