"""Parent side of the worker protocol (see :mod:`bench.worker`): start, ask, time out, clean up.

A benchmark that hangs or leaves gigabyte-sized orphans behind is worse than none, so every wait has a timeout,
every failure carries the worker's last stderr lines, and :class:`WorkerPool` kills whatever it started.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

#: Environment variables that size a thread pool; all are set to the benchmark's thread count.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
REPO_ROOT = Path(__file__).resolve().parent.parent
#: stderr lines of a worker kept to explain a failure.
STDERR_TAIL_LINES = 40
#: Seconds a worker gets to exit after "quit" before it is killed.
QUIT_GRACE_SECONDS = 10.0


class WorkerError(RuntimeError):
    """A worker failed, died or did not answer in time."""


@dataclass
class WorkerSpec:
    """How to start one worker: its name in messages, its command-line arguments and extra environment."""

    name: str
    args: Sequence[str]
    env: dict[str, str | None] = field(default_factory=dict)
    """Variables to set; ``None`` removes one inherited from the parent."""


class Worker:
    """One running worker process; requests are answered in order, one at a time."""

    def __init__(self, spec: WorkerSpec, threads: int, timeout: float) -> None:
        self.spec = spec
        self.timeout = timeout
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", *spec.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=_child_env(threads, spec.env),
            cwd=REPO_ROOT,  # so that ``-m bench.worker`` resolves
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        threading.Thread(target=self._read_answers, args=(self.process.stdout,), daemon=True).start()
        threading.Thread(target=self._forward_stderr, args=(self.process.stderr,), daemon=True).start()
        self.ready: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def _read_answers(self, stream: IO[str]) -> None:
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)  # end of stream: the process is exiting

    def _forward_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr_tail.append(line.rstrip("\n"))
            sys.stderr.write(f"[{self.name}] {line}")
            sys.stderr.flush()

    def _failure(self, what: str) -> WorkerError:
        tail = "\n".join(f"    {line}" for line in self._stderr_tail)
        more = f"\n  last stderr lines:\n{tail}" if tail else ""
        return WorkerError(f"worker {self.name!r} (pid {self.process.pid}) {what}{more}")

    def _receive(self) -> dict[str, Any]:
        try:
            line = self._answers.get(timeout=self.timeout)
        except queue.Empty:
            self.kill()
            raise self._failure(f"gave no answer within {self.timeout:.0f} s; killed it") from None
        if line is None:
            try:
                code = self.process.wait(timeout=QUIT_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            raise self._failure(f"exited unexpectedly (exit code {code})")
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            raise self._failure(f"sent a line that is not protocol JSON: {line!r}") from None
        if not message.get("ok"):
            raise self._failure(f"reported an error:\n{message.get('error', message)}")
        return message

    def wait_ready(self) -> dict[str, Any]:
        """Block until the model is loaded; returns the worker's ready message."""
        if self.ready is None:
            self.ready = self._receive()
        return self.ready

    def request(self, **request: Any) -> dict[str, Any]:
        """Send one request (see :mod:`bench.worker`) and wait for its answer."""
        self.wait_ready()
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._failure("is gone (broken pipe)") from None
        return self._receive()

    def stop(self) -> None:
        """Ask politely, then kill; safe to call more than once."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=QUIT_GRACE_SECONDS)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _child_env(threads: int, extra: dict[str, str | None]) -> dict[str, str]:
    """The parent's environment with the thread count pinned for every thread pool torch may use."""
    env = dict(os.environ)
    for name in THREAD_ENV_VARS:
        env[name] = str(threads)
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class WorkerPool:
    """Workers started together (so that models load in parallel) and always stopped together."""

    def __init__(self, threads: int, timeout: float) -> None:
        self.threads = threads
        self.timeout = timeout
        self.workers: dict[str, Worker] = {}

    def start(self, specs: Sequence[WorkerSpec]) -> dict[str, Worker]:
        for spec in specs:
            self.workers[spec.name] = Worker(spec, self.threads, self.timeout)
        for worker in self.workers.values():
            worker.wait_ready()
        return self.workers

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()

    def kill(self) -> None:
        for worker in self.workers.values():
            worker.kill()


@contextmanager
def worker_pool(specs: Sequence[WorkerSpec], threads: int, timeout: float) -> Iterator[dict[str, Worker]]:
    """Start ``specs`` and yield the workers by name; all of them are gone on the way out.

    After an error or an interrupt they are killed at once: a worker in the middle of a pass would only read
    "quit" once the pass is over.
    """
    pool = WorkerPool(threads, timeout)
    try:
        yield pool.start(specs)
    except BaseException:
        pool.kill()
        raise
    pool.stop()
