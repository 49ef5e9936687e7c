"""Which format a saved file gets, from its name or the Save dialog's filter, and with which quality."""

from __future__ import annotations

from pathlib import Path

from ..imaging import FORMAT_SUFFIXES, format_name
from ..output_names import candidate_names
from .settings import AppSettings

#: Formats whose quality setting applies.
LOSSY_FORMATS = ("jpg", "webp")
SAVE_FILTERS = {
    "png": "PNG image (*.png)",
    "jpg": "JPEG image (*.jpg *.jpeg)",
    "webp": "WebP image (*.webp)",
    "tif": "TIFF image (*.tif *.tiff)",
}


def suggested_output(source: Path | None, name: str, folder: Path | None, suffix: str | None) -> Path:
    """``<stem>-restored<ext>`` next to the source (or in ``folder``), or ``-restored-2`` ... when that file is
    already there: never the original's own name, never a file that exists (a user's earlier save included)."""
    stem = Path(name).stem
    ext = suffix or (source.suffix if source is not None else ".png")
    base = folder or (source.parent if source is not None else Path.home())
    names = candidate_names(base / f"{stem}{ext}")
    next(names)  # the original's own name is never proposed
    return next(path for path in names if not path.exists())


def suggested_save(source: Path | None, name: str, settings: AppSettings) -> tuple[Path, str]:
    """The name the Save dialog proposes and its filter: ``<stem>-restored`` in the last save folder (or next
    to the source) in the settings' format, else the source's, else PNG (which keeps every pixel)."""
    fmt = settings.output_format or None
    folder = Path(settings.save_folder) if settings.save_folder else None
    suggested = suggested_output(source, name, folder, f".{fmt}" if fmt else None)
    if format_for(suggested) is None:  # e.g. a BMP photo, or a video's frame: PNG, again never an existing file
        suggested = suggested_output(source, name, folder, ".png")
    return suggested, SAVE_FILTERS[format_for(suggested) or "png"]


def refusal(path: Path, source: Path | None) -> str | None:
    """Why the photo may not be saved as ``path`` (the original itself, or a format we do not write)."""
    if source is not None and path.exists() and path.resolve() == source.resolve():
        return f"{path}: this is the original photo, which is never overwritten."
    if format_for(path) is None:
        return f"{path}: choose a name ending in .png, .jpg, .webp or .tif"
    return None


def with_format_suffix(path: Path, selected_filter: str) -> Path:
    """A name typed without a usable ending gets the one of the format chosen in the dialog."""
    if format_for(path) is not None:
        return path
    for fmt, name in SAVE_FILTERS.items():
        if name == selected_filter:
            return path.with_name(f"{path.name}.{fmt}")
    return path


def write_options(fmt: str, source_format: str, settings: AppSettings) -> tuple[str | None, int | None]:
    """(format, quality) for ``write_photo``. Saving in the photo's own format with no format forced in the
    settings passes None for both, so the source's encoding (e.g. its JPEG tables) is reused."""
    if format_name(fmt) == source_format and not settings.output_format:
        return None, None
    return fmt, settings.quality if fmt in LOSSY_FORMATS else None


def format_for(path: Path) -> str | None:
    """``png|jpg|webp|tif`` from a file name, or None if the ending is not one we write."""
    suffix = path.suffix.lower()
    for fmt in SAVE_FILTERS:
        if suffix in FORMAT_SUFFIXES[format_name(fmt)]:
            return fmt
    return None
