"""A run of jobs that keeps its JSON report current: what the CLI and the GUI batch panel both call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .plan import Job
from .report import ItemResult, Status, write_report
from .run import ProcessFn, iter_jobs

#: A long run rewrites its report at most this often, so a killed run still leaves one.
REPORT_INTERVAL_S = 10.0
#: Called with (files handled, files planned, what happened to the latest one).
ResultFn = Callable[[int, int, ItemResult], None]


def earlier_results(report: Path | None) -> dict[str, dict]:
    """Finished items of an earlier run's report, by input path (to keep their details when resuming)."""
    if report is None or not report.is_file():
        return {}
    try:
        items = json.loads(report.read_text(encoding="utf-8")).get("items", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {item["input"]: item for item in items if isinstance(item, dict) and item.get("status") == "ok"}


def _with_earlier_details(result: ItemResult, earlier: dict[str, dict]) -> ItemResult:
    """A skipped file keeps the faces and notes its earlier run recorded."""
    previous = earlier.get(result.input)
    if result.status is not Status.SKIPPED or previous is None:
        return result
    return ItemResult(
        previous["input"],
        previous["output"],
        Status.SKIPPED,
        result.error,
        0.0,
        previous.get("faces", []),
        previous.get("notes", []),
    )


def iter_and_report(
    jobs: Sequence[Job], process: ProcessFn, report: Path | None, skip_existing: bool
) -> Iterator[ItemResult]:
    """:func:`iter_jobs`, keeping the report (when given) current: rewritten now and then, and once more when
    the run ends in any way (finished, cancelled by closing the iterator, or an error)."""
    earlier = earlier_results(report)
    results: list[ItemResult] = []
    last_write = time.monotonic()
    try:
        for result in iter_jobs(jobs, process, skip_existing):
            result = _with_earlier_details(result, earlier)
            results.append(result)
            if report is not None and time.monotonic() - last_write > REPORT_INTERVAL_S:
                write_report(report, results)
                last_write = time.monotonic()
            yield result
    finally:
        if report is not None:
            write_report(report, results)


def run_and_report(
    jobs: Sequence[Job],
    process: ProcessFn,
    report: Path | None,
    skip_existing: bool,
    on_result: ResultFn | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[ItemResult]:
    """:func:`iter_and_report` run to the end (or until ``cancelled()``), calling ``on_result`` for each file."""
    results: list[ItemResult] = []
    run = iter_and_report(jobs, process, report, skip_existing)
    try:
        for number, result in enumerate(run, start=1):
            results.append(result)
            if on_result is not None:
                on_result(number, len(jobs), result)
            if cancelled is not None and cancelled():
                break
    finally:
        run.close()
    return results
