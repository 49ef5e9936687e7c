"""What is installed in a weights folder, and whether each installed file is still intact."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import WeightsError
from .files import sha256_file
from .index import InstalledRecord, load_index
from .originals import original_problem
from .paths import installed_path
from .registry import NetworkKind, Registry, WeightsEntry


@dataclass(frozen=True)
class WeightsStatus:
    """One registry entry as found in a weights folder."""

    entry: WeightsEntry
    path: Path
    installed: bool
    record: InstalledRecord | None

    @property
    def official(self) -> bool | None:
        """True/False from the index; None when nothing is recorded for this entry."""
        return self.record.official if self.record is not None else None

    @property
    def origin(self) -> str:
        """Short word for listings."""
        if not self.installed:
            return "-"
        if self.record is None:
            return "unrecorded"
        return "official" if self.record.official else "custom (not the official file)"

    def to_json(self) -> dict:
        """Registry data plus installation state, for ``weights list --json``."""
        return {
            **self.entry.to_json(),
            "installed": self.installed,
            "path": str(self.path),
            "official": self.official,
            "installed_record": None if self.record is None else asdict(self.record),
        }


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking one installed file."""

    name: str
    path: Path
    ok: bool
    message: str


def weights_status(folder: Path, registry: Registry) -> list[WeightsStatus]:
    """Every entry of ``registry`` with whether (and how) it is installed in ``folder``."""
    records = load_index(folder)
    return [entry_status(entry, folder, records) for entry in registry]


def entry_status(entry: WeightsEntry, folder: Path, records: dict[str, InstalledRecord]) -> WeightsStatus:
    """One entry's state in ``folder``, given the folder's index records."""
    path = installed_path(entry, folder)
    return WeightsStatus(entry, path, path.is_file(), records.get(entry.name))


def verify_installed(
    folder: Path, registry: Registry, name: str | None = None, deep: bool = False
) -> list[VerifyResult]:
    """Check installed files against the index; with ``name``, that entry even if it is not installed.

    The hash proves a file is byte for byte the one that was checked when it was installed. ``deep`` also
    reads every file and builds the CodeFormer network again (this imports PyTorch and takes seconds).
    """
    wanted = registry.find(name) if name else None
    results = []
    for status in weights_status(folder, registry):
        if wanted is not None and status.entry is not wanted:
            continue
        if wanted is None and not status.installed and status.record is None:
            continue
        results.append(_verify_one(status, deep))
    return results


def _verify_one(status: WeightsStatus, deep: bool) -> VerifyResult:
    entry, path, record = status.entry, status.path, status.record

    def result(ok: bool, message: str) -> VerifyResult:
        return VerifyResult(entry.name, path, ok, message)

    if not status.installed:
        return result(False, "not installed" if record is None else "recorded as installed but the file is gone")
    if entry.keep_original:
        problem = original_problem(entry, path)
        return result(problem is None, "official" if problem is None else f"not the official file ({problem})")
    if record is None:
        return result(False, "not recorded in the index, so its hash cannot be checked; import it again")
    try:
        actual = sha256_file(path)
    except OSError as error:
        return result(False, f"cannot read the file ({error.strerror or error})")
    if actual != record.sha256:
        return result(
            False,
            f"changed since it was installed (SHA-256 expected {record.sha256}, got {actual}); "
            "download or import it again",
        )
    if deep:
        problem = _structure_problem(entry, path)
        if problem is not None:
            return result(False, problem)
    return result(True, "official" if record.official else "custom (not the official file)")


def _structure_problem(entry: WeightsEntry, path: Path) -> str | None:
    """Why the file cannot be loaded (CodeFormer: why the network cannot be built from it), or None."""
    from ..networks.codeformer.load import build_codeformer
    from ..weights.safe_load import read_state_dict

    try:
        state_dict, metadata = read_state_dict(path)
        if entry.kind is NetworkKind.CODEFORMER:
            build_codeformer(state_dict, metadata, path)
    except WeightsError as error:
        return error.reason
    return None


def intact_official_record(entry: WeightsEntry, folder: Path) -> InstalledRecord | None:
    """The record of ``entry`` when its official file is installed and unchanged (a download would be wasted)."""
    status = entry_status(entry, folder, load_index(folder))
    if not status.installed or status.record is None or not status.record.official:
        return None
    return status.record if sha256_file(status.path) == status.record.sha256 else None


def weights_sha256(path: Path, folder: Path | None = None) -> str:
    """SHA-256 of a weights file: from the index when it is the installed file (no 400 MB re-read), else
    computed."""
    from .paths import weights_dir

    path = Path(path)
    base = weights_dir(folder)
    try:
        records = load_index(base)
    except WeightsError:
        records = {}
    for record in records.values():
        candidate = base / record.file
        if candidate.is_file() and candidate.resolve() == path.resolve():
            return record.sha256
    return sha256_file(path)
