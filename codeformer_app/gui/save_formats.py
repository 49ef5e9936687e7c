"""Which format a saved file gets, from its name or the Save dialog's filter, and with which quality."""

from __future__ import annotations

from pathlib import Path

from ..imaging import FORMAT_SUFFIXES, format_name
from .settings import AppSettings

#: Formats whose quality setting applies.
LOSSY_FORMATS = ("jpg", "webp")
SAVE_FILTERS = {
    "png": "PNG image (*.png)",
    "jpg": "JPEG image (*.jpg *.jpeg)",
    "webp": "WebP image (*.webp)",
    "tif": "TIFF image (*.tif *.tiff)",
}


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
