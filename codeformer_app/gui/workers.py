"""Background work for the GUI: generator tasks run by superqt's workers (napari's design).

A task is a generator function: it ``yield``s progress values (delivered on the GUI thread through the
worker's ``yielded`` signal), is stopped between two yields by ``worker.quit()``, and its return value arrives
through ``returned``. Errors arrive through ``errored`` as exceptions.

superqt treats a ``RuntimeError`` escaping the generator as "the worker's Qt object was deleted" and only
warns, without ``errored`` or even ``finished``. PyTorch reports most failures (out of memory, bad shapes) as
``RuntimeError``, so :func:`start_task` wraps each task so that such errors become :class:`TaskFailed`, which
superqt does pass on.

Progress reaches the GUI one way: what a task yields. The core reports some progress through callbacks from
inside one blocking call (a download's bytes, a batch file's faces); :func:`yield_reports` turns those into
yields.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from PySide6.QtCore import QThreadPool
from superqt.utils import GeneratorWorker, create_worker

#: Workers that may run at once: a render, an engine load, a batch and a download together, with room to spare.
MAX_WORKER_THREADS = 8

T = TypeVar("T")
_FINISHED = object()


class TaskFailed(Exception):
    """A ``RuntimeError`` from inside a task, carried out of the worker intact (see the module docstring)."""

    def __init__(self, error: RuntimeError) -> None:
        super().__init__(str(error))
        self.original = error


def _surfacing_runtime_errors(task: Callable[..., Generator]) -> Callable[..., Generator]:
    @functools.wraps(task)
    def wrapped(*args: Any, **kwargs: Any) -> Generator:
        try:
            return (yield from task(*args, **kwargs))
        except RuntimeError as error:
            raise TaskFailed(error) from error

    return wrapped


def yield_reports(call: Callable[[Callable[[Any], None]], T], name: str) -> Generator[Any, None, T]:
    """Run ``call(report)`` and yield every value it passes to ``report``, then return its result.

    A generator cannot yield from inside a callback, so the call runs in a helper thread (``name``) and its
    reports come through a queue. The generator ends only once the call has, so nothing is still writing when
    the task says it finished. Stop such a call through its own cancel check, not ``quit()``.
    """
    reports: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call(reports.put)
        except BaseException as error:  # handed to the generator, which raises it in the worker
            outcome["error"] = error
        finally:
            reports.put(_FINISHED)

    helper = threading.Thread(target=run, name=name, daemon=True)
    helper.start()
    while (item := reports.get()) is not _FINISHED:
        yield item
    helper.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def configure_thread_pool() -> None:
    pool = QThreadPool.globalInstance()
    pool.setMaxThreadCount(max(pool.maxThreadCount(), MAX_WORKER_THREADS))


def start_task(
    task: Callable[..., Generator],
    *args: Any,
    on_error: Callable[[Exception], None],
    on_progress: Callable[[Any], None] | None = None,
    on_done: Callable[[Any], None] | None = None,
    on_finished: Callable[[], None] | None = None,
    **kwargs: Any,
) -> GeneratorWorker:
    """Run the generator function ``task(*args, **kwargs)`` in a worker thread; the callbacks run on the GUI
    thread. ``on_error`` is required: every failure must reach the user. ``on_done`` gets the return value
    (not called after ``quit()``), ``on_finished`` always comes last.
    """
    connect: dict[str, Callable] = {"errored": on_error}
    if on_progress is not None:
        connect["yielded"] = on_progress
    if on_done is not None:
        connect["returned"] = on_done
    if on_finished is not None:
        connect["finished"] = on_finished
    worker = create_worker(
        _surfacing_runtime_errors(task),
        *args,
        _start_thread=False,
        _connect=connect,
        _worker_class=GeneratorWorker,
        **kwargs,
    )
    worker.start()
    return worker
