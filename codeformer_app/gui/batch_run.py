"""One batch run as the panel's worker runs it, and the small pure helpers the panel shows it with.

The work itself is the core's :func:`~codeformer_app.batch.iter_and_report` (the same run the command line
does, with the same report in the output folder); :class:`BatchRun` only plans it off the GUI thread, feeds
it the networks under the host's lock and yields what happens: the plan, each file's start, its faces'
progress (a callback inside ``restore_file``, turned into yields by ``workers.yield_reports``) and its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..batch import (
    REPORT_NAME,
    ItemResult,
    Job,
    Journal,
    Status,
    iter_and_report,
    plan_batch,
    read_finished,
    summary_line,
)
from ..errors import CodeFormerAppError, OperationCancelled
from ..pipeline.restore_file import RestoreOutcome, RestoreSettings, restore_file
from .engine_host import EngineHost
from .workers import yield_reports

#: Appended to the input folder's name to propose an output folder next to it.
OUTPUT_SUFFIX = "-restored"
#: How often a file waiting for the networks (held by a render in the main window) checks for Cancel.
LOCK_POLL_S = 0.1
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600


# --- what the worker yields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """The run's size, known once the input tree has been scanned (in the worker: a big tree takes a while)."""

    total: int
    already_done: int
    """Files whose output exists, which a resuming run will skip."""


@dataclass(frozen=True)
class BatchRequest:
    """Everything a run needs, fixed when Start is pressed."""

    in_dir: Path
    out_dir: Path
    settings: RestoreSettings
    skip_existing: bool

    @property
    def report(self) -> Path:
        return self.out_dir / REPORT_NAME


@dataclass(frozen=True)
class FileStarted:
    source: str


@dataclass(frozen=True)
class FaceProgress:
    done: int
    total: int


BatchEvent = Planned | FileStarted | FaceProgress | ItemResult


class BatchRun:
    """The worker side of one run: plain Python, touched by the GUI thread only through ``cancel``."""

    def __init__(self, request: BatchRequest, host: EngineHost) -> None:
        self.request = request
        self.cancel = threading.Event()
        self._host = host

    def task(self) -> Generator[BatchEvent, None, None]:
        """Plan, then yield each file's start, its face progress and its :class:`ItemResult`.

        Cancelling sets :attr:`cancel`: the file in progress stops before its next face (nothing is written),
        and the loop ends after the current result. The run is closed before the task ends, so the report is
        written by then. (``worker.quit()`` is not used: it would stop without closing the run.)
        """
        request = self.request
        finished = read_finished(request.out_dir, request.report) if request.skip_existing else {}
        jobs = plan_batch(request.in_dir, request.out_dir, request.settings.output_format, finished)
        request.out_dir.mkdir(parents=True, exist_ok=True)
        yield Planned(len(jobs), sum(job.done for job in jobs))
        yield from yield_reports(lambda report: self._run(jobs, report), "codeformer-batch")

    def _run(self, jobs: list[Job], report: Callable[[BatchEvent], None]) -> None:
        request = self.request
        run = iter_and_report(
            jobs, lambda source, target: self.process(source, target, report), request.report, Journal(request.out_dir)
        )
        try:
            for result in run:
                report(result)
                if self.cancel.is_set():
                    break
        finally:
            run.close()

    def process(self, source: Path, target: Path, report: Callable[[BatchEvent], None]) -> RestoreOutcome:
        """One file, with the networks held for its whole duration (a render waits for at most one file)."""
        if self.cancel.is_set():
            raise OperationCancelled(f"{source}: cancelled; nothing was written")
        report(FileStarted(str(source)))
        with self._holding_networks(source):
            engine = self._host.engine
            if engine is None:
                raise CodeFormerAppError(f"{source}: the networks were unloaded during the batch")
            return restore_file(
                source,
                target,
                engine,
                self.request.settings,
                on_face=lambda done, total: report(FaceProgress(done, total)),
                cancelled=self.cancel.is_set,
            )

    @contextmanager
    def _holding_networks(self, source: Path) -> Iterator[None]:
        """The host's lock, given up on Cancel while waiting for it (a long render may hold it)."""
        while not self._host.lock.acquire(timeout=LOCK_POLL_S):
            if self.cancel.is_set():
                raise OperationCancelled(f"{source}: cancelled; nothing was written")
        try:
            yield
        finally:
            self._host.lock.release()


# --- small pure helpers (tested directly) --------------------------------------------------------------------


def proposed_output(in_dir: Path) -> Path:
    """``<input>-restored`` next to the input: never inside it, which the core refuses."""
    return in_dir.with_name(in_dir.name + OUTPUT_SUFFIX)


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"3 min 5 s"``, ``"2 h 10 min"``: precise enough for an estimate."""
    whole = max(0, round(seconds))
    if whole < SECONDS_PER_MINUTE:
        return f"{whole} s"
    if whole < SECONDS_PER_HOUR:
        minutes, rest = divmod(whole, SECONDS_PER_MINUTE)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(whole, SECONDS_PER_HOUR)
    return f"{hours} h {rest // SECONDS_PER_MINUTE} min"


def estimate_remaining(results: list[ItemResult], to_process: int) -> float | None:
    """Seconds left: the mean time of the files really processed (skipped ones took none) times the files
    still to process; None before the first one is done."""
    timed = [r.seconds for r in results if r.status is not Status.SKIPPED]
    if not timed:
        return None
    return sum(timed) / len(timed) * max(0, to_process)


def summary_text(results: list[ItemResult]) -> str:
    """What the command line prints at the end, e.g. ``"3 restored, 1 already done, 1 failed"``."""
    return summary_line(results)


def display_name(path: str | Path, root: Path) -> str:
    """The path relative to the input folder (files of different subfolders may share a name)."""
    path = Path(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def failure_reason(result: ItemResult) -> str:
    """The error without the leading ``<input path>: `` the core puts in, since the list already names it."""
    reason = result.error or "unknown reason"
    prefix = f"{result.input}: "
    return reason.removeprefix(prefix) if reason.startswith(prefix) else reason
