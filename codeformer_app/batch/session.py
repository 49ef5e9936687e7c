"""A run of jobs that keeps its JSON report current: what the CLI and the GUI batch panel both call."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .journal import Journal
from .plan import Job
from .report import ItemResult, Status, write_report
from .run import ProcessFn, iter_jobs

#: A long run rewrites its report at most this often, so a killed run still leaves one.
REPORT_INTERVAL_S = 10.0


def earlier_results(report: Path | None) -> dict[str, dict]:
    """Finished items of an earlier run's report, by input path (to keep their details when resuming)."""
    if report is None or not report.is_file():
        return {}
    try:
        items = json.loads(report.read_text(encoding="utf-8")).get("items", [])
    except (OSError, ValueError, AttributeError):
        return {}
    finished = {str(Status.OK), str(Status.NO_FACE)}
    return {item["input"]: item for item in items if isinstance(item, dict) and item.get("status") in finished}


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
        previous.get("video"),
    )


def iter_and_report(
    jobs: Sequence[Job],
    process: ProcessFn,
    report: Path | None,
    journal: Journal | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Iterator[ItemResult]:
    """:func:`iter_jobs`, keeping the report (when given) current: rewritten now and then, and once more when
    the run ends in any way (finished, cancelled by closing the iterator, Ctrl-C, or an error)."""
    earlier = earlier_results(report)
    results: list[ItemResult] = []
    last_write = time.monotonic()
    try:
        for result in iter_jobs(jobs, process, journal):
            result = _with_earlier_details(result, earlier)
            results.append(result)
            if report is not None and time.monotonic() - last_write > REPORT_INTERVAL_S:
                write_report(report, results, settings)
                last_write = time.monotonic()
            yield result
    finally:
        if report is not None:
            write_report(report, results, settings)
