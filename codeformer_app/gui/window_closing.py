"""Closing the main window safely: long runs (a batch, a video export) are stopped only if the user says so,
every other writer (save, export, download, import) is waited for; only then does the window close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from .main_window import MainWindow


def must_wait(window: MainWindow) -> bool:
    """True when the window may not close yet: a long run is going (the user is asked whether to stop it; if
    so, it stops keeping what it finished, and the window closes once it has) or a writer is finishing."""
    runs: list[tuple[str, str, Callable[[], None]]] = []
    if window.batch_panel is not None and window.batch_panel.is_running:
        question = "A batch is running. Stop it and quit? Finished files are kept."
        runs.append(("Batch running", question, window.batch_panel.cancel))  # stops after the current face
    if window.video_export.running:
        question = "A video is exporting. Stop it and quit? Finished segments are kept: exporting again resumes."
        runs.append(("Video export running", question, window.video_export.cancel))  # stops before the next frame
    if runs:
        title, question, _cancel = runs[0]
        if QMessageBox.question(window, title, question) == QMessageBox.StandardButton.Yes:
            for _title, _question, cancel in runs:
                cancel()
            close_when_writers_done(window)
        return True
    if window.model_manager is not None:
        window.model_manager.cancel()  # a download keeps its .part file and resumes next time
    if window.tasks.writing:
        window.status_label.setText("Finishing the save, then closing…")
        close_when_writers_done(window)
        return True
    return False


def close_when_writers_done(window: MainWindow) -> None:
    """Close the window once no writer is left (once, however often it is asked)."""
    if window.close_waiting:
        return
    window.close_waiting = True

    def close() -> None:
        window.close_waiting = False
        window.close()

    window.tasks.when_writers_done(close)
