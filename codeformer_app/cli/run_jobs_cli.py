"""Running planned jobs in a terminal: networks loaded only when there is work, a progress bar that moves
per face, each failure on stderr, a one-line summary, and Ctrl-C that stops cleanly."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..batch import ItemResult, Job, Journal, Status, iter_and_report, summary_line
from ..batch.run import ProcessFn
from ..errors import CodeFormerAppError
from .common import EXIT_FAILED_ITEMS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, print_error

#: Seconds of file-system timestamp coarseness allowed when telling a file this run wrote (FAT keeps 2 s steps).
MTIME_SLACK_S = 2.0
#: Called with (faces done, faces in the photo) while a photo is restored.
FaceProgress = Callable[[int, int], None]
#: Builds the per-file work (loading the networks); given the per-face progress callback to report to.
LoadProcess = Callable[[FaceProgress], ProcessFn]


def say(text: str) -> None:
    """A status line on stderr (what is happening while nothing else moves)."""
    print(text, file=sys.stderr, flush=True)


def run_with_progress(
    jobs: Sequence[Job],
    load_process: LoadProcess,
    report: Path | None,
    journal: Journal | None = None,
    settings: Callable[[], Mapping[str, Any]] | None = None,
    resumable: bool = False,
) -> int:
    """Exit code 0 when nothing failed, 1 when some files failed (the others are still done), 130 on Ctrl-C.

    ``load_process`` runs only if some job is not already done, so re-running a finished batch loads nothing;
    if it fails (weights that do not load, a device that is absent) the run stops with exit code 2.
    """
    results: list[ItemResult] = []
    bar: tqdm | None = None
    started = time.time()
    try:
        pending = [job for job in jobs if not job.done]
        if pending:
            for job in pending:
                if job.planned is not None:
                    say(f"note: {job.planned} already exists and is kept; writing {job.target.name} instead")
        bar = tqdm(total=len(jobs), unit="photo", disable=None, file=sys.stderr, dynamic_ncols=True)
        progress = _FaceProgressBar(bar)
        try:
            process = load_process(progress) if pending else _never
        except (CodeFormerAppError, ValueError) as error:
            bar.close()
            print_error(" ".join(str(error).split()))
            return EXIT_USAGE
        run = iter_and_report(jobs, process, report, journal, settings() if settings and report else None)
        try:
            for result in run:
                results.append(result)
                progress.file_done(result)
        finally:
            run.close()
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        finished = sum(r.status in (Status.OK, Status.NO_FACE) for r in results)
        finished += _placed_before_the_stop(jobs, len(results), started)
        again = ", run the same command again to resume" if resumable else ""
        say(f"stopped; {finished} finished file{'s' if finished != 1 else ''} kept{again}")
        return EXIT_INTERRUPTED
    bar.close()
    say(summary_line(results))
    return EXIT_FAILED_ITEMS if any(r.status is Status.FAILED for r in results) else EXIT_OK


def _placed_before_the_stop(jobs: Sequence[Job], reported: int, started: float) -> int:
    """1 when Ctrl-C came after the file being written was already in place (renamed into its name, its journal
    line written before) but before its result was counted: it is finished and kept, so it counts."""
    if reported >= len(jobs) or jobs[reported].done:
        return 0
    try:
        written = jobs[reported].target.stat().st_mtime
    except OSError:
        return 0
    return int(written >= started - MTIME_SLACK_S)


def _never(source: Path, target: Path):
    raise AssertionError(f"{source}: every job was already done, nothing should run")


class _FaceProgressBar:
    """Moves the photo bar by a fraction per face, so a photo of many faces does not sit still."""

    def __init__(self, bar: tqdm) -> None:
        self._bar = bar
        self._files_done = 0

    def __call__(self, faces_done: int, faces_total: int) -> None:
        if faces_total:
            self._bar.n = self._files_done + faces_done / faces_total
            self._bar.set_postfix_str(f"face {faces_done}/{faces_total}", refresh=False)
            self._bar.refresh()

    def file_done(self, result: ItemResult) -> None:
        if result.status is Status.FAILED:
            self._bar.write(f"error: {result.error}", file=sys.stderr)
        self._files_done += 1
        self._bar.n = self._files_done
        self._bar.set_postfix_str(Path(result.input).name, refresh=False)
        self._bar.refresh()


__all__ = ["LoadProcess", "print_error", "run_with_progress", "say"]
