"""One task runner per window: every background task of the window, its dialogs and panels goes through it.

It owns what each of them used to track by hand (issue #12, point 1; issue #11, point 17):

- *generations*: a ``LATEST`` task started under a name that is already running makes the older one quit and
  drops its results, so the newest request wins (renders, opens, engine loads);
- *debounce*: :meth:`debounce` waits for quiet before starting (the slider's render), on a timer it owns;
- *writers*: ``WRITER`` tasks (save, export, batch, download, import) are never quit; :meth:`when_writers_done`
  runs a callback once none is left (close-when-idle);
- *close*: :meth:`close` stops the timers, quits every task but the writers and drops every result that
  arrives afterwards, so no callback ever reaches a widget that is being deleted.

The callbacks run on the GUI thread. Progress arrives one way only: what the task yields (see ``workers.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from shiboken6 import isValid
from superqt.utils import GeneratorWorker

from .workers import start_task


class TaskKind(StrEnum):
    LATEST = "latest-wins"
    """A newer task of the same name makes this one quit; its results are dropped."""
    PARALLEL = "parallel"
    """Runs alongside others of its name (e.g. two boxes drawn one after the other)."""
    WRITER = "writer"
    """Writes files: never quit (a quit would lose the file); closing waits for it."""


@dataclass
class _Task:
    name: str
    kind: TaskKind
    generation: int
    worker: GeneratorWorker | None = None
    callbacks: dict[str, Callable[..., Any] | None] = field(default_factory=dict)


class TaskRunner(QObject):
    """See the module docstring. ``task_ended`` (the task's name) comes after the task's own callbacks, for
    every task that ends before :meth:`close`, also a stale one: views use it to update busy indicators."""

    task_ended = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: list[_Task] = []
        self._generations: dict[str, int] = {}
        self._timers: dict[str, QTimer] = {}
        self._debounced: dict[str, Callable[[], None]] = {}
        self._when_writers_done: list[Callable[[], None]] = []
        self._closed = False

    # --- starting and stopping ---

    def start(
        self,
        name: str,
        task: Callable[..., Generator],
        *args: Any,
        on_error: Callable[[Exception], None],
        on_done: Callable[[Any], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        kind: TaskKind = TaskKind.LATEST,
    ) -> None:
        """Run ``task(*args)`` in a worker. ``on_error`` is required: every failure must reach the user."""
        if self._closed:
            return
        if kind is TaskKind.LATEST:
            self.cancel(name)
        entry = _Task(name, kind, self._generations.get(name, 0))
        entry.callbacks = {"done": on_done, "error": on_error, "progress": on_progress}
        self._running.append(entry)
        entry.worker = start_task(
            task,
            *args,
            on_progress=lambda value: self._deliver(entry, "progress", value),
            on_done=lambda value: self._deliver(entry, "done", value),
            on_error=lambda error: self._deliver(entry, "error", error),
            on_finished=lambda: self._ended(entry),
        )

    def cancel(self, name: str) -> None:
        """Quit the ``LATEST``/``PARALLEL`` tasks of ``name`` (at their next yield) and drop their results; a
        pending :meth:`debounce` of ``name`` is stopped too. Writers are left to finish."""
        timer = self._timers.get(name)
        if timer is not None:
            timer.stop()
        self._generations[name] = self._generations.get(name, 0) + 1
        for entry in self._running:
            if entry.name == name and entry.kind is not TaskKind.WRITER and entry.worker is not None:
                entry.worker.quit()

    def debounce(self, name: str, delay_ms: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` once nothing was asked for ``delay_ms``; each call restarts the wait. A running
        task of ``name`` is cancelled now: its setting is already out of date."""
        if self._closed:
            return
        self.cancel(name)
        self._debounced[name] = callback
        timer = self._timers.get(name)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self._debounced[name]())
            self._timers[name] = timer
        timer.setInterval(delay_ms)
        timer.start()

    def close(self) -> None:
        """Stop every timer and quit every task but the writers (they finish their file); nothing that arrives
        from a worker afterwards reaches a callback."""
        self._closed = True
        for timer in self._timers.values():
            timer.stop()
        for entry in self._running:
            if entry.worker is not None and entry.kind is not TaskKind.WRITER:
                entry.worker.quit()
        self._when_writers_done.clear()

    # --- state ---

    @property
    def closed(self) -> bool:
        return self._closed

    def pending(self, name: str) -> bool:
        """A :meth:`debounce` of ``name`` is waiting."""
        timer = self._timers.get(name)
        return timer is not None and timer.isActive()

    def running(self, *names: str) -> bool:
        """A task of one of ``names`` (of any name if none is given) has not ended yet, even one quit."""
        return any(not names or entry.name in names for entry in self._running)

    @property
    def writing(self) -> bool:
        return any(entry.kind is TaskKind.WRITER for entry in self._running)

    def when_writers_done(self, callback: Callable[[], None]) -> None:
        """``callback`` once no writer is running (at once if none is)."""
        if not self.writing:
            callback()
        else:
            self._when_writers_done.append(callback)

    # --- from the workers (GUI thread) ---

    def _current(self, entry: _Task) -> bool:
        if self._closed or not isValid(self):  # closed, or deleted with its window without a close
            return False
        return entry.kind is TaskKind.WRITER or entry.generation == self._generations.get(entry.name, 0)

    def _deliver(self, entry: _Task, which: str, value: Any) -> None:
        callback = entry.callbacks.get(which)
        if callback is not None and self._current(entry):
            callback(value)

    def _ended(self, entry: _Task) -> None:
        if entry in self._running:
            self._running.remove(entry)
        entry.callbacks.clear()
        entry.worker = None
        if self._closed or not isValid(self):
            return
        self.task_ended.emit(entry.name)
        if not self.writing:
            waiting, self._when_writers_done = self._when_writers_done, []
            for callback in waiting:
                callback()
