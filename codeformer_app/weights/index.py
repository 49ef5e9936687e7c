"""``installed.json``: what was installed in a weights folder, from which source, and with which hash.

The index is what ``verify`` checks against and what tells an official file from a custom one. It is
rewritten atomically, so a crash leaves either the old or the new record, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import WeightsError
from .files import write_atomically
from .paths import index_path

#: Bumped when the index's shape changes incompatibly.
INDEX_FORMAT = 1


@dataclass(frozen=True)
class InstalledRecord:
    """One installed, converted weights file."""

    name: str
    file: str
    sha256: str
    bytes: int
    source_file: str
    source_sha256: str
    official: bool
    installed_at: str

    @staticmethod
    def now() -> str:
        """Timestamp format used in the index (UTC, seconds)."""
        return datetime.now(UTC).isoformat(timespec="seconds")


def load_index(folder: Path) -> dict[str, InstalledRecord]:
    """Records by registry name; an absent index means nothing is recorded."""
    path = index_path(folder)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        records = {name: InstalledRecord(**fields) for name, fields in data["installed"].items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WeightsError(
            path,
            f"the record of installed weights is unreadable ({error}); delete it and import the weights again",
        ) from None
    return records


def save_index(folder: Path, records: dict[str, InstalledRecord]) -> None:
    """Write all records, replacing the index atomically."""
    data = {"format": INDEX_FORMAT, "installed": {name: asdict(rec) for name, rec in sorted(records.items())}}
    text = json.dumps(data, indent=2) + "\n"
    path = index_path(folder)
    try:
        write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise WeightsError(path, f"cannot write the record of installed weights ({error})") from None


def put_record(folder: Path, record: InstalledRecord) -> None:
    """Add or replace the record of one entry."""
    records = load_index(folder)
    records[record.name] = record
    save_index(folder, records)
