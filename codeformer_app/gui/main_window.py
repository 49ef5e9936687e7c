"""The main window: menus, tabs, status bar, opening photos and videos, the panels and closing.

Only Qt and light modules are imported at the top, so the window appears before PyTorch is loaded; the core
arrives with the engine (in a worker) and is imported here inside methods once it is there. Every background
task of the window, its panels and dialogs runs on one :class:`TaskRunner` (:attr:`MainWindow.tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..defaults import PHOTO_SUFFIXES
from ..video import VIDEO_SUFFIXES, is_video_name
from . import window_closing, window_saving
from .engine_host import EngineHost, engine_choices
from .messages import show_error
from .photo_editor import OPEN, PhotoEditor
from .scratch_repair import ScratchRepair
from .session import EditSession
from .settings import DIALOG_FIELDS, AppSettings, update_settings
from .task_runner import TaskKind, TaskRunner
from .video_export import VideoExport
from .video_frames import VideoFrames
from .video_panel import VideoBar
from .viewer import ViewMode
from .window_menus import build_menus

if TYPE_CHECKING:
    from ..imaging import Photo
    from .batch_panel import BatchPanel
    from .model_manager import ModelManagerDialog
    from .tasks import OpenedPhoto, Progress

APP_TITLE = "CodeFormer App"
#: The name an image pasted from the clipboard goes by (and is saved under, with -restored).
PASTED_NAME = "pasted.png"
_PHOTOS, _VIDEOS = (
    " ".join(sorted("*" + suffix for suffix in suffixes)) for suffixes in (PHOTO_SUFFIXES, VIDEO_SUFFIXES)
)
OPEN_FILTER = f"Photos and videos ({_PHOTOS} {_VIDEOS});;Photos ({_PHOTOS});;Videos ({_VIDEOS});;All files (*)"


@dataclass(frozen=True)
class OpenRequest:
    source: Path | Photo
    """A file, or a photo already in memory (pasted, or the open photo analysed again)."""
    path: Path | None
    """The file it came from, if any."""
    name: str


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, weights: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.weights = weights
        self.tasks = TaskRunner(self)
        self.host = EngineHost(self.tasks, self)
        self._pending_open: OpenRequest | None = None
        self._pending_batch_folder: Path | None = None
        self.close_waiting = False
        self.batch_panel: BatchPanel | None = None
        self.model_manager: ModelManagerDialog | None = None

        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._build_widgets()
        build_menus(self)
        self.tasks.task_ended.connect(self._task_ended)
        self.host.status.connect(self._show_status)
        self.host.ready.connect(self._engine_ready)
        self.host.failed.connect(self._engine_failed)
        self._update_actions()

    def _build_widgets(self) -> None:
        self.editor = PhotoEditor(self.tasks, self.host, self.settings.fidelity)
        self.editor.status.connect(self._show_status)
        self.editor.progress.connect(self._task_progress)
        self.viewer, self.slider, self.face_list = self.editor.viewer, self.editor.slider, self.editor.face_list
        self.scratches = ScratchRepair(self.editor, lambda: self.settings.inpainting_weights, self)
        self.video_bar = VideoBar()
        self.video = VideoFrames(self.editor, self.host, self.video_bar, self)
        self.video.opened.connect(self._video_opened)
        self.video.frame_changed.connect(self._update_actions)
        self.video_export = VideoExport(self.editor, self.host, self.video, self.video_bar, self)
        self.video_export.status.connect(self._show_status)
        self.video_export.running_changed.connect(self._update_actions)
        photo_page = QWidget()
        page_layout = QVBoxLayout(photo_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addWidget(self.editor, 1)
        page_layout.addWidget(self.video_bar)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(photo_page, "Photo")
        self.batch_placeholder = QLabel("The batch panel appears once the networks are loaded.")
        self.batch_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs.addTab(self.batch_placeholder, "Batch")
        self.setCentralWidget(self.tabs)

        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.progress = QProgressBar()
        self.progress.setObjectName("taskProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)

    def _update_actions(self) -> None:
        photo_actions = (self.save_action, self.save_as_action, self.export_action, self.draw_action)
        for act in (*photo_actions, self.repair_action, self.fill_action, self.clear_scratches_action):
            act.setEnabled(self.document is not None)
        self.export_video_action.setEnabled(self.video_export.available)

    # -- the photo (shown and edited by the editor) ----------------------------------------------------------
    @property
    def document(self) -> EditSession | None:
        """The open photo's editing session."""
        return self.editor.session

    @property
    def fidelity(self) -> float:
        return self.editor.fidelity

    @property
    def rendering(self) -> bool:
        return self.editor.rendering

    @property
    def busy(self) -> bool:
        return self.editor.busy

    def render_now(self) -> None:
        self.editor.render_now()

    def add_face_in_box(self, box: tuple[float, float, float, float]) -> None:
        self.editor.add_face_in_box(box)

    # -- engine ----------------------------------------------------------------------------------------------
    def start_engine(self) -> None:
        """Load the networks in the background (PyTorch is imported there, after the window is shown)."""
        self._show_status("Loading the networks…")
        self.host.load(engine_choices(self.settings, self.weights))

    def _engine_ready(self) -> None:
        engine = self.host.engine
        device = engine.model.position_emb.device if engine is not None else "?"
        notes = f" Note: {'; '.join(engine.warnings)}." if engine is not None and engine.warnings else ""
        self._show_status(f"Ready ({device}). Drop a photo or a video onto the window, or use File ▸ Open.{notes}")
        self.status_label.setToolTip(notes.strip())  # stays readable after the status line moves on
        self._ensure_batch_panel()
        pending, self._pending_open = self._pending_open, None
        doc = self.document
        stale = doc is not None and engine is not None and doc.analysed.encodings.model is not engine.model
        if pending is None and stale and self.video.is_open:
            self.video.reload()  # new networks: the video's frame is analysed again with them
        elif pending is None and stale:
            # New networks (device, detector ... changed): the open photo is analysed again with them.
            pending = OpenRequest(doc.analysed.photo, doc.source, doc.name)
        if pending is not None:
            self._start_open(pending)
        self._update_actions()

    def _engine_failed(self, error: Exception) -> None:
        from ..weights import WeightsMissingError

        if isinstance(error, WeightsMissingError):
            self._show_status("CodeFormer's weights are needed: download or import them in Tools ▸ Models.")
            self.show_model_manager()
            if self.model_manager is not None:
                self.model_manager.show_missing(str(error))
        else:
            self._show_status("The networks could not be loaded.")
            show_error(self, "Could not load the networks", error)

    def _weights_changed(self) -> None:
        """Weights were downloaded or imported: load again, so that new optional networks are used too."""
        if not self.host.loading:
            self.start_engine()

    # -- opening ---------------------------------------------------------------------------------------------
    def choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo or video", self.settings.open_folder, OPEN_FILTER)
        if path:
            self.open_paths([Path(path)])

    def open_paths(self, paths: list[Path]) -> None:
        """Files open in the editor (the first of several); a folder goes to the batch panel."""
        folders = [p for p in paths if p.is_dir()]
        files = [p for p in paths if not p.is_dir()]
        if folders:
            self.show_batch()
            if self.batch_panel is not None:
                self.batch_panel.set_input_folder(folders[0])
            else:
                self._pending_batch_folder = folders[0]
        if files:
            self.open_photo(files[0])
            if len(files) > 1:
                self._show_status(f"{len(files)} files dropped: {files[0].name} is opening; use Batch for many.")

    def open_photo(self, path: Path) -> None:
        self._start_open(OpenRequest(path, path, path.name))

    def paste_image(self) -> None:
        image = QApplication.clipboard().image()
        if image.isNull():
            self._show_status("The clipboard holds no image.")
            return
        self.open_image(image)

    def open_image(self, image: QImage) -> None:
        """An image that is not a file (pasted, or dropped from another program)."""
        from ..imaging import photo_from_pixels
        from .qimages import qimage_to_bgr

        color, alpha = qimage_to_bgr(image)
        self._start_open(OpenRequest(photo_from_pixels(color, alpha, PASTED_NAME), None, PASTED_NAME))

    def _start_open(self, request: OpenRequest) -> None:
        """Open in the background; a newer open makes an older one quit and its result be dropped."""
        self.tasks.cancel(OPEN)
        if self.host.engine is None:
            self._pending_open = request
            self._show_status("The photo opens as soon as the networks are loaded…")
            if not self.host.loading:
                self.start_engine()
            return
        if request.path is not None and request.source == request.path and is_video_name(request.path):
            self.video.open(request.path)  # its first frame, as a photo (video_frames.py)
            return
        from ..detection import DetectionOptions
        from .tasks import open_task

        self.editor.run(
            OPEN,
            "Opening",
            open_task,
            request.source,
            self.host.engine,
            self.host.lock,
            DetectionOptions(),
            on_done=lambda opened: self._opened(request, opened),
            error_title=f"Could not open {request.name}",
            kind=TaskKind.LATEST,
        )

    def _opened(self, request: OpenRequest, opened: OpenedPhoto) -> None:
        self.video.close_video()
        self._remember(request.path, request.name)
        self.editor.show_photo(opened, request.path, request.name)
        self._update_actions()

    def _video_opened(self, new: bool) -> None:
        if new and self.video.path is not None:
            self._remember(self.video.path, self.video.path.name)
        self._update_actions()

    def _remember(self, path: Path | None, name: str) -> None:
        """A file opened: in the recent files and the title, the Photo tab shown."""
        if path is not None:
            recent = self.settings.with_recent(path).recent_files
            self.settings = update_settings(recent_files=recent, open_folder=str(path.parent))
            self.rebuild_recent_menu()
        self.setWindowTitle(f"{name} — {APP_TITLE}")
        self.tabs.setCurrentIndex(0)

    def rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for name in self.settings.recent_files:
            act = self.recent_menu.addAction(name)
            act.triggered.connect(lambda _=False, p=name: self.open_photo(Path(p)))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    # -- saving (window_saving.py) ------------------------------------------------------------------------
    def save_to(self, path: Path) -> None:
        window_saving.save_to(self, path)

    def export_faces(self, folder: Path) -> None:
        self.editor.export_faces(folder)

    # -- other panels ----------------------------------------------------------------------------------------
    def _ensure_batch_panel(self) -> None:
        if self.batch_panel is not None:
            return
        from .batch_panel import BatchPanel

        self.batch_panel = BatchPanel(self.host, self.settings, tasks=self.tasks)
        index = self.tabs.indexOf(self.batch_placeholder)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, self.batch_panel, "Batch")
        folder, self._pending_batch_folder = self._pending_batch_folder, None
        if folder is not None:
            self.batch_panel.set_input_folder(folder)

    def show_batch(self) -> None:
        if self.host.engine is not None:
            self._ensure_batch_panel()
        self.tabs.setCurrentIndex(1)

    def show_model_manager(self) -> None:
        if self.model_manager is None:
            from .model_manager import ModelManagerDialog

            self.model_manager = ModelManagerDialog(self, tasks=self.tasks)
            self.model_manager.weights_changed.connect(self._weights_changed)
        self.model_manager.show()
        self.model_manager.raise_()

    def show_settings(self) -> None:
        from .settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        dialog.accepted.connect(lambda: self.apply_settings(dialog.result_settings()))
        dialog.open()

    def apply_settings(self, settings: AppSettings) -> None:
        """Keep the new settings; the networks are rebuilt only when a choice that shapes them changed."""
        reload = engine_choices(settings, self.weights) != engine_choices(self.settings, self.weights)
        chosen = {name: getattr(settings, name) for name in DIALOG_FIELDS}
        if settings.fidelity != self.settings.fidelity:
            self.editor.set_fidelity(settings.fidelity)
        self.settings = update_settings(**chosen)
        if reload:
            self.start_engine()

    def set_view_mode(self, mode: ViewMode) -> None:
        for other, act in self.mode_actions.items():
            act.setChecked(other is mode)
        self.viewer.set_mode(mode)

    def toggle_before_after(self) -> None:
        self.set_view_mode(ViewMode.AFTER if self.viewer.mode is ViewMode.BEFORE else ViewMode.BEFORE)

    # -- status bar, drops, closing --------------------------------------------------------------------------
    def _task_progress(self, progress: Progress) -> None:
        self.status_label.setText(progress.text)
        self.progress.setVisible(True)
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)

    def _task_ended(self, _name: str) -> None:
        if not self.busy:
            self.progress.setVisible(False)
        self._update_actions()

    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        if paths:
            self.open_paths(paths)
        elif mime.hasImage():
            self.open_image(mime.imageData())
        elif mime.hasUrls():
            self._show_status("Only files on this computer can be opened; save the image first, then drop it.")
        event.acceptProposedAction()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Writers (save, export, batch, video export, download, import) finish first (``window_closing``);
        then every task is stopped and its results dropped before the widgets go."""
        if window_closing.must_wait(self):
            event.ignore()
            return
        update_settings(fidelity=self.fidelity)  # the last slider position is the next photo's default
        self.tasks.close()
        super().closeEvent(event)
