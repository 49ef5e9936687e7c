"""The networks the window uses, loaded in the background and shared by every task under one lock."""

from __future__ import annotations

import dataclasses
import gc
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ..pipeline.engine_spec import EngineSpec  # plain values: imports neither PyTorch nor Qt
from .task_runner import TaskRunner

if TYPE_CHECKING:
    from pathlib import Path

    from ..networks.codeformer import CodeFormer
    from ..pipeline.restore_file import Engine
    from .settings import AppSettings

#: The load's name on the task runner (a newer load makes an older one's result be dropped).
ENGINE_TASK = "engine"


def _load_task(spec: EngineSpec) -> Generator[str, None, Engine]:
    yield "Loading PyTorch…"
    from ..pipeline.engine_setup import load_engine  # the heavy import happens here, off the GUI thread

    yield "Loading the networks…"
    # The identity network is loaded apart, on its own thread (``identity_thread``), never by the load task.
    engine = load_engine(dataclasses.replace(spec, identity=False))
    if not spec.identity:
        return engine
    from .identity_thread import with_identity

    yield "Loading the identity network (dlib)…"
    return with_identity(engine)


def engine_choices(settings: AppSettings, weights: Path | None) -> EngineSpec:
    """The networks the settings ask for (compared by value: a new spec means the networks are rebuilt)."""
    return EngineSpec(
        weights=weights,
        device=settings.device,
        detector=settings.detector,
        parsing=settings.parsing,
        upscaler=True,  # when installed: a save or a batch may ask for 2-4x whatever the settings say
        threads=settings.thread_count(),
        identity=True,  # each face's likeness in the face list, and automatic fidelity (skipped with a warning)
    )


class EngineHost(QObject):
    """Holds the current :class:`Engine`. Every task that runs a network takes :attr:`lock` first, so a slider
    render, a drawn-box detection and a batch never use the same network at the same time."""

    status = Signal(str)
    ready = Signal()
    failed = Signal(object)
    """The exception; a ``WeightsMissingError`` means the model manager should be shown."""

    def __init__(self, tasks: TaskRunner | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine: Engine | None = None
        self.inpainter: CodeFormer | None = None
        """The inpainting network (Faces ▸ Repair scratches), loaded on demand from its file."""
        self.spec: EngineSpec | None = None
        """What the newest load was asked to build."""
        self.lock = threading.Lock()
        self._tasks = tasks if tasks is not None else TaskRunner(self)
        """The window's runner (its close drops a load still running), or an own one."""

    @property
    def loading(self) -> bool:
        return self._tasks.running(ENGINE_TASK)

    def load(self, spec: EngineSpec) -> None:
        """Build the networks of ``spec`` in a worker (the GUI thread never imports PyTorch); the newest
        request wins if several overlap."""
        self.spec = spec
        self._tasks.start(
            ENGINE_TASK,
            _load_task,
            spec,
            on_progress=self.status.emit,
            on_done=self.set_engine,
            on_error=self.failed.emit,
        )

    def set_engine(self, engine: Engine) -> None:
        # No lock: tasks take the engine when they start, and waiting here for a batch's file would freeze
        # the window.
        self.engine = engine
        self.inpainter = None  # loaded again on demand, on the new engine's device
        _freeze_long_lived_objects()
        self.ready.emit()


def _freeze_long_lived_objects() -> None:
    """Move everything alive now (PyTorch, Qt, the networks) out of the garbage collector's sight.

    A full collection walks every tracked object while holding the GIL: with PyTorch loaded that took up to
    230 ms here, and whichever thread triggers it stalls the event loop too. Frozen objects are never scanned
    again, so later collections only walk what the photo work creates. (No collection first: that would be one
    such stall itself.)
    """
    gc.freeze()
