"""The model manager: which weights are installed, and downloading, importing and verifying them.

Every slow step (download, conversion, hashing) is a task of ``weights_tasks.py`` on the window's task
runner, and the dialog only shows what the core reports, so the event loop never waits on the network or the
disk. All checking and converting is the core's (``codeformer_app.weights``), exactly as the ``weights``
command of the CLI does it: this module never hashes or converts anything itself.

The dialog is meant to be shown non-modally (``show()``); its questions and error boxes are opened, never
``exec()``'d.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import WeightsError
from ..weights import (
    DEFAULT_REGISTRY,
    DownloadCancelled,
    InstalledRecord,
    Registry,
    VerifyResult,
    WeightsEntry,
    WeightsStatus,
    weights_dir,
)
from ..weights.paths import ensure_folder, partial_path
from . import messages
from .task_runner import TaskKind, TaskRunner
from .weights_table import HashState, LicenseDialog, MissingBanner, Note, TableNotes, WeightsTable, read_statuses
from .weights_tasks import DownloadResult, Progress, download_task, import_task, verify_task
from .weights_texts import download_view, downloaded_text, imported_text, starting_text, verified_text

WINDOW_TITLE = "Models — CodeFormer App"
#: Resolution of the progress bar. Its value is an int, so byte counts of files over 2 GB would not fit.
PROGRESS_STEPS = 1000
#: Room for the six columns without scrolling, on a typical screen.
DEFAULT_SIZE = (980, 420)
IMPORT_FILTER = "Weights files (*.pth *.safetensors);;All files (*)"

#: Names on the task runner; one runs at a time (they touch the same files).
DOWNLOAD, IMPORT, VERIFY = "weights-download", "weights-import", "weights-verify"


class ModelManagerDialog(QDialog):
    """Lists the registry's weights with their state and downloads, imports and verifies them in workers.

    The main window opens it on first run (see :meth:`show_missing`) instead of failing, and reloads the
    networks when :attr:`weights_changed` is emitted. ``registry`` is the app's own unless a caller (a test)
    passes another.
    """

    weights_changed = Signal()
    """A file was installed: the networks may be (re)loaded."""
    download_progress = Signal(int, int)
    """``(done_bytes, total_bytes)`` of the running download."""

    def __init__(
        self,
        parent: QWidget | None = None,
        folder: Path | None = None,
        tasks: TaskRunner | None = None,
        *,
        registry: Registry = DEFAULT_REGISTRY,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(*DEFAULT_SIZE)
        self._registry = registry
        self._folder = weights_dir(folder)
        self._tasks = tasks if tasks is not None else TaskRunner(self)
        self._tasks.task_ended.connect(self._task_ended)
        self._cancel: threading.Event | None = None
        self._known = TableNotes()
        self._shown_refresh_error: str | None = None
        self.license_dialog: LicenseDialog | None = None
        self._build()
        self.refresh()

    # --- public API --------------------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def busy(self) -> bool:
        """True while a download, import or verification runs (one at a time: they touch the same files)."""
        return self._tasks.running(DOWNLOAD, IMPORT, VERIFY)

    def selected_name(self) -> str | None:
        return self.table.selected_name()

    def show_missing(self, message: str) -> None:
        """Explain, at the top, that the weights are needed (``message`` says which and where), and select them."""
        self.banner.show_message(message)
        required = [entry.name for entry in self._registry if entry.required]
        if required:
            self.table.select_name(required[0])

    def refresh(self) -> None:
        """Re-read the folder. Cheap (the index and a few file stats), so it runs on the GUI thread."""
        statuses = self._statuses()
        self.table.show_statuses(statuses, self._known, self._folder)
        if not self.banner.isHidden() and all(s.installed for s in statuses if s.entry.required):
            self.banner.hide()
        self._update_buttons()

    def request_download(self, name: str) -> None:
        """Show the license of ``name``; the download starts only if the user accepts it."""
        if self._refuse_while_busy() or self.license_dialog is not None:
            return
        try:
            entry = self._registry.find(name)
        except WeightsError as error:
            messages.show_error(self, "Download", error)
            return
        dialog = LicenseDialog(entry, self)
        dialog.accepted.connect(functools.partial(self._start_download, entry))
        dialog.rejected.connect(functools.partial(self._license_declined, entry))
        dialog.finished.connect(self._license_dialog_closed)
        self.license_dialog = dialog
        dialog.open()

    def cancel(self) -> None:
        """Stop the running task. A download stops after its current block of bytes and keeps its ``.part``.

        A download is stopped through the core's ``cancelled`` check only, never quit: quitting would end the
        worker while the transfer thread still writes the ``.part``, and a new download could then write into
        the same file. (Downloads and imports are writers: closing the window waits for them.)
        """
        if self._cancel is not None:
            self._cancel.set()
            self._say("Cancelling the download…")
        else:
            self._tasks.cancel(VERIFY)
        self._update_buttons()

    def choose_import_file(self) -> None:
        """Ask for a file, then import it (the file dialog is Qt's own, the import runs in a worker)."""
        chosen, _ = QFileDialog.getOpenFileName(self, "Import weights", str(Path.home()), IMPORT_FILTER)
        if chosen:
            self.import_file(Path(chosen))

    def import_file(self, path: Path) -> None:
        """Check ``path`` and install its conversion; the file itself is left as it is."""
        if self._refuse_while_busy():
            return
        source = Path(path)
        self._show_busy_progress(f"Importing {source.name}…")
        self._start(
            IMPORT,
            import_task,
            source,
            self._folder,
            self._registry,
            on_progress=self._say,
            on_done=functools.partial(self._imported, source),
            on_error=functools.partial(self._failed, f"Could not import {source.name}"),
        )

    def verify(self) -> None:
        """Re-check every installed file against its recorded hash (and CodeFormer against the network)."""
        if self._refuse_while_busy():
            return
        self._show_busy_progress("Verifying the installed weights…")
        self._start(
            VERIFY,
            verify_task,
            self._folder,
            self._registry,
            on_progress=self._verified_one,
            on_done=self._verified_all,
            on_error=functools.partial(self._failed, "Could not verify the weights"),
        )

    def open_folder(self) -> None:
        """Show the weights folder in the file manager (created first, so there is something to open)."""
        try:
            ensure_folder(self._folder)
        except WeightsError as error:
            messages.show_error(self, "Open folder", error)
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._folder))):
            messages.show_error(self, "Open folder", f"{self._folder}: no file manager could open this folder")

    # --- layout ------------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = MissingBanner(self)
        folder_label = QLabel(f"Weights folder: {self._folder}", self)
        folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = WeightsTable(self)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("downloadProgress")
        self.progress.hide()
        self.status_label = QLabel(self)
        self.status_label.setObjectName("statusLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)

        layout = QVBoxLayout(self)
        for widget in (self.banner, folder_label, self.table, self.progress, self.status_label):
            layout.addWidget(widget)
        layout.addLayout(self._build_buttons())

    def _build_buttons(self) -> QHBoxLayout:
        def button(text: str, name: str, slot: Callable[[], None]) -> QPushButton:
            widget = QPushButton(text, self)
            widget.setObjectName(name)
            widget.setAutoDefault(False)
            widget.clicked.connect(slot)
            return widget

        self.download_button = button("Download", "downloadButton", self._download_selected)
        self.cancel_button = button("Cancel download", "cancelButton", self.cancel)
        self.import_button = button("Import from file…", "importButton", self.choose_import_file)
        self.verify_button = button("Verify", "verifyButton", self.verify)
        self.open_folder_button = button("Open folder", "openFolderButton", self.open_folder)
        close_button = button("Close", "closeButton", self.close)
        row = QHBoxLayout()
        for widget in (
            self.download_button,
            self.cancel_button,
            self.import_button,
            self.verify_button,
            self.open_folder_button,
        ):
            row.addWidget(widget)
        row.addStretch()
        row.addWidget(close_button)
        return row

    # --- table -------------------------------------------------------------------------------------------------

    def _statuses(self) -> list[WeightsStatus]:
        """The folder's state; with an unreadable index, what the files alone show (and one error box)."""
        statuses, error = read_statuses(self._folder, self._registry)
        if error is not None and str(error) != self._shown_refresh_error:
            messages.show_error(self, "Weights folder", error)
        self._shown_refresh_error = None if error is None else str(error)
        return statuses

    # --- running tasks -----------------------------------------------------------------------------------------

    def _start(self, name: str, task: Callable[..., Generator], *args: Any, **callbacks: Any) -> None:
        kind = TaskKind.PARALLEL if name == VERIFY else TaskKind.WRITER
        self._tasks.start(name, task, *args, kind=kind, **callbacks)
        self._update_buttons()

    def _task_ended(self, name: str) -> None:
        if name not in (DOWNLOAD, IMPORT, VERIFY):
            return
        self._cancel = None
        self._known.downloading = None
        self.progress.hide()
        self.refresh()

    def _refuse_while_busy(self) -> bool:
        if self.busy:
            self._say("Wait for the current task to finish (or cancel the download) first.")
        return self.busy

    def _update_buttons(self) -> None:
        idle = not self.busy and self.license_dialog is None
        self.download_button.setEnabled(idle and self.selected_name() is not None)
        self.import_button.setEnabled(idle)
        self.verify_button.setEnabled(idle)
        cancelling = self._cancel is not None and self._cancel.is_set()
        self.cancel_button.setEnabled(self._known.downloading is not None and not cancelling)

    def _say(self, text: str) -> None:
        self.status_label.setText(text)

    def _show_busy_progress(self, text: str) -> None:
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.progress.show()
        self._say(text)

    def _failed(self, title: str, error: Exception) -> None:
        self._say(messages.describe_error(error))
        messages.show_error(self, title, error)

    # --- download ----------------------------------------------------------------------------------------------

    def _download_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.request_download(name)

    def _license_dialog_closed(self) -> None:
        if self.license_dialog is not None:
            self.license_dialog.deleteLater()
        self.license_dialog = None
        self._update_buttons()

    def _license_declined(self, entry: WeightsEntry) -> None:
        self._known.notes[entry.name] = Note.DECLINED
        self._say(f"The license of {entry.file_name} was not accepted; nothing was downloaded.")
        self.refresh()

    def _start_download(self, entry: WeightsEntry) -> None:
        self._known.notes.pop(entry.name, None)
        self._cancel = threading.Event()
        self._known.downloading = entry
        self._known.download_status = "starting download"
        self.progress.setRange(0, PROGRESS_STEPS)
        self._show_download_progress(0, entry.size or 0)
        self.progress.show()
        self._say(starting_text(entry))
        self._start(
            DOWNLOAD,
            download_task,
            entry,
            self._folder,
            self._registry,
            self._cancel,
            on_progress=self._download_progressed,
            on_done=functools.partial(self._downloaded, entry),
            on_error=functools.partial(self._download_failed, entry),
        )
        self.refresh()

    def _download_progressed(self, report: Progress) -> None:
        done, total = report
        self._show_download_progress(done, total)
        self.download_progress.emit(done, total)

    def _show_download_progress(self, done: int, total: int) -> None:
        entry = self._known.downloading
        if entry is None:
            return
        view = download_view(entry, done, total)
        self.progress.setValue(round(view.fraction * PROGRESS_STEPS))
        self.progress.setFormat(view.bar_format)
        self._known.download_status = view.status
        self.table.set_status(entry.name, self._known.download_status)

    def _downloaded(self, entry: WeightsEntry, result: DownloadResult) -> None:
        self._known.downloading = None
        self._known.hashes[entry.name] = HashState.VERIFIED
        self._say(downloaded_text(entry, self._folder / result.record.file, result.fetched))
        self.refresh()
        if result.fetched:
            self.weights_changed.emit()

    def _download_failed(self, entry: WeightsEntry, error: Exception) -> None:
        self._known.downloading = None
        if isinstance(error, DownloadCancelled):
            kept = partial_path(entry, self._folder).is_file()
            self._known.notes[entry.name] = Note.CANCELLED if kept else Note.CANCELLED_EMPTY
            self._say(f"Download of {entry.file_name} cancelled; download it again to resume where it stopped.")
            self.refresh()
            return
        self._known.notes[entry.name] = Note.FAILED
        self.refresh()
        self._failed(f"Could not download {entry.file_name}", error)

    # --- import and verify -------------------------------------------------------------------------------------

    def _imported(self, source: Path, record: InstalledRecord) -> None:
        entry = self._registry.find(record.name)
        self._known.notes.pop(entry.name, None)
        self._known.hashes[entry.name] = HashState.VERIFIED
        self._say(imported_text(source, record, entry))
        self.refresh()
        self.weights_changed.emit()

    def _verified_one(self, report: tuple[int, int, VerifyResult]) -> None:
        number, count, result = report
        self._known.hashes[result.name] = result
        self.progress.setRange(0, count)
        self.progress.setValue(number)
        self.progress.setFormat(f"Verified {number} of {count}")
        self.refresh()

    def _verified_all(self, results: list[VerifyResult]) -> None:
        self._say(verified_text(results, self._folder))
