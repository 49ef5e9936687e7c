"""What happened to each file, written as JSON: the items, a summary, and the settings they were made with."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..durable import write_bytes_atomic
from ..pipeline.outcome import FaceReport

#: The report's file name inside a batch's output folder (CLI and GUI).
REPORT_NAME = "codeformer-report.json"


class Status(StrEnum):
    OK = "ok"
    NO_FACE = "no_face"
    """Read and written unchanged: no face was found (or none passed the filters)."""
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
    """What the output could not keep exactly (e.g. a CMYK colour profile), and a name that was taken."""
    video: dict | None = None
    """For a video: frames, frame rate, duration, faces per frame, tracks, sound (``video.VideoOutcome``)."""


def summary(results: Sequence[ItemResult]) -> dict[str, Any]:
    """Counts by status (every status present, zeros included) and the seconds spent."""
    counts = Counter(str(r.status) for r in results)
    return {
        "files": len(results),
        **{str(status): counts.get(str(status), 0) for status in Status},
        "faces": sum(len(r.faces) for r in results if r.status is Status.OK),
        "seconds": round(sum(r.seconds for r in results), 3),
    }


def summary_line(results: Sequence[ItemResult]) -> str:
    """``3 restored, 1 without faces, 2 already done, 0 failed``."""
    counts = Counter(r.status for r in results)
    parts = [f"{counts[Status.OK]} restored"]
    if counts[Status.NO_FACE]:
        parts.append(f"{counts[Status.NO_FACE]} without faces")
    if counts[Status.SKIPPED]:
        parts.append(f"{counts[Status.SKIPPED]} already done")
    parts.append(f"{counts[Status.FAILED]} failed")
    return ", ".join(parts)


def report_dict(results: Sequence[ItemResult], settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "summary": summary(results),
        "settings": dict(settings or {}),
        "items": [{**asdict(r), "status": str(r.status)} for r in results],
    }


def write_report(path: Path, results: Sequence[ItemResult], settings: Mapping[str, Any] | None = None) -> None:
    """Atomically, so an interrupted run never leaves a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report_dict(results, settings), indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))
