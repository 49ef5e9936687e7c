"""Frames per second and time left, resumed frames not counted as speed."""

from __future__ import annotations

import pytest

from codeformer_app.video.progress import FrameEta


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_eta_from_the_frames_restored() -> None:
    clock = Clock()
    eta = FrameEta(clock)
    eta.update(0, 100)
    assert eta.fps is None and eta.eta_seconds is None
    for done in range(1, 11):
        clock.now += 2.0
        eta.update(done, 100)
    assert eta.fps == pytest.approx(0.5) and eta.eta_seconds == pytest.approx(180.0)


def test_frames_of_finished_segments_do_not_count_as_speed() -> None:
    clock = Clock()
    eta = FrameEta(clock)
    eta.update(0, 100)
    eta.update(60, 100)  # a resumed run: 60 frames came from finished segments at once
    assert eta.fps is None
    for done in range(61, 65):
        clock.now += 4.0
        eta.update(done, 100)
    assert eta.fps == pytest.approx(0.25) and eta.eta_seconds == pytest.approx(36 * 4.0)
