"""The batch panel: a whole folder tree restored in the background, resumable, with every failure listed.

The run itself is :class:`~.batch_run.BatchRun` (the core's ``iter_and_report``, as the command line runs
it); the panel starts it on the window's task runner and shows what it yields. The main window imports this
module lazily, so the core imports at the top do not slow the window's first appearance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QListWidgetItem, QProgressBar, QWidget

from ..batch import REPORT_NAME, ItemResult, Status
from ..pipeline.photo import ComposeOptions
from ..pipeline.restore_file import RestoreSettings
from .batch_form import FIDELITY_DECIMALS, build_batch_form
from .batch_run import (
    BatchEvent,
    BatchRequest,
    BatchRun,
    FaceProgress,
    FileStarted,
    Planned,
    display_name,
    estimate_remaining,
    failure_reason,
    format_duration,
    proposed_output,
    summary_text,
)
from .engine_host import EngineHost
from .messages import describe_error, show_error
from .settings import AppSettings, load_settings, save_settings
from .task_runner import TaskKind, TaskRunner

#: Title of the panel's error boxes.
ERROR_TITLE = "Batch"
#: Output formats whose quality setting means something.
LOSSY_FORMATS = frozenset({"jpg", "webp"})
#: The run's name on the task runner.
BATCH_TASK = "batch"

NO_ENGINE_MESSAGE = (
    "The networks are not loaded yet, or their weights are missing. Wait until loading has finished, "
    "or open Tools ▸ Models to install the weights, then press Start again."
)


def _set_bar(bar: QProgressBar, value: int, maximum: int) -> None:
    """A bar at ``value`` of ``maximum``; a total of 0 shows as complete (Qt would show a busy bar)."""
    if maximum <= 0:
        bar.setRange(0, 1)
        bar.setValue(1)
    else:
        bar.setRange(0, maximum)
        bar.setValue(min(value, maximum))


# --- the panel -----------------------------------------------------------------------------------------------


class BatchPanel(QWidget):
    """Input and output folders, options, Start / Cancel, progress with ETA, failures, Open output folder.

    Never blocks: planning, restoring and report writing all happen in a worker; dialogs are opened, not
    exec'd. The run is a writer on the window's task runner: the window asks :attr:`is_running` before closing,
    calls :meth:`cancel`, then waits for its writers.
    """

    run_finished = Signal(object)
    """The list of :class:`ItemResult` of the run (also after a cancel or an error)."""
    item_finished = Signal(object)
    """One :class:`ItemResult`, after the panel has shown it."""
    running_changed = Signal(bool)

    def __init__(
        self, host: EngineHost, settings: AppSettings, parent: QWidget | None = None, tasks: TaskRunner | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("batchPanel")
        self._host = host
        self._settings = settings
        self._tasks = tasks if tasks is not None else TaskRunner(self)
        self._tasks.task_ended.connect(self._task_ended)
        self._run: BatchRun | None = None
        self._results: list[ItemResult] = []
        self._planned = Planned(0, 0)
        self._planned_received = False
        self._started_at = 0.0
        self._proposed_output = ""
        self._current_name = ""
        self._error: str | None = None
        build_batch_form(self, settings)
        self._connect()
        self._load_folders(settings)
        self._update_enabled()

    def _connect(self) -> None:
        self.choose_input_button.clicked.connect(self.choose_input)
        self.choose_output_button.clicked.connect(self.choose_output)
        self.output_edit.textChanged.connect(self._update_open_output)
        self.format_combo.currentIndexChanged.connect(self._update_enabled)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_output_button.clicked.connect(self.open_output_folder)

    def _load_folders(self, settings: AppSettings) -> None:
        if settings.batch_input:
            self.input_edit.setText(settings.batch_input)
        if settings.batch_output:
            self.output_edit.setText(settings.batch_output)
        if settings.batch_input and settings.batch_output == str(proposed_output(Path(settings.batch_input))):
            self._proposed_output = settings.batch_output  # still the proposal: a new input may replace it
        self._update_open_output()

    # --- folders ---

    def input_folder(self) -> Path | None:
        """The folder typed or chosen, or None while the field is empty."""
        text = self.input_edit.text().strip()
        return Path(text).expanduser() if text else None

    def output_folder(self) -> Path | None:
        """The folder typed, chosen or proposed, or None while the field is empty."""
        text = self.output_edit.text().strip()
        return Path(text).expanduser() if text else None

    def set_input_folder(self, path: str | Path) -> None:
        """The folder to restore (also what a folder dropped on the window does). An empty output, or one this
        panel proposed for an earlier input, becomes ``<input>-restored``."""
        folder = Path(path)
        self.input_edit.setText(str(folder))
        current = self.output_edit.text().strip()
        if not current or current == self._proposed_output:
            self._proposed_output = str(proposed_output(folder))
            self.output_edit.setText(self._proposed_output)

    def set_output_folder(self, path: str | Path) -> None:
        self.output_edit.setText(str(Path(path)))

    def choose_input(self) -> QFileDialog:
        """A folder chooser, opened (not exec'd); choosing calls :meth:`set_input_folder`."""
        return self._open_folder_dialog("Folder of photos to restore", self.input_folder(), self.set_input_folder)

    def choose_output(self) -> QFileDialog:
        """A folder chooser, opened (not exec'd); choosing calls :meth:`set_output_folder`."""
        return self._open_folder_dialog("Folder for the restored photos", self.output_folder(), self.set_output_folder)

    def _open_folder_dialog(self, title: str, start: Path | None, chosen: Callable[[str], None]) -> QFileDialog:
        dialog = QFileDialog(self, title, str(start) if start else "")
        dialog.setObjectName("batchFolderDialog")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.fileSelected.connect(chosen)
        dialog.open()
        return dialog

    def open_output_folder(self) -> None:
        folder = self.output_folder()
        if folder is not None and folder.is_dir():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder.resolve())))

    def _save_folders(self, in_dir: Path, out_dir: Path) -> None:
        """Into the stored settings as they are now (the main window may have changed other values since)."""
        self._settings = replace(load_settings(), batch_input=str(in_dir), batch_output=str(out_dir))
        save_settings(self._settings)

    # --- options ---

    def restore_settings(self) -> RestoreSettings:
        """The options as the core takes them; quality only for a lossy output format chosen here (with "same
        as input", each JPEG keeps its own quality)."""
        fmt = self.format_combo.currentData() or None
        return RestoreSettings(
            fidelity=round(self.fidelity_spin.value(), FIDELITY_DECIMALS),
            compose=ComposeOptions(upscale=int(self.upscale_combo.currentData())),
            output_format=fmt,
            quality=self.quality_spin.value() if fmt in LOSSY_FORMATS else None,
        )

    # --- running ---

    @property
    def is_running(self) -> bool:
        return self._tasks.running(BATCH_TASK)

    @property
    def results(self) -> list[ItemResult]:
        """What the current (or last) run has reported so far."""
        return list(self._results)

    def start(self) -> None:
        """Check what can be checked at once; the planning (and its errors) happens in the worker."""
        if self.is_running:
            return
        request = self._request_or_explain()
        if request is None:
            return
        self._save_folders(request.in_dir, request.out_dir)
        self._reset_progress()
        self._run = BatchRun(request, self._host)
        self._started_at = time.monotonic()
        self.status_label.setText("Looking for photos…")
        self._tasks.start(
            BATCH_TASK, self._run.task, on_error=self._on_error, on_progress=self._on_event, kind=TaskKind.WRITER
        )
        self._update_enabled()
        self.running_changed.emit(True)

    def _request_or_explain(self) -> BatchRequest | None:
        in_dir, out_dir = self.input_folder(), self.output_folder()
        problem = None
        if in_dir is None:
            problem = "Choose the folder of photos to restore."
        elif not in_dir.is_dir():
            problem = f"{in_dir}: not a folder (moved, renamed or on a disconnected drive?)"
        elif out_dir is None:
            problem = "Choose the folder the restored photos go into."
        elif self._host.engine is None:
            problem = NO_ENGINE_MESSAGE
        if problem is not None:
            show_error(self, ERROR_TITLE, problem)
            return None
        return BatchRequest(in_dir, out_dir, self.restore_settings(), self.resume_check.isChecked())

    def cancel(self) -> None:
        """Stop after the current face; the report is still written and Start resumes."""
        if self._run is None:
            return
        self._run.cancel.set()
        self.status_label.setText("Cancelling…")
        self.cancel_button.setEnabled(False)

    def _on_event(self, event: BatchEvent) -> None:
        if isinstance(event, Planned):
            self._on_planned(event)
        elif isinstance(event, FileStarted):
            self._on_file_started(event.source)
        elif isinstance(event, FaceProgress):
            self._on_face_progress(event.done, event.total)
        else:
            self._on_result(event)

    def _on_planned(self, planned: Planned) -> None:
        self._planned = planned
        self._planned_received = True
        self._update_open_output()  # the worker has just created the output folder
        _set_bar(self.overall_bar, 0, planned.total)
        if planned.total == 0:
            self.status_label.setText(f"No photos found in {self._run.request.in_dir}.")
            return
        done = f" ({planned.already_done} already done)" if planned.already_done else ""
        self.status_label.setText(f"Restoring {planned.total} photos{done}…")
        self.eta_label.setText("Estimating the time left…")

    def _on_file_started(self, source: str) -> None:
        self._current_name = self._name(source)
        self.file_label.setText(f"{self._current_name}: finding faces…")
        self.file_bar.setRange(0, 0)  # busy until the number of faces is known

    def _on_face_progress(self, done: int, total: int) -> None:
        _set_bar(self.file_bar, done, total)
        name = self._current_name
        self.file_label.setText(f"{name}: face {min(done + 1, total)} of {total}" if total else f"{name}: no faces")

    def _on_result(self, result: ItemResult) -> None:
        self._results.append(result)
        _set_bar(self.overall_bar, len(self._results), self._planned.total)
        if result.status is Status.FAILED:
            self._add_failure(result)
            _set_bar(self.file_bar, 0, 1)  # it may have failed before its faces were counted (still "busy")
            self.file_label.setText(f"{self._name(result.input)}: failed")
        self.summary_label.setText(summary_text(self._results))
        self._update_eta()
        self.item_finished.emit(result)

    def _add_failure(self, result: ItemResult) -> None:
        item = QListWidgetItem(f"{self._name(result.input)}: {failure_reason(result)}")
        item.setToolTip(result.error or "")
        self.failure_list.addItem(item)

    def _update_eta(self) -> None:
        processed = sum(r.status is not Status.SKIPPED for r in self._results)
        to_process = self._planned.total - self._planned.already_done - processed
        left = estimate_remaining(self._results, to_process)
        if left is not None and len(self._results) < self._planned.total:
            self.eta_label.setText(f"About {format_duration(left)} left")

    def _on_error(self, error: Exception) -> None:
        self._error = describe_error(error)
        show_error(self, ERROR_TITLE, error)

    def _task_ended(self, name: str) -> None:
        if name == BATCH_TASK:
            self._on_finished()

    def _on_finished(self) -> None:
        self.status_label.setText(self._outcome_text())
        self.eta_label.setText("")
        self._run = None
        self._update_enabled()
        self._update_open_output()
        self.running_changed.emit(False)
        self.run_finished.emit(list(self._results))

    def _outcome_text(self) -> str:
        """How the run ended, and that Start resumes one that did not finish."""
        run = self._run
        handled, total = len(self._results), self._planned.total
        if self._error is not None and not self._planned_received:
            return f"Not started: {self._error}"
        if self._error is not None:
            return f"Stopped after {handled} of {total} files: {self._error}"
        if run is not None and run.cancel.is_set() and handled < total:
            return f"Cancelled after {handled} of {total} files. Press Start to resume: finished files are skipped."
        if total == 0:
            return self.status_label.text()  # "No photos found in …"
        elapsed = format_duration(time.monotonic() - self._started_at)
        return f"Finished {total} files in {elapsed}. Report: {run.request.report if run else REPORT_NAME}"

    def _reset_progress(self) -> None:
        self._results = []
        self._error = None
        self._current_name = ""
        self._planned = Planned(0, 0)
        self._planned_received = False
        self.failure_list.clear()
        self.summary_label.setText("")
        self.eta_label.setText("")
        self.file_label.setText("")
        for bar in (self.overall_bar, self.file_bar):
            bar.setRange(0, 1)
            bar.setValue(0)

    # --- state of the widgets ---

    def _name(self, path: str | Path) -> str:
        root = self._run.request.in_dir if self._run is not None else self.input_folder()
        return display_name(path, root) if root is not None else Path(path).name

    def _update_enabled(self) -> None:
        idle = not self.is_running
        for widget in (
            self.input_edit,
            self.output_edit,
            self.choose_input_button,
            self.choose_output_button,
            self.fidelity_spin,
            self.format_combo,
            self.upscale_combo,
            self.resume_check,
            self.start_button,
        ):
            widget.setEnabled(idle)
        self.quality_spin.setEnabled(idle and self.format_combo.currentData() in LOSSY_FORMATS)
        self.cancel_button.setEnabled(not idle)

    def _update_open_output(self) -> None:
        folder = self.output_folder()
        self.open_output_button.setEnabled(folder is not None and folder.is_dir())
