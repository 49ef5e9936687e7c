"""The window's task runner: the newest request wins, writers finish, nothing arrives after close; and the
editing session it feeds is plain Qt-free data with stable face ids."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Generator
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QObject
from superqt.utils import WorkerBase

from codeformer_app.gui.session import EditSession, RenderedFace
from codeformer_app.gui.task_runner import TaskKind, TaskRunner
from codeformer_app.gui.workers import yield_reports

WAIT_MS = 20_000
#: Long enough for a stopped timer to have fired had it still been running.
DEBOUNCE_MS = 20


def waiting(release: threading.Event, value: object, progress: object = None) -> Generator[object, None, object]:
    """Yields ``progress`` (if any), then blocks until ``release`` and returns ``value``."""
    if progress is not None:
        yield progress
    release.wait(WAIT_MS / 1000)
    yield None
    return value


@pytest.fixture
def runner(qtbot) -> TaskRunner:
    owner = QObject()
    tasks = TaskRunner(owner)
    yield tasks
    tasks.close()
    WorkerBase.await_workers(WAIT_MS)


def test_a_newer_task_of_the_same_name_wins(qtbot, runner: TaskRunner) -> None:
    release, done = threading.Event(), []
    runner.start("render", waiting, release, "old", on_done=done.append, on_error=pytest.fail)
    runner.start("render", waiting, release, "new", on_done=done.append, on_error=pytest.fail)
    release.set()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    assert done == ["new"]


def test_writers_are_never_quit_and_closing_waits_for_them(qtbot, runner: TaskRunner) -> None:
    release, done, idle = threading.Event(), [], []
    runner.start("save", waiting, release, "file", on_done=done.append, on_error=pytest.fail, kind=TaskKind.WRITER)
    runner.cancel("save")
    runner.when_writers_done(lambda: idle.append(list(done)))
    assert runner.writing and idle == []
    release.set()
    qtbot.waitUntil(lambda: bool(idle), timeout=WAIT_MS)
    assert idle == [["file"]], "the writer's result came first, then the callback"


def test_nothing_arrives_after_close(qtbot, runner: TaskRunner) -> None:
    release, seen, ended = threading.Event(), [], []
    runner.task_ended.connect(ended.append)
    runner.start("render", waiting, release, "late", on_done=seen.append, on_error=seen.append)
    runner.debounce("slider", DEBOUNCE_MS, lambda: seen.append("debounced"))
    runner.close()
    assert not runner.pending("slider")
    release.set()
    WorkerBase.await_workers(WAIT_MS)
    qtbot.wait(DEBOUNCE_MS * 5)
    assert seen == [] and ended == []
    runner.start("render", waiting, release, "after", on_done=seen.append, on_error=seen.append)
    assert not runner.running(), "a closed runner starts nothing"


def test_debounce_runs_once_for_the_last_request(qtbot, runner: TaskRunner) -> None:
    calls: list[int] = []
    for number in range(3):
        runner.debounce("render", DEBOUNCE_MS, lambda n=number: calls.append(n))
    qtbot.waitUntil(lambda: bool(calls), timeout=WAIT_MS)
    qtbot.wait(DEBOUNCE_MS * 3)
    assert calls == [2]


def test_progress_from_callbacks_arrives_as_yields() -> None:
    def call(report) -> str:
        for done in range(3):
            report((done, 3))
        return "finished"

    reports = yield_reports(call, "test-helper")
    assert [next(reports) for _ in range(3)] == [(0, 3), (1, 3), (2, 3)]
    with pytest.raises(StopIteration) as end:
        next(reports)
    assert end.value.value == "finished"

    def failing(report) -> None:
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        list(yield_reports(failing, "test-helper"))


# --- the editing session -------------------------------------------------------------------------------------


class FakeEncodings:
    def __init__(self, count: int) -> None:
        self.crops = [np.zeros((2, 2, 3), np.uint8)] * count

    def add(self, crop: np.ndarray) -> int:
        self.crops.append(crop)
        return len(self.crops) - 1


def fake_analysed(count: int) -> SimpleNamespace:
    faces = [SimpleNamespace(detected=SimpleNamespace(box=(i, i, i + 10, i + 10))) for i in range(count)]
    return SimpleNamespace(faces=faces, encodings=FakeEncodings(count))


def test_session_faces_have_stable_ids_and_renders_are_reused() -> None:
    session = EditSession(fake_analysed(2), None, "pasted.png")
    assert list(session.faces) == [0, 1]
    assert session.to_render(0.5) == {0: 0.5, 1: 0.5}
    crop = np.ones((2, 2, 3), np.uint8)
    session.apply_render({0: RenderedFace(0.5, crop), 1: RenderedFace(0.5, crop)}, crop)
    session.set_fidelity(1, 0.9)
    session.set_included(0, False)
    assert session.to_render(0.5) == {1: 0.9}
    assert session.reusable(0.5) == {}
    session.set_included(0, True)
    assert list(session.reusable(0.5)) == [0]

    face_id = session.add_face(SimpleNamespace(crop=crop, detected=SimpleNamespace(box=(0, 0, 5, 5))))
    assert face_id == 2 and session.face_count == 3
    assert session.faces[1].fidelity == 0.9, "an added face changes nothing about the others"
    assert session.to_render(0.5) == {1: 0.9, 2: 0.5}


def test_the_session_imports_no_qt() -> None:
    script = "import sys, codeformer_app.gui.session\nprint(sorted(m for m in sys.modules if 'PySide6' in m))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
