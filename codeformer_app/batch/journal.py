"""The batch's own record of which output belongs to which input, so a resumed run trusts only its own files.

Each file's line is appended (and synced) *before* its output is written. Outputs appear only complete (written
to a temporary name, then renamed), so on resume an input whose recorded output exists is finished; a file
that is in the output folder but not recorded was not made by us, and is never touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .plan import Job

#: Inside the output folder; hidden, as it is ours and not a result.
JOURNAL_NAME = ".codeformer-batch.jsonl"


def journal_path(out_dir: Path) -> Path:
    return Path(out_dir) / JOURNAL_NAME


def read_finished(out_dir: Path, report: Path | None = None) -> dict[str, str]:
    """Input -> output as recorded by earlier runs: the journal, and (for runs of older versions, which kept
    no journal) the finished items of the report."""
    found: dict[str, str] = {}
    if report is not None and report.is_file():
        try:
            items = json.loads(report.read_text(encoding="utf-8")).get("items", [])
        except (OSError, ValueError, AttributeError):
            items = []
        for item in items:
            if isinstance(item, dict) and item.get("status") in {"ok", "no_face"} and item.get("output"):
                found[str(item["input"])] = str(item["output"])
    try:
        lines = journal_path(out_dir).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
            found[str(entry["input"])] = str(entry["output"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash
    return found


class Journal:
    """Appends one line per file that is about to be written."""

    def __init__(self, out_dir: Path) -> None:
        self.path = journal_path(out_dir)

    def claim(self, job: Job) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"input": str(job.source), "output": str(job.target)}, ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
