"""Running planned jobs with a progress bar (ETA), errors on stderr and an optional JSON report."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ..batch import ItemResult, Job, Status, run_jobs, write_report
from ..batch.run import ProcessFn
from .common import EXIT_FAILED_ITEMS, EXIT_OK

#: A long batch rewrites its report at most this often, so a killed run still leaves one.
REPORT_INTERVAL_S = 10.0


def earlier_results(report: Path | None) -> dict[str, dict]:
    """Finished items of an earlier run's report, by input path (to keep their details when resuming)."""
    if report is None or not report.is_file():
        return {}
    try:
        items = json.loads(report.read_text(encoding="utf-8")).get("items", [])
    except (OSError, ValueError, AttributeError):
        return {}
    return {item["input"]: item for item in items if isinstance(item, dict) and item.get("status") == "ok"}


def run_with_progress(
    jobs: Sequence[Job], process: ProcessFn, report: Path | None, skip_existing: bool, unit: str = "photo"
) -> int:
    """Exit code 0 when nothing failed, 1 when some files failed (the others are still done)."""
    earlier = earlier_results(report)
    results: list[ItemResult] = []
    last_write = time.monotonic()
    bar = tqdm(total=len(jobs), unit=unit, disable=None, file=sys.stderr, dynamic_ncols=True)

    def on_progress(done: int, total: int, result: ItemResult) -> None:
        nonlocal last_write
        previous = earlier.get(result.input)
        if result.status is Status.SKIPPED and previous is not None:
            result = ItemResult(
                previous["input"],
                previous["output"],
                Status.SKIPPED,
                result.error,
                0.0,
                previous.get("faces", []),
                previous.get("notes", []),
            )
        results.append(result)
        if result.status is Status.FAILED:
            bar.write(f"error: {result.error}", file=sys.stderr)
        bar.set_postfix_str(Path(result.input).name, refresh=False)
        bar.update(1)
        if report is not None and time.monotonic() - last_write > REPORT_INTERVAL_S:
            write_report(report, results)
            last_write = time.monotonic()

    try:
        run_jobs(jobs, process, on_progress, skip_existing=skip_existing)
    finally:
        bar.close()
        if report is not None:
            write_report(report, results)
    failed = sum(r.status is Status.FAILED for r in results)
    done = sum(r.status is Status.OK for r in results)
    skipped = sum(r.status is Status.SKIPPED for r in results)
    print(f"{done} restored, {skipped} already done, {failed} failed", file=sys.stderr)
    return EXIT_FAILED_ITEMS if failed else EXIT_OK
