"""The model manager's background work: plain generator tasks run on the window's task runner.

All checking and converting is the core's (``codeformer_app.weights``), exactly as the ``weights`` command of
the CLI does it. Progress is what the tasks yield; the download's byte callback becomes yields through
``workers.yield_reports``.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from ..weights import (
    InstalledRecord,
    Registry,
    VerifyResult,
    WeightsEntry,
    import_weights,
    install_official,
    verify_installed,
    weights_status,
)
from ..weights.inventory import intact_official_record
from .workers import yield_reports

Progress = tuple[int, int]
"""``(done_bytes, total_bytes)`` of a download."""


@dataclass(frozen=True)
class DownloadResult:
    """What a download task achieved."""

    record: InstalledRecord
    #: False when the official file was already installed and intact, so nothing was fetched (as in the CLI).
    fetched: bool


def download_task(
    entry: WeightsEntry, folder: Path, registry: Registry, cancel: threading.Event
) -> Generator[Progress, None, DownloadResult]:
    """Download, check and convert the official file, like ``codeformer-app weights download``."""
    existing = intact_official_record(entry, folder)
    if existing is not None:
        return DownloadResult(existing, fetched=False)
    record = yield from yield_reports(
        lambda report: install_official(
            entry,
            folder,
            registry=registry,
            progress=lambda done, total: report((done, total)),
            cancelled=cancel.is_set,
        ),
        "codeformer-weights-transfer",
    )
    return DownloadResult(record, fetched=True)


def import_task(source: Path, folder: Path, registry: Registry) -> Generator[str, None, InstalledRecord]:
    """Check and convert a local file, like ``codeformer-app weights import``."""
    yield f"Checking and converting {source.name}…"
    return import_weights(source, folder, registry=registry)


def verify_task(folder: Path, registry: Registry) -> Generator[tuple[int, int, VerifyResult], None, list[VerifyResult]]:
    """Check installed files one at a time, so results appear as they come and a quit stops between files."""
    statuses = weights_status(folder, registry)
    names = [status.entry.name for status in statuses if status.installed or status.record is not None]
    results = []
    for number, name in enumerate(names, start=1):
        results.extend(verify_installed(folder, registry, name))
        yield number, len(names), results[-1]
    return results
