"""Processing jobs one by one: a failure is recorded and the run goes on; finished jobs are skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import CodeFormerAppError, OperationCancelled
from ..pipeline.outcome import RestoreOutcome
from .journal import Journal
from .plan import Job
from .report import ItemResult, Status

ProcessFn = Callable[[Path, Path], RestoreOutcome]
ALREADY_DONE = "output already exists (finished in an earlier run); delete it to redo"


def iter_jobs(jobs: Sequence[Job], process: ProcessFn, journal: Journal | None = None) -> Iterator[ItemResult]:
    """Run ``process(source, target)`` for each job, yielding what happened; never raises for a single bad file.

    Jobs the plan marked ``done`` are skipped. ``journal`` (batches) records each output before it is made,
    so a resumed run knows its own files. ``OperationCancelled`` raised by ``process`` (the user stopped the
    run in the middle of a file) ends the run quietly, with that file left undone. Stopping the iteration
    between files is the other way to cancel.
    """
    for job in jobs:
        try:
            yield _run_one(job, process, journal)
        except OperationCancelled:
            return


def _run_one(job: Job, process: ProcessFn, journal: Journal | None) -> ItemResult:
    source, target = str(job.source), str(job.target)
    if job.done:
        return ItemResult(source, target, Status.SKIPPED, ALREADY_DONE)
    started = time.perf_counter()
    renamed = [f"{job.planned.name} already exists; written as {job.target.name}"] if job.planned else []
    try:
        if job.target.resolve() == job.source.resolve():
            raise CodeFormerAppError(f"{job.source}: the output would overwrite the input")
        job.target.parent.mkdir(parents=True, exist_ok=True)
        if journal is not None:
            journal.claim(job)
        outcome = process(job.source, job.target)
    except OperationCancelled:
        raise
    except CodeFormerAppError as error:
        return ItemResult(source, None, Status.FAILED, str(error), time.perf_counter() - started)
    except OSError as error:
        reason = f"{error.filename or job.target}: {error.strerror or error}"
        return ItemResult(source, None, Status.FAILED, reason, time.perf_counter() - started)
    except Exception as error:  # one bad file must never stop a batch; the reason goes into the report
        reason = f"{job.source}: unexpected error ({type(error).__name__}: {error})"
        return ItemResult(source, None, Status.FAILED, reason, time.perf_counter() - started)
    elapsed = time.perf_counter() - started
    status = Status.OK if outcome.found_faces else Status.NO_FACE
    notes = [*renamed, *outcome.notes]
    return ItemResult(source, target, status, None, elapsed, outcome.faces, notes, outcome.video)
