"""What the model manager says after each step, as pure functions of what the core reported.

Kept apart from the dialog so its wording lives in one place (close to the CLI's ``weights`` messages) and
can be read and checked without building a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..weights import InstalledRecord, VerifyResult, WeightsEntry

BYTES_PER_MB = 1_000_000
MISSING_INTRO = (
    "CodeFormer weights are needed to restore faces. Download them below (their license is shown first) "
    "or import a file you already have."
)


@dataclass(frozen=True)
class DownloadView:
    """How far a download is: the progress bar's fraction and text, and the table's status cell."""

    fraction: float
    bar_format: str
    status: str


def megabytes(size: int | None) -> str:
    """``376.6 MB``; "size unknown" for files whose size nobody has published."""
    return "size unknown" if size is None else f"{size / BYTES_PER_MB:.1f} MB"


def starting_text(entry: WeightsEntry) -> str:
    """When a download starts: which file, how large, from where."""
    return f"Downloading {entry.file_name} ({megabytes(entry.size)}) from {entry.url()}"


def download_view(entry: WeightsEntry, done: int, total: int) -> DownloadView:
    """``done`` of ``total`` bytes (total 0: unknown); once all arrived, the file is being checked and converted."""
    fraction = done / total if total else 0.0
    status = "checking and converting" if total and done >= total else f"downloading {fraction:.0%}"
    return DownloadView(fraction, f"{entry.file_name}: {megabytes(done)} of {megabytes(total)} (%p%)", status)


def downloaded_text(entry: WeightsEntry, path: Path, fetched: bool) -> str:
    """After a download: installed now, or the intact official file was already there (nothing fetched)."""
    if fetched:
        return f"Installed {entry.name} (official, SHA-256 checked): {path}"
    return f"{entry.name}: the official file is already installed: {path}"


def imported_text(source: Path, record: InstalledRecord, entry: WeightsEntry) -> str:
    """After an import: what the file was taken for, and the license note of weights that need acceptance."""
    kind = "official" if record.official else "custom, not the official file"
    text = f"Imported {source.name} as {record.name} ({kind}). The original file was not changed."
    if entry.license.requires_acceptance:
        terms = entry.license
        text += f" Note: the {entry.name} weights are under the {terms.name} ({terms.summary}): {terms.url}"
    return text


def verified_text(results: list[VerifyResult], folder: Path) -> str:
    """After verifying: how many files passed, and why each failed one did not."""
    if not results:
        return f"No weights are installed in {folder}."
    failed = [result for result in results if not result.ok]
    summary = f"Checked {len(results)} file(s): {len(results) - len(failed)} OK, {len(failed)} failed."
    return " ".join([summary, *(f"{result.name}: {result.message}." for result in failed)])
