"""The main window: open a photo, watch its faces restored, tune the fidelity (per photo or per face), save.

Only Qt and light modules are imported at the top, so the window appears before PyTorch is loaded; the core
arrives with the engine (in a worker) and is imported here inside methods once it is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSlider,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from . import save_formats
from .document import PhotoDocument, suggested_output
from .engine_host import EngineHost
from .face_list import FaceList
from .messages import show_error
from .settings import DIALOG_FIELDS, AppSettings, update_settings
from .viewer import CompareView, FaceBox, ViewMode
from .workers import start_task

if TYPE_CHECKING:
    from superqt.utils import GeneratorWorker

    from ..imaging import Photo
    from .batch_panel import BatchPanel
    from .model_manager import ModelManagerDialog
    from .tasks import AddedFace, OpenedPhoto, Progress, RenderOutput

APP_TITLE = "CodeFormer App"
#: The name an image pasted from the clipboard goes by (and is saved under, with -restored).
PASTED_NAME = "pasted.png"
#: Slider positions per unit of fidelity (the slider is an integer widget).
SLIDER_STEPS = 100
#: Quiet time after the last slider move before a render starts (the newest value wins).
RENDER_DEBOUNCE_MS = 120
OPEN_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp);;All files (*)"


@dataclass(frozen=True)
class OpenRequest:
    source: Path | Photo
    """A file, or a photo already in memory (pasted, or the open photo analysed again)."""
    path: Path | None
    """The file it came from, if any."""
    name: str


def _engine_choices(settings: AppSettings, weights: Path | None) -> dict[str, Any]:
    """``EngineSpec`` fields from the settings, as plain values (see ``EngineHost.load``)."""
    return {
        "weights": weights,
        "device": settings.device,
        "detector": settings.detector,
        "parsing": settings.parsing,
        "upscaler": True,  # when installed: a save or a batch may ask for 2-4x whatever the settings say
        "threads": settings.thread_count(),
    }


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, weights: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.weights = weights
        self.document: PhotoDocument | None = None
        self.host = EngineHost(self)
        self.rendering = False
        self._pending_open: OpenRequest | None = None
        self._pending_batch_folder: Path | None = None
        self._open_worker: GeneratorWorker | None = None
        self._open_generation = 0
        self._close_when_idle = False
        self._render_worker: GeneratorWorker | None = None
        self._render_generation = 0
        self._busy_workers: set[GeneratorWorker] = set()
        self._writers: set[GeneratorWorker] = set()
        self.batch_panel: BatchPanel | None = None
        self.model_manager: ModelManagerDialog | None = None

        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._build_widgets()
        self._build_actions()
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(RENDER_DEBOUNCE_MS)
        self._render_timer.timeout.connect(self.render_now)
        self.host.status.connect(self._show_status)
        self.host.ready.connect(self._engine_ready)
        self.host.failed.connect(self._engine_failed)
        self._update_actions()

    # -- layout ----------------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.viewer = CompareView()
        self.viewer.face_clicked.connect(self._face_clicked)
        self.viewer.box_drawn.connect(self.add_face_in_box)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("fidelitySlider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(round(self.settings.fidelity * SLIDER_STEPS))
        self.slider.setToolTip("0 = strongest restoration · 1 = closest to the input")
        self.slider.valueChanged.connect(self._slider_moved)
        self.fidelity_label = QLabel()
        self.fidelity_label.setObjectName("fidelityLabel")
        self._slider_moved(self.slider.value(), schedule=False)
        hint = QLabel("0 = strongest restoration · 1 = closest to the input")
        hint.setStyleSheet("color: gray; font-size: 11px;")

        self.face_list = FaceList()
        self.face_list.include_toggled.connect(self.set_face_included)
        self.face_list.fidelity_set.connect(self.set_face_fidelity)
        self.face_list.face_selected.connect(self._face_selected)
        self.faces_label = QLabel("No photo open")

        side = QWidget()
        side_layout = QVBoxLayout(side)
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Fidelity</b>"))
        row.addStretch(1)
        row.addWidget(self.fidelity_label)
        side_layout.addLayout(row)
        side_layout.addWidget(self.slider)
        side_layout.addWidget(hint)
        side_layout.addSpacing(8)
        side_layout.addWidget(self.faces_label)
        side_layout.addWidget(self.face_list, 1)
        side.setMinimumWidth(280)

        splitter = QSplitter()
        splitter.addWidget(self.viewer)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([960, 300])

        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.addTab(splitter, "Photo")
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

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut: QKeySequence | str | None = None, name: str = "") -> QAction:
            act = QAction(text, self)
            act.setObjectName(name or text)
            act.triggered.connect(slot)
            if shortcut is not None:
                act.setShortcut(shortcut)
            return act

        self.open_action = action("&Open…", self.choose_photo, QKeySequence.StandardKey.Open, "openAction")
        self.paste_action = action("&Paste image", self.paste_image, QKeySequence.StandardKey.Paste, "pasteAction")
        self.save_action = action("&Save", self.save, QKeySequence.StandardKey.Save, "saveAction")
        self.save_as_action = action("Save &As…", self.choose_save_path, QKeySequence.StandardKey.SaveAs, "saveAs")
        self.export_action = action("&Export restored faces…", self.choose_export_folder, None, "exportAction")
        quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit, "quitAction")
        self.fit_action = action("&Fit", self.viewer.fit, "Ctrl+0", "fitAction")
        self.actual_action = action("&100%", self.viewer.actual_size, "Ctrl+1", "actualAction")
        self.zoom_in_action = action("Zoom &in", lambda: self.viewer.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self.zoom_out_action = action("Zoom &out", lambda: self.viewer.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self.mode_actions = {
            mode: action(label, lambda _=False, m=mode: self.set_view_mode(m), key, f"{mode}Action")
            for mode, label, key in (
                (ViewMode.SPLIT, "&Split before/after", "S"),
                (ViewMode.BEFORE, "&Before", "B"),
                (ViewMode.AFTER, "&After", "A"),
            )
        }
        for act in self.mode_actions.values():
            act.setCheckable(True)
        view_keys = [*self.mode_actions.values()]
        self.mode_actions[ViewMode.SPLIT].setChecked(True)
        self.toggle_action = action("&Toggle before/after", self.toggle_before_after, "Space", "toggleAction")
        self.draw_action = action("&Mark a missed face…", self.start_drawing_box, "D", "drawAction")
        # Single keys act only while the photo view has the focus: elsewhere they are typing or ticking boxes.
        for act in [*view_keys, self.toggle_action, self.draw_action]:
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.viewer.addAction(act)
        self.models_action = action("&Models…", self.show_model_manager, None, "modelsAction")
        self.settings_action = action("&Settings…", self.show_settings, QKeySequence.StandardKey.Preferences)
        self.batch_action = action("&Batch folder…", self.show_batch, None, "batchAction")

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addActions([self.open_action, self.paste_action])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.save_as_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        view_menu = menus.addMenu("&View")
        view_menu.addActions([self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action])
        view_menu.addSeparator()
        view_menu.addActions([*self.mode_actions.values(), self.toggle_action])
        faces_menu = menus.addMenu("F&aces")
        faces_menu.addAction(self.draw_action)
        tools_menu = menus.addMenu("&Tools")
        tools_menu.addActions([self.batch_action, self.models_action, self.settings_action])

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.addActions([self.open_action, self.save_action, self.save_as_action])
        toolbar.addSeparator()
        toolbar.addActions([self.fit_action, self.actual_action, *self.mode_actions.values()])
        toolbar.addSeparator()
        toolbar.addActions([self.draw_action, self.batch_action, self.models_action])
        self._rebuild_recent_menu()

    def _update_actions(self) -> None:
        has_photo = self.document is not None
        for act in (self.save_action, self.save_as_action, self.export_action, self.draw_action):
            act.setEnabled(has_photo)

    # -- engine ----------------------------------------------------------------------------------------------
    def start_engine(self) -> None:
        """Load the networks in the background (PyTorch is imported there, after the window is shown)."""
        self._show_status("Loading the networks…")
        self.host.load(**_engine_choices(self.settings, self.weights))

    def _engine_ready(self) -> None:
        engine = self.host.engine
        device = engine.model.position_emb.device if engine is not None else "?"
        self._show_status(f"Ready ({device}). Drop a photo onto the window, or use File ▸ Open.")
        self._ensure_batch_panel()
        pending, self._pending_open = self._pending_open, None
        doc = self.document
        stale = doc is not None and engine is not None and doc.analysed.encodings.model is not engine.model
        if pending is None and stale:
            # New networks (device, detector ... changed): the open photo is analysed again with them.
            pending = OpenRequest(doc.analysed.photo, doc.source, doc.name)
        if pending is not None:
            self._start_open(pending)

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
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", self.settings.open_folder, OPEN_FILTER)
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
        """Open in the background; a newer open makes an older one's result be dropped."""
        self._open_generation += 1
        generation = self._open_generation
        if self._open_worker is not None:
            self._open_worker.quit()
            self._open_worker = None
        if self.host.engine is None:
            self._pending_open = request
            self._show_status("The photo opens as soon as the networks are loaded…")
            if not self.host.loading:
                self.start_engine()
            return
        from ..detection import DetectionOptions
        from .tasks import open_task

        def opened(result: OpenedPhoto) -> None:
            if generation == self._open_generation:
                self._opened(request, result)

        self._open_worker = self._run(
            "Opening",
            open_task,
            request.source,
            self.host.engine,
            self.host.lock,
            DetectionOptions(),
            on_done=opened,
            error_title=f"Could not open {request.name}",
        )

    def _opened(self, request: OpenRequest, opened: OpenedPhoto) -> None:
        self._open_worker = None
        path, name = request.path, request.name
        if path is not None:
            recent = self.settings.with_recent(path).recent_files
            self.settings = update_settings(recent_files=recent, open_folder=str(path.parent))
            self._rebuild_recent_menu()
        self._cancel_render()
        self.document = PhotoDocument(opened.analysed, path, name)
        self.setWindowTitle(f"{name} — {APP_TITLE}")
        self.viewer.set_images(opened.image)
        self.face_list.clear_faces()
        for thumb in opened.face_thumbs:
            self.face_list.add_face(thumb, self.fidelity)
        self._refresh_faces()
        self._update_actions()
        self.tabs.setCurrentIndex(0)
        if self.document.face_count == 0:
            self._show_status(f"{name}: no faces found. Mark one with Faces ▸ Mark a missed face.")
        self.render_now()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for name in self.settings.recent_files:
            act = self.recent_menu.addAction(name)
            act.triggered.connect(lambda _=False, p=name: self.open_photo(Path(p)))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    # -- fidelity and faces ----------------------------------------------------------------------------------
    @property
    def fidelity(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def _slider_moved(self, value: int, schedule: bool = True) -> None:
        self.fidelity_label.setText(f"{value / SLIDER_STEPS:.2f}")
        if schedule:
            self.request_render()

    def set_face_included(self, index: int, included: bool) -> None:
        if self.document is not None:
            self.document.choices[index].included = included
            self._refresh_faces()
            self.request_render()

    def set_face_fidelity(self, index: int, fidelity: float | None) -> None:
        if self.document is not None:
            self.document.choices[index].fidelity = fidelity
            self.request_render()

    def _refresh_faces(self) -> None:
        doc = self.document
        if doc is None:
            return
        shown = min(len(doc.analysed.faces), len(doc.choices))  # a face being added has no choice yet
        boxes = [
            FaceBox(QRectF(*_xywh(face.detected.box)), choice.included)
            for face, choice in zip(doc.analysed.faces[:shown], doc.choices[:shown], strict=True)
        ]
        self.viewer.set_boxes(boxes, self.viewer.selected)
        included = len(doc.included())
        self.faces_label.setText(f"<b>Faces</b>: {shown} found, {included} restored")

    def _face_clicked(self, index: int) -> None:
        self.face_list.setCurrentRow(index)

    def _face_selected(self, index: int) -> None:
        self.viewer.set_boxes(self.viewer.boxes, index)

    def start_drawing_box(self) -> None:
        if self.document is not None:
            self.viewer.set_drawing(True)
            self._show_status("Drag a box around the face the detector missed.")

    def add_face_in_box(self, box: tuple[float, float, float, float]) -> None:
        doc, engine = self.document, self.host.engine
        if doc is None or engine is None:
            return
        from .tasks import add_face_task

        self._run(
            "Finding the face",
            add_face_task,
            doc.analysed,
            box,
            engine,
            self.host.lock,
            on_done=lambda added: self._face_added(doc, added),
            error_title="No face added",
        )

    def _face_added(self, doc: PhotoDocument, added: AddedFace) -> None:
        if doc is not self.document:
            return
        doc.sync_choices()
        while self.face_list.count() <= added.index:
            self.face_list.add_face(added.thumb, self.fidelity)
        self._refresh_faces()
        self.face_list.setCurrentRow(added.index)
        self._show_status(f"Face {added.index + 1} added.")
        self.render_now()

    # -- rendering -------------------------------------------------------------------------------------------
    def request_render(self) -> None:
        """Render soon: each new request restarts the wait, so only the newest setting is rendered; a render
        still running for an older setting is stopped now and its result dropped."""
        if self.document is not None:
            self._cancel_render()
            self._render_generation += 1
            self._render_timer.start()
            self._set_rendering(True)

    def render_now(self) -> None:
        """Render the newest settings; a render already running is told to stop and its result is dropped."""
        self._render_timer.stop()
        doc = self.document
        if doc is None:
            return
        from ..pipeline.paste import DEFAULT_FEATHER
        from .tasks import preview_task

        self._cancel_render()
        self._render_generation += 1
        generation = self._render_generation
        fidelity = self.fidelity
        self._set_rendering(True)

        def done(output: RenderOutput) -> None:
            if generation != self._render_generation or doc is not self.document:
                return
            doc.rendered.update(output.rendered)
            doc.preview = output.preview
            self.viewer.set_after(output.image)
            for index, thumb in output.thumbs.items():
                self.face_list.set_after(index, thumb)
            self._show_status(f"Fidelity {fidelity:.2f}: {len(doc.included())} face(s) restored.")

        def finished() -> None:
            if generation == self._render_generation:
                self._render_worker = None
                self._set_rendering(False)
                if not self._busy_workers:
                    self.progress.setVisible(False)

        self._render_worker = start_task(
            preview_task,
            doc.analysed,
            doc.to_render(fidelity),
            doc.reusable(fidelity),
            DEFAULT_FEATHER,
            self.host.lock,
            on_progress=self._task_progress,
            on_done=done,
            on_error=lambda error: show_error(self, "Rendering failed", error),
            on_finished=finished,
        )

    @property
    def busy(self) -> bool:
        """A render is pending or running, or another task (open, save, export, marking a face) is."""
        return (
            self.rendering
            or self._render_timer.isActive()
            or self._render_worker is not None
            or bool(self._busy_workers)
        )

    def _cancel_render(self) -> None:
        if self._render_worker is not None:
            self._render_worker.quit()
            self._render_worker = None

    def _set_rendering(self, on: bool) -> None:
        self.rendering = on
        self.viewer.set_busy("Rendering…" if on else "")

    # -- saving ----------------------------------------------------------------------------------------------
    def save(self) -> None:
        """Save where this photo was saved before; the first time, ask where (never over the original)."""
        if self.document is None:
            return
        if self.document.saved_to is None:
            self.choose_save_path()
        else:
            self.save_to(self.document.saved_to)

    def choose_save_path(self) -> None:
        doc = self.document
        if doc is None:
            return
        fmt = self.settings.output_format or None
        suffix = f".{fmt}" if fmt else None
        folder = Path(self.settings.save_folder) if self.settings.save_folder else None
        suggested = suggested_output(doc.source, doc.name, folder, suffix)
        if save_formats.format_for(suggested) is None:  # e.g. a BMP photo: offer PNG, which keeps every pixel
            suggested = suggested.with_suffix(".png")
        filters = ";;".join(save_formats.SAVE_FILTERS.values())
        chosen = save_formats.SAVE_FILTERS[save_formats.format_for(suggested) or "png"]
        path, selected = QFileDialog.getSaveFileName(self, "Save the restored photo", str(suggested), filters, chosen)
        if path:
            self.save_to(save_formats.with_format_suffix(Path(path), selected))

    def save_to(self, path: Path) -> None:
        """Write the restored photo (full quality: upscale and ParseNet mask as set) to ``path``, atomically."""
        doc, engine = self.document, self.host.engine
        if doc is None or engine is None:
            return
        if doc.source is not None and path.exists() and path.resolve() == doc.source.resolve():
            show_error(self, "Not saved", f"{path}: this is the original photo, which is never overwritten.")
            return
        fmt = save_formats.format_for(path)
        if fmt is None:
            show_error(self, "Not saved", f"{path}: choose a name ending in .png, .jpg, .webp or .tif")
            return
        from ..pipeline.paste import DEFAULT_FEATHER
        from ..pipeline.photo import ComposeOptions
        from .tasks import save_task

        fmt, quality = save_formats.write_options(fmt, doc.analysed.photo.info.format, self.settings)
        fidelity = self.fidelity
        options = ComposeOptions(upscale=self.settings.upscale, feather=DEFAULT_FEATHER)

        def done(result: Any) -> None:
            doc.saved_to = path
            self.settings = update_settings(save_folder=str(path.parent))
            notes = f" ({'; '.join(result.notes)})" if result.notes else ""
            self._show_status(f"Saved {path}{notes}")

        self._run(
            f"Saving {path.name}",
            save_task,
            doc.analysed,
            doc.to_render(fidelity),
            doc.reusable(fidelity),
            path,
            fmt,
            quality,
            options,
            engine,
            self.host.lock,
            on_done=done,
            error_title=f"Could not save {path.name}",
            writes=True,
        )

    def choose_export_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the restored faces to", self.settings.save_folder)
        if folder:
            self.export_faces(Path(folder))

    def export_faces(self, folder: Path) -> None:
        """Each included face's restored crop as a PNG in ``folder``."""
        doc = self.document
        if doc is None:
            return
        from .tasks import export_crops_task

        fidelity = self.fidelity
        self._run(
            "Exporting faces",
            export_crops_task,
            doc.analysed,
            doc.to_render(fidelity),
            doc.reusable(fidelity),
            folder,
            Path(doc.name).stem,
            self.host.lock,
            on_done=lambda paths: self._show_status(f"Exported {len(paths)} face(s) to {folder}"),
            error_title="Could not export the faces",
            writes=True,
        )

    # -- other panels ----------------------------------------------------------------------------------------
    def _ensure_batch_panel(self) -> None:
        if self.batch_panel is not None:
            return
        from .batch_panel import BatchPanel

        self.batch_panel = BatchPanel(self.host, self.settings)
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

            self.model_manager = ModelManagerDialog(self)
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
        reload = _engine_choices(settings, self.weights) != _engine_choices(self.settings, self.weights)
        chosen = {name: getattr(settings, name) for name in DIALOG_FIELDS}
        if settings.fidelity != self.settings.fidelity:
            self.slider.setValue(round(settings.fidelity * SLIDER_STEPS))
        self.settings = update_settings(**chosen)
        if reload:
            self.start_engine()

    def set_view_mode(self, mode: ViewMode) -> None:
        for other, act in self.mode_actions.items():
            act.setChecked(other is mode)
        self.viewer.set_mode(mode)

    def toggle_before_after(self) -> None:
        self.set_view_mode(ViewMode.AFTER if self.viewer.mode is ViewMode.BEFORE else ViewMode.BEFORE)

    # -- plumbing --------------------------------------------------------------------------------------------
    def _run(self, label: str, task, *args: Any, on_done, error_title: str, writes: bool = False) -> GeneratorWorker:
        """Run a task with its progress in the status bar and its errors in a dialog. ``writes``: the task
        writes files, so closing the window waits for it."""
        self._show_status(f"{label}…")

        def finished() -> None:
            self._busy_workers.discard(worker)
            self._writers.discard(worker)
            if not self._busy_workers and self._render_worker is None:
                self.progress.setVisible(False)
            if self._close_when_idle and not self._writers:
                self.close()

        worker = start_task(
            task,
            *args,
            on_progress=self._task_progress,
            on_done=on_done,
            on_error=lambda error: self._task_failed(error_title, error),
            on_finished=finished,
        )
        self._busy_workers.add(worker)
        if writes:
            self._writers.add(worker)
        return worker

    @property
    def _writing(self) -> bool:
        return bool(self._writers)

    def _task_failed(self, title: str, error: Exception) -> None:
        self._show_status(title)
        show_error(self, title, error)

    def _task_progress(self, progress: Progress) -> None:
        self.status_label.setText(progress.text)
        self.progress.setVisible(True)
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)

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
        if self.batch_panel is not None and self.batch_panel.is_running:
            event.ignore()
            answer = QMessageBox.question(
                self, "Batch running", "A batch is running. Stop it and quit? Finished files are kept."
            )
            if answer == QMessageBox.StandardButton.Yes:
                # Close for real once the batch has stopped and written its report.
                self.batch_panel.run_finished.connect(lambda _results: self.close())
                self.batch_panel.cancel()
            return
        if self._writing:
            # A save or export is writing: let it finish, then close (quitting it would lose the file).
            event.ignore()
            self._close_when_idle = True
            self._show_status("Finishing the save, then closing…")
            return
        self._cancel_render()
        for worker in list(self._busy_workers):
            worker.quit()
        if self.model_manager is not None:
            self.model_manager.cancel()  # a download keeps its .part file and resumes next time
        update_settings(fidelity=self.fidelity)  # the last slider position is the next photo's default
        super().closeEvent(event)


def _xywh(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0, y0, x1 - x0, y1 - y0
