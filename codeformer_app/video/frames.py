"""Restoring the faces of one video frame, with the photo pipeline's own steps.

Per frame: detect (every ``detect_every``-th frame) -> the tracker's smoothed landmarks -> align and crop
(``pipeline.faces``) -> CodeFormer encode + decode (``pipeline.encodings``) -> paste (``pipeline.paste``, with
the settings' feather and blend).
All crops are cut from the frame before any face is pasted back, as ``pipeline.photo`` does for a photo, so
two overlapping faces never see each other's restored pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..detection import find_faces
from ..pipeline.encodings import ONE_SHOT_BUDGET_BYTES, EncodingCache, render
from ..pipeline.faces import FaceInPhoto, face_from_detection
from ..pipeline.paste import paste_face
from ..pipeline.restore_file import Engine, RestoreSettings
from .tracking import FaceTracker, TrackedFace

#: The official rule for a black-and-white photo: the variance of the colour channels' differences is at most
#: this (8-bit levels). A black-and-white film gets grey faces, as a grey photo does.
GREY_VARIANCE_LIMIT = 10.0
#: Frames are judged grey on a copy this wide: enough pixels for the statistic, nothing to pay per frame.
GREY_SAMPLE_WIDTH = 160


def looks_grey(image_bgr: np.ndarray) -> bool:
    """True for a frame of a black-and-white film stored as colour."""
    height, width = image_bgr.shape[:2]
    scale = min(1.0, GREY_SAMPLE_WIDTH / width)
    small = cv2.resize(image_bgr, (max(1, round(width * scale)), max(1, round(height * scale))))
    b, g, r = (small[..., i].astype(np.float32) for i in range(3))
    return float(max(np.var(b - g), np.var(g - r), np.var(r - b))) <= GREY_VARIANCE_LIMIT


class FrameRestorer:
    """Restores frame after frame of one video; holds the tracker, so frames must come in order."""

    def __init__(
        self, engine: Engine, settings: RestoreSettings, tracker: FaceTracker, detect_every: int, grey: bool
    ) -> None:
        if engine.detector is None:
            raise ValueError("this engine was built without a face detector (for pre-aligned crops only)")
        if detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, got {detect_every}")
        self.engine = engine
        self.settings = settings
        self.tracker = tracker
        self.detect_every = detect_every
        self.grey = grey

    def faces_in(self, image_bgr: np.ndarray, index: int, time: float) -> list[TrackedFace]:
        """The faces to restore in frame ``index`` (shown at ``time`` seconds), tracked."""
        if index % self.detect_every:
            return self.tracker.coast()
        assert self.engine.detector is not None
        return self.tracker.update(find_faces(image_bgr, self.engine.detector, self.settings.detection), time)

    def restore(self, image_bgr: np.ndarray, index: int, time: float) -> list[TrackedFace]:
        """Restore the faces of an upright 8-bit BGR frame in place; returns the faces restored."""
        tracked = self.faces_in(image_bgr, index, time)
        size = self.engine.model.config.img_size
        located: list[FaceInPhoto] = []
        kept: list[TrackedFace] = []
        for face in tracked:
            try:
                located.append(face_from_detection(image_bgr, face.as_detection(), size))
            except ValueError:
                continue  # degenerate landmarks: nothing sensible to align, the frame keeps this face as it is
            kept.append(face)
        if not located:
            return []
        cache = EncodingCache(self.engine.model, [f.crop for f in located], ONE_SHOT_BUDGET_BYTES)
        compose = self.settings.compose
        if compose.blend <= 0.0:
            return kept  # nothing of the restored faces would show (as ``pipeline.photo.compose`` does)
        for index_in_frame, face in enumerate(located):
            crop = render(cache, index_in_frame, self.settings.fidelity, self.grey)
            mask = self.engine.parser.mask(crop) if self.engine.parser is not None else None
            paste_face(image_bgr, crop, face.alignment, 1.0, compose.feather, mask, compose.blend)
        return kept
