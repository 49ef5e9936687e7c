"""Processing jobs one by one: a failure is recorded and the run goes on; finished outputs are skipped."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import CodeFormerAppError, OperationCancelled
from ..pipeline.restore_file import RestoreOutcome
from .plan import Job
from .report import ItemResult, Status

ProcessFn = Callable[[Path, Path], RestoreOutcome]
ProgressFn = Callable[[int, int, ItemResult], None]
ALREADY_DONE = "output already exists (finished in an earlier run); delete it to redo"


def iter_jobs(jobs: Sequence[Job], process: ProcessFn, skip_existing: bool = True) -> Iterator[ItemResult]:
    """Run ``process(source, target)`` for each job, yielding what happened; never raises for a single bad file.

    Outputs are written atomically by ``process``, so an existing output is a finished one: a run that was
    killed and started again skips those and does the rest. ``OperationCancelled`` raised by ``process``
    (the user stopped the run in the middle of a file) ends the run quietly, with that file left undone.
    Stopping the iteration between files is the other way to cancel.
    """
    for job in jobs:
        try:
            yield _run_one(job, process, skip_existing)
        except OperationCancelled:
            return


def run_jobs(
    jobs: Sequence[Job],
    process: ProcessFn,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    skip_existing: bool = True,
) -> list[ItemResult]:
    """:func:`iter_jobs` with a progress callback ``(done, total, result)`` and a cancel check between files."""
    results: list[ItemResult] = []
    if cancelled is not None and cancelled():
        return results
    for number, result in enumerate(iter_jobs(jobs, process, skip_existing), start=1):
        results.append(result)
        if progress is not None:
            progress(number, len(jobs), result)
        if cancelled is not None and cancelled():
            break
    return results


def _run_one(job: Job, process: ProcessFn, skip_existing: bool) -> ItemResult:
    source, target = str(job.source), str(job.target)
    if skip_existing and job.target.exists():
        return ItemResult(source, target, Status.SKIPPED, ALREADY_DONE)
    started = time.perf_counter()
    try:
        if job.target.resolve() == job.source.resolve():
            raise CodeFormerAppError(f"{job.source}: the output would overwrite the input")
        job.target.parent.mkdir(parents=True, exist_ok=True)
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
    return ItemResult(source, target, Status.OK, None, elapsed, outcome.faces, outcome.notes)
