"""What happened to each file, written as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from ..imaging import write_bytes_atomic
from ..pipeline.restore_file import FaceReport

#: The report's file name inside a batch's output folder (CLI and GUI).
REPORT_NAME = "codeformer-report.json"


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ItemResult:
    input: str
    output: str | None
    status: Status
    error: str | None = None
    seconds: float = 0.0
    faces: list[FaceReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the output could not keep exactly (e.g. a CMYK colour profile)."""


def report_dict(results: list[ItemResult]) -> dict:
    return {"items": [{**asdict(r), "status": str(r.status)} for r in results]}


def write_report(path: Path, results: list[ItemResult]) -> None:
    """Atomically, so an interrupted run never leaves a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, (json.dumps(report_dict(results), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
