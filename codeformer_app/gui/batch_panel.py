"""The batch panel: a whole folder tree restored in the background, resumable, with every failure listed.

The work itself is the core's :func:`~codeformer_app.batch.iter_and_report` (the same run the command line
does, with the same report in the output folder); this module only plans it off the GUI thread, feeds it the
networks under the host's lock and shows what it yields. The main window imports this module lazily, so the
core imports at the top do not slow the window's first appearance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import GeneratorWorker

from ..batch import REPORT_NAME, ItemResult, Journal, Status, iter_and_report, plan_batch, read_finished, summary_line
from ..errors import CodeFormerAppError, OperationCancelled
from ..imaging import OUTPUT_FORMATS
from ..pipeline.photo import ComposeOptions
from ..pipeline.restore_file import RestoreOutcome, RestoreSettings, restore_file
from .engine_host import EngineHost
from .messages import describe_error, show_error
from .settings import FIDELITY_STEP, SAME_FORMAT, UPSCALE_CHOICES, AppSettings, load_settings, save_settings
from .workers import start_task

W = TypeVar("W", bound=QWidget)

#: Appended to the input folder's name to propose an output folder next to it.
OUTPUT_SUFFIX = "-restored"
#: Title of the panel's error boxes.
ERROR_TITLE = "Batch"
#: How often a file waiting for the networks (held by a render in the main window) checks for Cancel.
LOCK_POLL_S = 0.1
#: Fidelity spin box: step and decimals.
FIDELITY_DECIMALS = 2
#: Quality spin box range (what the JPEG and WebP encoders accept).
QUALITY_MIN, QUALITY_MAX = 1, 100
#: Output formats whose quality setting means something.
LOSSY_FORMATS = frozenset({"jpg", "webp"})
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600

NO_ENGINE_MESSAGE = (
    "The networks are not loaded yet, or their weights are missing. Wait until loading has finished, "
    "or open Tools ▸ Models to install the weights, then press Start again."
)


# --- what the worker yields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """The run's size, known once the input tree has been scanned (in the worker: a big tree takes a while)."""

    total: int
    already_done: int
    """Files whose output exists, which a resuming run will skip."""


@dataclass(frozen=True)
class BatchRequest:
    """Everything a run needs, fixed when Start is pressed."""

    in_dir: Path
    out_dir: Path
    settings: RestoreSettings
    skip_existing: bool

    @property
    def report(self) -> Path:
        return self.out_dir / REPORT_NAME


class WorkerRelay(QObject):
    """Carries what ``restore_file`` reports from inside a file (its callbacks run in the worker thread) to
    the GUI thread.

    The generator task can only yield between files, and the face progress comes from a callback deep inside
    ``restore_file``, so it cannot be yielded. This object is created on the GUI thread and its signals are
    connected with ``QueuedConnection``: emitting them from the worker only posts an event, and the slots run
    later on the GUI thread, in the order emitted and in order with the worker's ``yielded`` values (all of
    them are events posted to the same thread). Nothing is shared but the signal, so no lock is needed.
    """

    file_started = Signal(str)
    face_progress = Signal(int, int)


class BatchRun:
    """The worker side of one run: plain Python, touched by the GUI thread only through ``cancel``."""

    def __init__(self, request: BatchRequest, host: EngineHost, relay: WorkerRelay) -> None:
        self.request = request
        self.cancel = threading.Event()
        self._host = host
        self._relay = relay

    def task(self) -> Generator[Planned | ItemResult, None, None]:
        """Plan, then yield one :class:`ItemResult` per file.

        Cancelling sets :attr:`cancel`: the file in progress stops before its next face (nothing is written),
        and the loop ends after the current result. The run is closed here, in the worker, so the report is
        written before the task ends. (``worker.quit()`` is not used: superqt then stops without closing the
        generator, and the report would be written whenever, and on whichever thread, it is collected.)
        """
        request = self.request
        finished = read_finished(request.out_dir, request.report) if request.skip_existing else {}
        jobs = plan_batch(request.in_dir, request.out_dir, request.settings.output_format, finished)
        request.out_dir.mkdir(parents=True, exist_ok=True)
        yield Planned(len(jobs), sum(job.done for job in jobs))
        run = iter_and_report(jobs, self.process, request.report, Journal(request.out_dir))
        try:
            for result in run:
                yield result
                if self.cancel.is_set():
                    break
        finally:
            run.close()

    def process(self, source: Path, target: Path) -> RestoreOutcome:
        """One file, with the networks held for its whole duration (a render waits for at most one file)."""
        if self.cancel.is_set():
            raise OperationCancelled(f"{source}: cancelled; nothing was written")
        self._relay.file_started.emit(str(source))
        with self._holding_networks(source):
            engine = self._host.engine
            if engine is None:
                raise CodeFormerAppError(f"{source}: the networks were unloaded during the batch")
            return restore_file(
                source,
                target,
                engine,
                self.request.settings,
                on_face=self._relay.face_progress.emit,
                cancelled=self.cancel.is_set,
            )

    @contextmanager
    def _holding_networks(self, source: Path) -> Iterator[None]:
        """The host's lock, given up on Cancel while waiting for it (a long render may hold it)."""
        while not self._host.lock.acquire(timeout=LOCK_POLL_S):
            if self.cancel.is_set():
                raise OperationCancelled(f"{source}: cancelled; nothing was written")
        try:
            yield
        finally:
            self._host.lock.release()


# --- small pure helpers (tested directly) --------------------------------------------------------------------


def proposed_output(in_dir: Path) -> Path:
    """``<input>-restored`` next to the input: never inside it, which the core refuses."""
    return in_dir.with_name(in_dir.name + OUTPUT_SUFFIX)


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"3 min 5 s"``, ``"2 h 10 min"``: precise enough for an estimate."""
    whole = max(0, round(seconds))
    if whole < SECONDS_PER_MINUTE:
        return f"{whole} s"
    if whole < SECONDS_PER_HOUR:
        minutes, rest = divmod(whole, SECONDS_PER_MINUTE)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(whole, SECONDS_PER_HOUR)
    return f"{hours} h {rest // SECONDS_PER_MINUTE} min"


def estimate_remaining(results: list[ItemResult], to_process: int) -> float | None:
    """Seconds left: the mean time of the files really processed (skipped ones took none) times the files
    still to process; None before the first one is done."""
    timed = [r.seconds for r in results if r.status is not Status.SKIPPED]
    if not timed:
        return None
    return sum(timed) / len(timed) * max(0, to_process)


def summary_text(results: list[ItemResult]) -> str:
    """What the command line prints at the end, e.g. ``"3 restored, 1 already done, 1 failed"``."""
    return summary_line(results)


def display_name(path: str | Path, root: Path) -> str:
    """The path relative to the input folder (files of different subfolders may share a name)."""
    path = Path(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def failure_reason(result: ItemResult) -> str:
    """The error without the leading ``<input path>: `` the core puts in, since the list already names it."""
    reason = result.error or "unknown reason"
    prefix = f"{result.input}: "
    return reason.removeprefix(prefix) if reason.startswith(prefix) else reason


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
    exec'd. The main window asks :attr:`is_running` before closing and calls :meth:`cancel`, then waits for
    :attr:`run_finished`.
    """

    run_finished = Signal(object)
    """The list of :class:`ItemResult` of the run (also after a cancel or an error)."""
    item_finished = Signal(object)
    """One :class:`ItemResult`, after the panel has shown it."""
    running_changed = Signal(bool)

    def __init__(self, host: EngineHost, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchPanel")
        self._host = host
        self._settings = settings
        self._worker: GeneratorWorker | None = None
        self._run: BatchRun | None = None
        self._relay: WorkerRelay | None = None
        self._results: list[ItemResult] = []
        self._planned = Planned(0, 0)
        self._planned_received = False
        self._started_at = 0.0
        self._proposed_output = ""
        self._current_name = ""
        self._error: str | None = None
        self._build_widgets()
        self._lay_out()
        self._connect()
        self._load_folders(settings)
        self._update_enabled()

    # --- building ---

    def _build_widgets(self) -> None:
        settings = self._settings
        self.input_edit = self._named(QLineEdit(), "inputFolderEdit")
        self.input_edit.setPlaceholderText("Folder of photos (subfolders included)")
        self.output_edit = self._named(QLineEdit(), "outputFolderEdit")
        self.output_edit.setPlaceholderText("Folder for the restored photos (same tree)")
        self.choose_input_button = self._named(QPushButton("Choose…"), "chooseInputButton")
        self.choose_output_button = self._named(QPushButton("Choose…"), "chooseOutputButton")

        self.fidelity_spin = self._named(QDoubleSpinBox(), "fidelitySpin")
        self.fidelity_spin.setRange(0.0, 1.0)
        self.fidelity_spin.setSingleStep(FIDELITY_STEP)
        self.fidelity_spin.setDecimals(FIDELITY_DECIMALS)
        self.fidelity_spin.setValue(settings.fidelity)
        self.fidelity_spin.setToolTip("0 = strongest restoration, 1 = closest to the original")
        self.format_combo = self._named(QComboBox(), "formatCombo")
        self.format_combo.addItem("Same as input", SAME_FORMAT)
        for fmt in OUTPUT_FORMATS:
            self.format_combo.addItem(fmt.upper(), fmt)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(settings.output_format)))
        self.quality_spin = self._named(QSpinBox(), "qualitySpin")
        self.quality_spin.setRange(QUALITY_MIN, QUALITY_MAX)
        self.quality_spin.setValue(settings.quality)
        self.upscale_combo = self._named(QComboBox(), "upscaleCombo")
        for factor in UPSCALE_CHOICES:
            self.upscale_combo.addItem(f"{factor}x", factor)
        self.upscale_combo.setCurrentIndex(max(0, self.upscale_combo.findData(settings.upscale)))
        self.resume_check = self._named(QCheckBox("Skip files already done (resume)"), "resumeCheck")
        self.resume_check.setChecked(True)

        self.start_button = self._named(QPushButton("Start"), "startButton")
        self.cancel_button = self._named(QPushButton("Cancel"), "cancelButton")
        self.open_output_button = self._named(QPushButton("Open output folder"), "openOutputButton")

        self.status_label = self._named(QLabel("Choose a folder of photos, then press Start."), "statusLabel")
        self.status_label.setWordWrap(True)
        self.overall_bar = self._named(QProgressBar(), "overallProgress")
        self.overall_bar.setFormat("%v / %m files")
        self.eta_label = self._named(QLabel(), "etaLabel")
        self.file_label = self._named(QLabel(), "fileLabel")
        self.file_bar = self._named(QProgressBar(), "fileProgress")
        self.file_bar.setFormat("%v / %m faces")
        self.summary_label = self._named(QLabel(), "summaryLabel")
        self.failure_list = self._named(QListWidget(), "failureList")
        for bar in (self.overall_bar, self.file_bar):
            bar.setRange(0, 1)
            bar.setValue(0)

    @staticmethod
    def _named(widget: W, name: str) -> W:
        widget.setObjectName(name)
        return widget

    def _lay_out(self) -> None:
        folders = QFormLayout()
        folders.addRow("Photos from:", self._row(self.input_edit, self.choose_input_button))
        folders.addRow("Restore into:", self._row(self.output_edit, self.choose_output_button))

        options_box = QGroupBox("Options")
        options = QFormLayout(options_box)
        options.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        options.addRow("Fidelity:", self.fidelity_spin)
        options.addRow("Output format:", self.format_combo)
        options.addRow("Quality:", self.quality_spin)
        options.addRow("Upscale:", self.upscale_combo)
        options.addRow(self.resume_check)

        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_output_button)

        layout = QVBoxLayout(self)
        layout.addLayout(folders)
        layout.addWidget(options_box)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.overall_bar)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.file_label)
        layout.addWidget(self.file_bar)
        layout.addWidget(self.summary_label)
        layout.addWidget(QLabel("Failures:"))
        layout.addWidget(self.failure_list, 1)

    @staticmethod
    def _row(*widgets: QWidget) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        return row

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
        return self._worker is not None

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
        self._relay = WorkerRelay()
        self._relay.file_started.connect(self._on_file_started, Qt.ConnectionType.QueuedConnection)
        self._relay.face_progress.connect(self._on_face_progress, Qt.ConnectionType.QueuedConnection)
        self._run = BatchRun(request, self._host, self._relay)
        self._started_at = time.monotonic()
        self.status_label.setText("Looking for photos…")
        self._worker = start_task(
            self._run.task,
            on_error=self._on_error,
            on_progress=self._on_event,
            on_finished=self._on_finished,
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

    def _on_event(self, event: Planned | ItemResult) -> None:
        if isinstance(event, Planned):
            self._on_planned(event)
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

    @Slot(str)
    def _on_file_started(self, source: str) -> None:
        self._current_name = self._name(source)
        self.file_label.setText(f"{self._current_name}: finding faces…")
        self.file_bar.setRange(0, 0)  # busy until the number of faces is known

    @Slot(int, int)
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

    def _on_finished(self) -> None:
        self.status_label.setText(self._outcome_text())
        self.eta_label.setText("")
        self._worker = self._run = self._relay = None
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
