"""Running planned jobs with a progress bar (ETA), errors on stderr and an optional JSON report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from ..batch import ItemResult, Job, Status
from ..batch.run import ProcessFn
from ..batch.session import run_and_report
from .common import EXIT_FAILED_ITEMS, EXIT_OK


def run_with_progress(
    jobs: Sequence[Job], process: ProcessFn, report: Path | None, skip_existing: bool, unit: str = "photo"
) -> int:
    """Exit code 0 when nothing failed, 1 when some files failed (the others are still done)."""
    bar = tqdm(total=len(jobs), unit=unit, disable=None, file=sys.stderr, dynamic_ncols=True)

    def on_result(done: int, total: int, result: ItemResult) -> None:
        if result.status is Status.FAILED:
            bar.write(f"error: {result.error}", file=sys.stderr)
        bar.set_postfix_str(Path(result.input).name, refresh=False)
        bar.update(1)

    try:
        results = run_and_report(jobs, process, report, skip_existing, on_result)
    finally:
        bar.close()
    failed = sum(r.status is Status.FAILED for r in results)
    done = sum(r.status is Status.OK for r in results)
    skipped = sum(r.status is Status.SKIPPED for r in results)
    print(f"{done} restored, {skipped} already done, {failed} failed", file=sys.stderr)
    return EXIT_FAILED_ITEMS if failed else EXIT_OK
