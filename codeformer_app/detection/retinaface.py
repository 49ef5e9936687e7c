"""RetinaFace, the official CodeFormer detector (ResNet-50) and its light variant (MobileNet-0.25), used when
their weights are installed.

The network is recognised and built by ``networks/retinaface/`` (facexlib's definition, never asked to fetch
anything) from the ``.safetensors`` that our weights manager installed. Pre- and post-processing are done here rather
than by facexlib's ``detect_faces``, which keeps per-image state on the network object and always resizes on
its own. Both variants share them: they differ only in the backbone (and the FPN/SSH widths it implies).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchvision

from ..networks.retinaface import load as retinaface_network
from ..weights import resolve_weights
from ..weights.registry import RETINAFACE, RETINAFACE_MOBILE, WeightsEntry
from ..weights.safe_load import read_state_dict
from .find import check_image
from .types import LANDMARK_COUNT, DetectedFace

#: Default ``min_score`` for ``find_faces``: the official CodeFormer pipeline's threshold (its own
#: ``facelib`` RetinaFace, ``detect_faces(conf_threshold=0.8)``). 0.97 is facexlib 0.3.0's helper (GFPGAN's
#: pipeline), not CodeFormer's; see docs/detector-choice.md.
DEFAULT_MIN_SCORE = 0.8
#: Detections below this confidence are dropped before non-maximum suppression, only to bound its cost;
#: ``find_faces`` applies the real threshold.
RAW_SCORE_FLOOR = 0.5
#: Overlap (IoU) above which the less confident of two boxes is suppressed (the RetinaFace reference value).
NMS_IOU = 0.4
#: Most candidates considered before / kept after non-maximum suppression (the RetinaFace reference values).
PRE_NMS_TOP_K = 5000
POST_NMS_TOP_K = 750
#: The network was trained on BGR images minus this per-channel mean, without scaling.
BGR_MEAN = (104.0, 117.0, 123.0)


@dataclass(frozen=True)
class RetinaFaceVariant:
    """One RetinaFace backbone: the detector's name, facexlib's ``network_name`` and the weights it loads."""

    name: str
    network_name: str
    weights: WeightsEntry

    @property
    def label(self) -> str:
        return retinaface_network.LABELS[self.network_name]


RESNET50 = RetinaFaceVariant("retinaface", retinaface_network.RESNET50, RETINAFACE)
MOBILENET = RetinaFaceVariant("retinaface-mobile", retinaface_network.MOBILENET, RETINAFACE_MOBILE)
#: The variants by detector name (``defaults.DETECTOR_NAMES``).
VARIANTS = {variant.name: variant for variant in (RESNET50, MOBILENET)}


class RetinaFaceDetector:
    """RetinaFace on ``device`` with loaded weights; holds no per-image state."""

    default_min_score = DEFAULT_MIN_SCORE

    def __init__(
        self, network: torch.nn.Module, device: torch.device | str = "cpu", variant: RetinaFaceVariant = RESNET50
    ) -> None:
        self.name = variant.name
        self.variant = variant
        self.device = torch.device(device)
        self._network = network.eval().to(self.device)
        self._mean = torch.tensor(BGR_MEAN, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)

    @classmethod
    def from_installed(
        cls,
        device: torch.device | str = "cpu",
        weights_folder: Path | None = None,
        variant: RetinaFaceVariant = RESNET50,
    ) -> RetinaFaceDetector:
        """The detector with the installed weights; ``WeightsMissingError`` (how to download) when absent."""
        path = resolve_weights(variant.weights.name, folder=weights_folder)
        return cls.from_file(path, device, variant)

    @classmethod
    def from_file(
        cls, path: Path, device: torch.device | str = "cpu", variant: RetinaFaceVariant = RESNET50
    ) -> RetinaFaceDetector:
        """The detector with the weights in ``path`` (``.safetensors``, or ``.pth`` read with weights_only)."""
        tensors, _metadata = read_state_dict(Path(path))
        return cls(retinaface_network.build_retinaface(tensors, Path(path), variant.network_name), device, variant)

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in an 8-bit BGR image, in its pixel coordinates (no resizing: ``find_faces`` does that)."""
        from facexlib.detection.retinaface_utils import PriorBox, decode, decode_landm

        check_image(image_bgr)
        height, width = image_bgr.shape[:2]
        network = self._network
        with torch.inference_mode():
            pixels = torch.from_numpy(np.ascontiguousarray(image_bgr)).to(self.device)
            batch = pixels.permute(2, 0, 1).unsqueeze(0).float() - self._mean
            locations, confidences, landmark_offsets = network(batch)
            priors = PriorBox(network.cfg, image_size=(height, width)).forward().to(self.device)
            variance = network.cfg["variance"]
            boxes = decode(locations[0], priors, variance) * _per_axis(width, height, 2, self.device)
            points = decode_landm(landmark_offsets[0], priors, variance) * _per_axis(
                width, height, LANDMARK_COUNT, self.device
            )
            scores = confidences[0, :, 1]
            keep = torch.nonzero(scores >= RAW_SCORE_FLOOR).flatten()
            keep = keep[scores[keep].argsort(descending=True)[:PRE_NMS_TOP_K]]
            keep = keep[torchvision.ops.nms(boxes[keep], scores[keep], NMS_IOU)[:POST_NMS_TOP_K]]
            rows = torch.cat([boxes[keep], scores[keep, None], points[keep]], dim=1).double().cpu().numpy()
        return [
            DetectedFace(tuple(row[:4]), float(row[4]), row[5:].reshape(LANDMARK_COUNT, 2))
            for row in rows
            if np.isfinite(row).all() and row[2] >= row[0] and row[3] >= row[1]
        ]


def _per_axis(width: int, height: int, points: int, device: torch.device) -> torch.Tensor:
    """(width, height) repeated for ``points`` points: turns the decoder's [0, 1] coordinates into pixels."""
    return torch.tensor([width, height] * points, dtype=torch.float32, device=device)
