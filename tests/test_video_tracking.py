"""The face tracker on synthetic detections: matching, carrying a missed face, smoothing, saved state."""

from __future__ import annotations

import numpy as np
import pytest

from codeformer_app.detection import DetectedFace
from codeformer_app.detection.align import TEMPLATE_LANDMARKS_512
from codeformer_app.video.tracking import PER_FRAME, FaceTracker, TrackingOptions, iou

FPS = 25.0
#: A 100 px face: the template's landmarks scaled down, placed at (x, y).
FACE_SCALE = 100.0 / 512.0


def face_at(x: float, y: float, jitter: np.ndarray | None = None) -> DetectedFace:
    points = TEMPLATE_LANDMARKS_512 * FACE_SCALE + (x, y)
    if jitter is not None:
        points = points + jitter
    return DetectedFace((x, y, x + 100.0, y + 100.0), 0.99, points)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_two_faces_keep_their_tracks_as_they_move() -> None:
    tracker = FaceTracker()
    ids = None
    for frame in range(10):
        faces = tracker.update([face_at(300 - 3 * frame, 50), face_at(10 + 3 * frame, 60)], frame / FPS)
        by_x = sorted(faces, key=lambda f: f.box[0])
        if ids is None:
            ids = [f.track_id for f in by_x]
        assert [f.track_id for f in by_x] == ids
    assert sorted(ids) == [0, 1]


def test_a_face_missed_for_two_frames_is_carried_then_dropped() -> None:
    tracker = FaceTracker(TrackingOptions(max_missed=2))
    first = tracker.update([face_at(50, 50)], 0.0)
    for frame in (1, 2):
        carried = tracker.update([], frame / FPS)
        assert len(carried) == 1 and carried[0].carried and carried[0].track_id == first[0].track_id
        np.testing.assert_allclose(carried[0].landmarks, first[0].landmarks, atol=1e-4)
    assert tracker.update([], 3 / FPS) == []
    # back after the track ended: a new face
    assert tracker.update([face_at(50, 50)], 4 / FPS)[0].track_id != first[0].track_id


def test_a_returning_face_continues_its_track() -> None:
    tracker = FaceTracker(TrackingOptions(max_missed=2))
    start = tracker.update([face_at(50, 50)], 0.0)[0].track_id
    tracker.update([], 1 / FPS)
    again = tracker.update([face_at(52, 51)], 2 / FPS)
    assert [f.track_id for f in again] == [start] and not again[0].carried


def test_per_frame_neither_smooths_nor_carries() -> None:
    tracker = FaceTracker(PER_FRAME)
    jitter = np.full((5, 2), 1.5, np.float32)
    tracker.update([face_at(50, 50)], 0.0)
    moved = tracker.update([face_at(50, 50, jitter)], 1 / FPS)
    np.testing.assert_allclose(moved[0].landmarks, face_at(50, 50, jitter).landmarks)
    assert tracker.update([], 2 / FPS) == []


def _jitter_of(options: TrackingOptions, frames: int = 100) -> float:
    """Mean frame-to-frame landmark movement of a still face whose detections wobble by ~1 px."""
    rng = np.random.default_rng(7)
    tracker = FaceTracker(options)
    previous, moves = None, []
    for frame in range(frames):
        face = tracker.update([face_at(50, 50, rng.normal(0, 1.0, (5, 2)))], frame / FPS)[0]
        if previous is not None:
            moves.append(float(np.abs(face.landmarks - previous).mean()))
        previous = face.landmarks
    return float(np.mean(moves))


def test_smoothing_reduces_landmark_jitter_of_a_still_face() -> None:
    raw, smoothed = _jitter_of(PER_FRAME), _jitter_of(TrackingOptions())
    assert smoothed < raw / 3


def test_smoothing_follows_a_moving_face_with_little_lag() -> None:
    tracker = FaceTracker()
    speed = 4.0  # px per frame: a head turning across the frame in a few seconds
    for frame in range(40):
        face = tracker.update([face_at(50 + speed * frame, 50)], frame / FPS)[0]
    truth = face_at(50 + speed * 39, 50).landmarks
    assert float(np.abs(face.landmarks - truth).max()) < 3 * speed


def test_state_round_trip_gives_the_same_result() -> None:
    rng = np.random.default_rng(3)
    detections = [[face_at(50 + frame, 50, rng.normal(0, 1.0, (5, 2)))] for frame in range(12)]
    whole = FaceTracker()
    first_half = FaceTracker()
    for frame in range(6):
        whole.update(detections[frame], frame / FPS)
        first_half.update(detections[frame], frame / FPS)
    resumed = FaceTracker.from_state(TrackingOptions(), first_half.state())
    for frame in range(6, 12):
        a = whole.update(detections[frame], frame / FPS)
        b = resumed.update(detections[frame], frame / FPS)
        assert [f.track_id for f in a] == [f.track_id for f in b]
        np.testing.assert_allclose(a[0].landmarks, b[0].landmarks, atol=1e-5)


def test_coast_carries_without_counting_a_miss() -> None:
    tracker = FaceTracker(TrackingOptions(max_missed=1))
    tracker.update([face_at(50, 50)], 0.0)
    for _ in range(5):
        assert len(tracker.coast()) == 1
    assert len(tracker.update([], 0.2)) == 1
