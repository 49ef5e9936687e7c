"""Frames per second and time left, for a progress bar fed by ``restore_video_file``'s ``on_frame``.

A resumed run reports the frames of its finished segments all at once; counting them as work done would
make the first estimate absurdly optimistic. The rate is therefore measured from the last such jump on.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class FrameEta:
    """Call ``update(done, total)`` with each progress report; read ``fps`` and ``eta_seconds``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._base: tuple[int, float] | None = None
        self._done = 0
        self._total = 0
        self._now = 0.0

    def update(self, done: int, total: int) -> None:
        now = self._clock()
        if self._base is None or done - self._done > 1 or done < self._done:
            self._base = (done, now)  # start, or frames taken from finished segments: measure from here
        self._done, self._total, self._now = done, total, now

    @property
    def fps(self) -> float | None:
        """Frames restored per second since the last jump, or None before two reports."""
        if self._base is None:
            return None
        base_done, base_time = self._base
        if self._done <= base_done or self._now <= base_time:
            return None
        return (self._done - base_done) / (self._now - base_time)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate, or None while unknown."""
        rate = self.fps
        if rate is None:
            return None
        return max(self._total - self._done, 0) / rate
