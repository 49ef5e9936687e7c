"""File ▸ Save, Save As and Export restored faces for the main window: where to, then the editor writes.

Plain functions over the window (as ``window_menus`` builds its menus), so the window itself stays small.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from . import save_formats
from .messages import show_error
from .settings import update_settings

if TYPE_CHECKING:
    from ..imaging import WriteResult
    from .main_window import MainWindow


def save(window: MainWindow) -> None:
    """Save where this photo was saved before; the first time, ask where (never over the original)."""
    if window.document is None:
        return
    if window.document.saved_to is None:
        choose_save_path(window)
    else:
        save_to(window, window.document.saved_to)


def choose_save_path(window: MainWindow) -> None:
    doc = window.document
    if doc is None:
        return
    suggested, chosen = save_formats.suggested_save(doc.source, doc.name, window.settings)
    filters = ";;".join(save_formats.SAVE_FILTERS.values())
    path, selected = QFileDialog.getSaveFileName(window, "Save the restored photo", str(suggested), filters, chosen)
    if path:
        save_to(window, save_formats.with_format_suffix(Path(path), selected))


def save_to(window: MainWindow, path: Path) -> None:
    """Write the restored photo (full quality: upscale and ParseNet mask as set) to ``path``, atomically."""
    doc = window.document
    if doc is None or window.host.engine is None:
        return
    problem = save_formats.refusal(path, doc.source)
    if problem is not None:
        show_error(window, "Not saved", problem)
        return

    def saved(result: WriteResult) -> None:
        window.settings = update_settings(save_folder=str(path.parent))
        notes = f" ({'; '.join(result.notes)})" if result.notes else ""
        window.status_label.setText(f"Saved {path}{notes}")

    settings = window.settings
    fmt, quality = save_formats.write_options(save_formats.format_for(path), doc.analysed.photo.info.format, settings)
    window.editor.save(path, fmt, quality, settings.upscale, saved)


def choose_export_folder(window: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Export the restored faces to", window.settings.save_folder)
    if folder:
        window.editor.export_faces(Path(folder))
