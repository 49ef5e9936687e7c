"""What a face detector returns and what the caller may ask of it.

Coordinates are image pixel coordinates in OpenCV's convention: (0, 0) is the centre of the top-left pixel,
x grows to the right, y downwards. Landmarks feed the similarity transform to the CodeFormer 512 template,
so their order is fixed here once, by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, runtime_checkable

import numpy as np

Box = tuple[float, float, float, float]


class Landmark(IntEnum):
    """Row of each point in ``DetectedFace.landmarks``; "left" is the point with the smaller x in the image.

    The same order as RetinaFace's output and the CodeFormer 512 template.
    """

    LEFT_EYE = 0
    RIGHT_EYE = 1
    NOSE_TIP = 2
    MOUTH_LEFT = 3
    MOUTH_RIGHT = 4


#: Number of landmarks per face.
LANDMARK_COUNT = len(Landmark)


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """One face: its box, the detector's confidence, and five landmarks, in the coordinates of one image.

    Compared by identity (``eq=False``): the landmarks are an array, and two detections are never "equal"
    in a way a caller could rely on. The landmarks are stored as a read-only float32 copy.
    """

    box: Box
    score: float
    landmarks: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        box = tuple(float(value) for value in self.box)
        if len(box) != 4 or not all(math.isfinite(value) for value in box):
            raise ValueError(f"a face box is four finite numbers (x0, y0, x1, y1), got {self.box!r}")
        if box[2] < box[0] or box[3] < box[1]:
            raise ValueError(f"a face box needs x0 <= x1 and y0 <= y1, got {box!r}")
        points = np.array(self.landmarks, dtype=np.float32)
        if points.shape != (LANDMARK_COUNT, 2) or not np.isfinite(points).all():
            raise ValueError(f"landmarks must be {LANDMARK_COUNT} finite (x, y) points, got shape {points.shape}")
        points.setflags(write=False)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "score", float(self.score))
        object.__setattr__(self, "landmarks", points)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def short_side(self) -> float:
        """What ``DetectionOptions.min_face_size`` is compared with."""
        return min(self.width, self.height)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0

    @property
    def eye_distance(self) -> float:
        """Distance between the eye centres; the official pipeline skips faces where it is below 5 px."""
        left, right = self.landmarks[Landmark.LEFT_EYE], self.landmarks[Landmark.RIGHT_EYE]
        return float(np.hypot(*(right - left)))

    def point(self, which: Landmark) -> tuple[float, float]:
        """One landmark as an (x, y) pair."""
        x, y = self.landmarks[which]
        return float(x), float(y)

    def transformed(self, scale_x: float, scale_y: float, offset_x: float = 0.0, offset_y: float = 0.0) -> DetectedFace:
        """This face in another image's coordinates, where this image is that one scaled then shifted.

        A point at ``x`` here is at ``(x + 0.5) / scale_x - 0.5 + offset_x`` there: pixel centres map to
        pixel centres, as ``cv2.resize`` samples them.
        """

        def back(values: np.ndarray, scale: float, offset: float) -> np.ndarray:
            return (values + 0.5) / scale - 0.5 + offset

        corners = np.asarray(self.box, dtype=np.float64).reshape(2, 2)
        box_x = back(corners[:, 0], scale_x, offset_x)
        box_y = back(corners[:, 1], scale_y, offset_y)
        points = self.landmarks.astype(np.float64)
        points = np.stack([back(points[:, 0], scale_x, offset_x), back(points[:, 1], scale_y, offset_y)], axis=1)
        return DetectedFace((box_x[0], box_y[0], box_x[1], box_y[1]), self.score, points)


@runtime_checkable
class FaceDetector(Protocol):
    """A face detector: raw detections on exactly the image it is given.

    ``find_faces`` does the resizing to the detection size, the mapping back and the filtering; a detector
    only detects. ``default_min_score`` is the confidence below which ``find_faces`` drops a detection when
    the caller does not choose one, because scores of different detectors are not comparable.
    """

    name: str
    default_min_score: float

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in an 8-bit BGR ``H x W x 3`` image, in that image's pixel coordinates."""
        ...


#: Official CodeFormer detects on a copy whose short side is 640 px.
DEFAULT_DETECT_SIDE = 640
#: Official CodeFormer skips faces whose eyes are closer than 5 px (side views, tiny faces).
DEFAULT_MIN_EYE_DISTANCE = 5.0


@dataclass(frozen=True)
class DetectionOptions:
    """Which faces ``find_faces`` returns. Sizes are in pixels of the image passed in, not the detection copy."""

    #: The detection copy's short side. Larger images are shrunk to it; smaller ones are enlarged to it, but
    #: by at most ``max_upscale`` (a 40 px thumbnail is not blown up 16 times: there is nothing to find).
    detect_side: int = DEFAULT_DETECT_SIDE
    #: Skip faces whose box's short side is smaller than this.
    min_face_size: float = 0.0
    #: Skip faces whose eye centres are closer than this (official: 5).
    min_eye_distance: float = DEFAULT_MIN_EYE_DISTANCE
    #: Keep only the face whose box centre is nearest the image centre (official ``only_center_face``).
    only_center: bool = False
    #: Keep the N largest faces (by box area); None keeps all.
    max_faces: int | None = None
    #: Drop detections with a lower confidence; None uses the detector's ``default_min_score``.
    min_score: float | None = None
    #: Largest enlargement of a small image for detection.
    max_upscale: float = 4.0

    def __post_init__(self) -> None:
        if self.detect_side < 1:
            raise ValueError(f"detect_side must be at least 1 px, got {self.detect_side}")
        if self.min_face_size < 0 or self.min_eye_distance < 0:
            raise ValueError("min_face_size and min_eye_distance cannot be negative")
        if self.max_faces is not None and self.max_faces < 1:
            raise ValueError(f"max_faces must be at least 1 (or None for all), got {self.max_faces}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if self.max_upscale < 1.0:
            raise ValueError(f"max_upscale must be at least 1, got {self.max_upscale}")
