"""Faces followed from frame to frame, so the aligned crop of a face does not jitter and a short miss is bridged.

Restoring each frame on its own makes faces flicker: the detector's landmarks wobble by a pixel or two from
frame to frame even on a still face, the aligned crop wobbles with them, and the network answers each wobble
with different detail. Here each detection is matched to the face it continues (box overlap, else the nearest
centre), its five landmarks go through a one-euro filter (Casiraghi et al., CHI 2012: strong smoothing while
the face is still, little lag when it moves, because the cut-off rises with the speed), and a face the
detector misses for up to ``max_missed`` frames keeps its last smoothed landmarks.

Plain numpy, no network: the tracker is tested with synthetic detections. Its state is plain data
(``state()`` / ``FaceTracker.from_state``) so a resumed run continues a segment with the same smoothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..detection import DetectedFace

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class SmoothingOptions:
    """One-euro filter settings; speeds are in face sizes (box diagonals) per second, so they hold at any
    resolution."""

    min_cutoff_hz: float = 1.0
    """Cut-off for a still face: lower is steadier."""
    beta: float = 10.0
    """How fast the cut-off rises with speed: higher follows movement with less lag."""
    derivative_cutoff_hz: float = 1.0
    """Smoothing of the speed estimate itself."""


@dataclass(frozen=True)
class TrackingOptions:
    max_missed: int = 3
    """Frames a face is carried without a detection before its track ends."""
    min_iou: float = 0.3
    """Box overlap for a detection to continue a track."""
    max_centre_shift: float = 0.5
    """Else: centres closer than this many face sizes (a fast move whose boxes barely overlap)."""
    smoothing: SmoothingOptions | None = field(default_factory=SmoothingOptions)
    """None: the detector's landmarks as they are (per-frame restoration, the baseline the bench measures)."""


#: Per-frame restoration, as the official video script does it: no smoothing, no carried faces.
PER_FRAME = TrackingOptions(max_missed=0, smoothing=None)


@dataclass(frozen=True)
class TrackedFace:
    """One face in one frame: which track, where to align it, and whether the detector saw it this frame."""

    track_id: int
    landmarks: np.ndarray
    box: Box
    score: float
    carried: bool

    def as_detection(self) -> DetectedFace:
        """The smoothed face in the detector's type, for the pipeline's alignment and reports."""
        return DetectedFace(self.box, self.score, self.landmarks)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_size(box: Box) -> float:
    """The box's diagonal: the face's size for speeds and distances."""
    return max(math.hypot(box[2] - box[0], box[3] - box[1]), 1.0)


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0


def _alpha(dt: float, cutoff_hz: float) -> float:
    """Weight of the new sample in an exponential filter with this cut-off at this time step."""
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Smooths one face's landmarks (all points share one cut-off, so the face's shape stays rigid)."""

    def __init__(self, options: SmoothingOptions, value: np.ndarray, time: float) -> None:
        self.options = options
        self.value = np.asarray(value, np.float64).copy()
        self.speed = np.zeros_like(self.value)
        self.time = time

    def __call__(self, value: np.ndarray, time: float, size: float) -> np.ndarray:
        dt = time - self.time
        if dt <= 0:
            return self.value.copy()
        value = np.asarray(value, np.float64)
        raw_speed = (value - self.value) / dt
        a_speed = _alpha(dt, self.options.derivative_cutoff_hz)
        self.speed = a_speed * raw_speed + (1.0 - a_speed) * self.speed
        face_speed = float(np.linalg.norm(self.speed, axis=-1).mean()) / size
        cutoff = self.options.min_cutoff_hz + self.options.beta * face_speed
        a_value = _alpha(dt, cutoff)
        self.value = a_value * value + (1.0 - a_value) * self.value
        self.time = time
        return self.value.copy()

    def state(self) -> dict[str, Any]:
        return {"value": self.value.tolist(), "speed": self.speed.tolist(), "time": self.time}

    @classmethod
    def from_state(cls, options: SmoothingOptions, state: dict[str, Any]) -> OneEuroFilter:
        smoother = cls(options, np.array(state["value"]), float(state["time"]))
        smoother.speed = np.array(state["speed"], np.float64)
        return smoother


@dataclass
class _Track:
    track_id: int
    landmarks: np.ndarray
    box: Box
    score: float
    missed: int = 0
    smoother: OneEuroFilter | None = None

    def face(self, carried: bool) -> TrackedFace:
        landmarks = self.landmarks.astype(np.float32)
        landmarks.setflags(write=False)
        return TrackedFace(self.track_id, landmarks, self.box, self.score, carried)


class FaceTracker:
    """Call ``update`` once per frame with that frame's detections (or ``coast`` on frames not detected on)."""

    def __init__(self, options: TrackingOptions = TrackingOptions()) -> None:
        self.options = options
        self._tracks: list[_Track] = []
        self._next_id = 0

    def update(self, detections: list[DetectedFace], time: float) -> list[TrackedFace]:
        """The faces to restore in the frame at ``time`` seconds: matched, new, and carried ones (by track id)."""
        pairs = self._associate(detections)
        matched_tracks = {id(track) for track, _ in pairs}
        matched_detections = {id(face) for _, face in pairs}
        carried: list[_Track] = []
        for track in self._tracks:
            if id(track) in matched_tracks:
                continue
            track.missed += 1
            if track.missed <= self.options.max_missed:
                carried.append(track)
        for track, face in pairs:
            self._follow(track, face, time)
        fresh = [self._start(face, time) for face in detections if id(face) not in matched_detections]
        self._tracks = sorted([*(t for t, _ in pairs), *carried, *fresh], key=lambda t: t.track_id)
        carried_ids = {t.track_id for t in carried}
        return [track.face(track.track_id in carried_ids) for track in self._tracks]

    def coast(self) -> list[TrackedFace]:
        """A frame the detector was not run on: every face where it was, no miss counted."""
        return [track.face(carried=True) for track in self._tracks]

    def _associate(self, detections: list[DetectedFace]) -> list[tuple[_Track, DetectedFace]]:
        """Greedy matching: best overlaps first, then nearest centres for what is left."""
        candidates = [
            (iou(track.box, face.box), index, j)
            for index, track in enumerate(self._tracks)
            for j, face in enumerate(detections)
        ]
        pairs: list[tuple[_Track, DetectedFace]] = []
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for overlap, index, j in sorted(candidates, reverse=True):
            if overlap < self.options.min_iou:
                break
            if index not in used_tracks and j not in used_faces:
                used_tracks.add(index)
                used_faces.add(j)
                pairs.append((self._tracks[index], detections[j]))
        near = []
        for index, track in enumerate(self._tracks):
            for j, face in enumerate(detections):
                if index in used_tracks or j in used_faces:
                    continue
                (ax, ay), (bx, by) = _centre(track.box), _centre(face.box)
                shift = math.hypot(ax - bx, ay - by) / box_size(track.box)
                if shift <= self.options.max_centre_shift:
                    near.append((shift, index, j))
        for _, index, j in sorted(near):
            if index not in used_tracks and j not in used_faces:
                used_tracks.add(index)
                used_faces.add(j)
                pairs.append((self._tracks[index], detections[j]))
        return pairs

    def _start(self, face: DetectedFace, time: float) -> _Track:
        smoothing = self.options.smoothing
        landmarks = np.asarray(face.landmarks, np.float64)
        smoother = OneEuroFilter(smoothing, landmarks, time) if smoothing is not None else None
        track = _Track(self._next_id, landmarks, face.box, face.score, smoother=smoother)
        self._next_id += 1
        return track

    @staticmethod
    def _follow(track: _Track, face: DetectedFace, time: float) -> None:
        raw = np.asarray(face.landmarks, np.float64)
        track.landmarks = raw if track.smoother is None else track.smoother(raw, time, box_size(face.box))
        track.box, track.score, track.missed = face.box, face.score, 0

    def state(self) -> dict[str, Any]:
        """Plain data (JSON) that ``from_state`` turns back into this tracker."""
        return {
            "next_id": self._next_id,
            "tracks": [
                {
                    "id": t.track_id,
                    "landmarks": t.landmarks.tolist(),
                    "box": list(t.box),
                    "score": t.score,
                    "missed": t.missed,
                    "smoother": t.smoother.state() if t.smoother is not None else None,
                }
                for t in self._tracks
            ],
        }

    @classmethod
    def from_state(cls, options: TrackingOptions, state: dict[str, Any]) -> FaceTracker:
        tracker = cls(options)
        tracker._next_id = int(state["next_id"])
        for item in state["tracks"]:
            smoother = None
            if item["smoother"] is not None and options.smoothing is not None:
                smoother = OneEuroFilter.from_state(options.smoothing, item["smoother"])
            box = tuple(float(v) for v in item["box"])
            landmarks = np.array(item["landmarks"], np.float64)
            tracker._tracks.append(
                _Track(int(item["id"]), landmarks, box, float(item["score"]), int(item["missed"]), smoother)
            )
        return tracker
