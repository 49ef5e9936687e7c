"""The hidden work folder next to a video's output, where finished segments wait to be joined.

``OUTDIR/.<output name>.codeformer-video/`` holds ``job.json`` (what the segments were made from and with) and,
for each finished segment k, ``segment-0000k.nut`` (its restored frames) then ``segment-0000k.json`` (its
record: frames, faces per frame, the tracker's state at its end). Both are written atomically, the record
last, so a segment counts as finished exactly when its record exists. A run whose ``job.json`` differs (other
source, other settings, other weights) starts over; a run that matches skips the finished segments. The
folder is removed once the output is complete. Nothing but our own names is ever deleted from it.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..durable import write_bytes_atomic

#: Ending of the work folder's name (after ``.<output name>``).
WORK_FOLDER_SUFFIX = ".codeformer-video"
MANIFEST_NAME = "job.json"
#: Bump when the segment files' meaning changes, so old work folders are not reused.
WORK_FORMAT_VERSION = 1
_OWN_NAME = re.compile(r"^(job\.json|segment-\d{5}\.(nut|json))$|^\..*\.part$")


@dataclass(frozen=True)
class SegmentRecord:
    """A finished segment: which frames it holds and what the tracker knew at its end."""

    index: int
    first_frame: int
    faces_per_frame: list[int]
    tracker: dict[str, Any]
    tracks_started: int

    @property
    def frames(self) -> int:
        return len(self.faces_per_frame)


def work_folder(target: Path) -> Path:
    return target.parent / f".{target.name}{WORK_FOLDER_SUFFIX}"


class SegmentWork:
    """The work folder of one output file."""

    def __init__(self, target: Path, fingerprint: dict[str, Any]) -> None:
        self.folder = work_folder(target)
        self.fingerprint = {"version": WORK_FORMAT_VERSION, **fingerprint}

    def video_path(self, index: int) -> Path:
        return self.folder / f"segment-{index:05d}.nut"

    def record_path(self, index: int) -> Path:
        return self.folder / f"segment-{index:05d}.json"

    def open(self) -> dict[int, SegmentRecord]:
        """Create or reuse the folder; the finished segments from an earlier run with the same fingerprint."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stray in self.folder.glob(".*.part"):  # temporary files of a run that was killed
            stray.unlink(missing_ok=True)
        if self._read_json(self.folder / MANIFEST_NAME) != self.fingerprint:
            self._clear()
            text = json.dumps(self.fingerprint, indent=2, sort_keys=True) + "\n"
            write_bytes_atomic(self.folder / MANIFEST_NAME, text.encode("utf-8"))
            return {}
        records: dict[int, SegmentRecord] = {}
        index = 0
        while (record := self._read_record(index)) is not None and self.video_path(index).is_file():
            records[index] = record
            index += 1
        return records

    def finish(self, record: SegmentRecord) -> None:
        """Mark a segment finished; its video file must already be in place."""
        text = json.dumps(asdict(record)) + "\n"
        write_bytes_atomic(self.record_path(record.index), text.encode("utf-8"))

    def remove(self) -> None:
        """Delete our files and the folder (a file of anyone else's keeps the folder)."""
        self._clear()
        with contextlib.suppress(OSError):
            self.folder.rmdir()

    def _clear(self) -> None:
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if _OWN_NAME.match(path.name) and path.is_file():
                path.unlink(missing_ok=True)

    def _read_record(self, index: int) -> SegmentRecord | None:
        data = self._read_json(self.record_path(index))
        if not isinstance(data, dict):
            return None
        try:
            record = SegmentRecord(**data)
        except TypeError:
            return None
        return record if record.index == index else None

    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
