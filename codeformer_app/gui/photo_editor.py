"""The Photo tab: the before/after view, the fidelity and blend sliders and the face list over one
:class:`EditSession`.

The views are thin: they show the session and turn the user's edits into session changes and render requests.
All work runs on the window's :class:`TaskRunner`, whose results are applied here on the GUI thread. The one
exception is the instant slider preview: a mix of each face's background anchor renders, composed here (no
network), so a slider move shows within a frame while the exact render follows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from .engine_host import EngineHost
from .face_list import FaceList
from .messages import show_error
from .photo_controls import SLIDER_STEPS, PhotoControls
from .session import EditSession
from .task_runner import TaskKind, TaskRunner
from .viewer import CompareView, FaceBox

if TYPE_CHECKING:
    from ..imaging import WriteResult
    from ..pipeline.likeness import IdentityCheck
    from .quick_preview import FaceLayer
    from .tasks import FoundFace, OpenedPhoto, PreviewLook, RenderOutput

#: Quiet time after the last slider move before a render starts (the newest value wins).
RENDER_DEBOUNCE_MS = 120
#: Task names on the window's runner.
OPEN, RENDER, SAVE, EXPORT, FIND_FACE, ANCHORS = "open", "render", "save", "export", "find-face", "anchors"
FILL, LOAD_INPAINTER = "fill-scratches", "inpainter"
PHOTO_TASKS = (OPEN, RENDER, SAVE, EXPORT, FIND_FACE, ANCHORS, FILL, LOAD_INPAINTER)
NO_IDENTITY = "the identity network (dlib) is not installed, so likeness cannot be measured"


class PhotoEditor(QWidget):
    """Shows the session; ``status`` and ``progress`` go to the window's status bar."""

    status = Signal(str)
    progress = Signal(object)
    """A ``tasks.Progress``."""

    def __init__(self, tasks: TaskRunner, host: EngineHost, fidelity: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.host = host
        self.session: EditSession | None = None
        self._build(fidelity)
        tasks.task_ended.connect(self._task_ended)
        host.ready.connect(self._engine_ready)

    def _build(self, fidelity: float) -> None:
        self.viewer = CompareView()
        self.viewer.face_clicked.connect(self._face_clicked)
        self.viewer.box_drawn.connect(self.add_face_in_box)
        self.controls = PhotoControls(fidelity)
        self.slider, self.blend_slider, self.auto_box = (
            self.controls.slider,
            self.controls.blend_slider,
            self.controls.auto,
        )
        self.slider.valueChanged.connect(self._slider_moved)
        self.blend_slider.valueChanged.connect(self._slider_moved)
        self.auto_box.toggled.connect(lambda _on: self.request_render())
        self.face_list = FaceList()
        self.face_list.include_toggled.connect(self.set_face_included)
        self.face_list.fidelity_set.connect(self.set_face_fidelity)
        self.face_list.blend_set.connect(self.set_face_blend)
        self.face_list.face_selected.connect(lambda face_id: self.viewer.set_boxes(self.viewer.boxes, face_id))
        self.faces_label = QLabel("No photo open")

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.controls)
        side_layout.addSpacing(8)
        side_layout.addWidget(self.faces_label)
        side_layout.addWidget(self.face_list, 1)
        side.setMinimumWidth(280)
        splitter = QSplitter()
        splitter.addWidget(self.viewer)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([960, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # --- state ---

    @property
    def fidelity(self) -> float:
        return self.controls.fidelity

    @property
    def blend(self) -> float:
        return self.controls.blend

    @property
    def automatic(self) -> bool:
        return self.controls.automatic

    def set_fidelity(self, fidelity: float) -> None:
        self.slider.setValue(round(fidelity * SLIDER_STEPS))

    @property
    def rendering(self) -> bool:
        """A render is waiting for the slider to rest, or running."""
        return self.tasks.pending(RENDER) or self.tasks.running(RENDER)

    @property
    def busy(self) -> bool:
        """A render is pending or running, or another photo task (open, save, export, marking a face) is."""
        return self.tasks.pending(RENDER) or self.tasks.running(*PHOTO_TASKS)

    # --- the photo and its faces ---

    def show_photo(self, opened: OpenedPhoto, source: Path | None, name: str, keep_view: bool = False) -> None:
        """A newly analysed photo becomes the session; its faces are rendered at once. ``keep_view``: another
        frame of the same video, shown with the zoom and pan the user chose."""
        self.tasks.cancel(RENDER)
        self.tasks.cancel(ANCHORS)
        self.session = EditSession(opened.analysed, source, name)
        self.viewer.set_images(opened.image, keep_view=keep_view)
        self.face_list.clear_faces()
        for face_id, thumb in enumerate(opened.face_thumbs):
            self.face_list.add_face(face_id, thumb, self.fidelity)
        self._refresh_faces()
        if self.session.face_count == 0:
            self.status.emit(f"{name}: no faces found. Mark one with Faces ▸ Mark a missed face.")
        self.render_now()

    def _engine_ready(self) -> None:
        engine = self.host.engine
        self.controls.set_auto_available(None if engine is not None and engine.identity is not None else NO_IDENTITY)

    def _slider_moved(self, _value: int) -> None:
        self.show_quick_preview()
        self.request_render()

    def set_face_included(self, face_id: int, included: bool) -> None:
        if self.session is not None:
            self.session.set_included(face_id, included)
            self._refresh_faces()
            self.request_render()

    def set_face_fidelity(self, face_id: int, fidelity: float | None) -> None:
        if self.session is not None:
            self.session.set_fidelity(face_id, fidelity)
            self.request_render()

    def set_face_blend(self, face_id: int, blend: float | None) -> None:
        if self.session is not None:
            self.session.set_blend(face_id, blend)
            self.show_quick_preview()
            self.request_render()

    def _refresh_faces(self) -> None:
        session = self.session
        if session is None:
            return
        boxes = [
            FaceBox(face.id, QRectF(*_xywh(session.box(face.id))), face.included) for face in session.faces.values()
        ]
        self.viewer.set_boxes(boxes, self.viewer.selected)
        self.faces_label.setText(f"<b>Faces</b>: {session.face_count} found, {len(session.included())} restored")

    def _face_clicked(self, face_id: int) -> None:
        self.face_list.select(face_id)

    def start_drawing_box(self) -> None:
        if self.session is not None:
            self.viewer.set_drawing(True)
            self.status.emit("Drag a box around the face the detector missed.")

    def add_face_in_box(self, box: tuple[float, float, float, float]) -> None:
        session, engine = self.session, self.host.engine
        if session is None or engine is None:
            return
        from .tasks import find_face_task

        self.run(
            FIND_FACE,
            "Finding the face",
            find_face_task,
            session.analysed,
            box,
            engine,
            self.host.lock,
            on_done=lambda found: self._face_found(session, found),
            error_title="No face added",
            kind=TaskKind.PARALLEL,
        )

    def _face_found(self, session: EditSession, found: FoundFace) -> None:
        if session is not self.session:
            return
        face_id = session.add_face(found.face)
        self.face_list.add_face(face_id, found.thumb, self.fidelity)
        self._refresh_faces()
        self.face_list.select(face_id)
        self.status.emit(f"Face {face_id + 1} added.")
        self.render_now()

    # --- rendering ---

    def request_render(self) -> None:
        """Render soon: each new request restarts the wait, so only the newest setting is rendered; a render
        still running for an older setting is stopped now and its result dropped."""
        if self.session is not None:
            self.tasks.debounce(RENDER, RENDER_DEBOUNCE_MS, self.render_now)
            self.viewer.set_busy("Rendering…")

    def _look(self) -> PreviewLook:
        from ..pipeline.paste import DEFAULT_FEATHER
        from .tasks import PreviewLook

        assert self.session is not None
        return PreviewLook(DEFAULT_FEATHER, self.blend, self.session.blends(), self.session.repairs())

    def _check(self) -> IdentityCheck | None:
        return self.host.engine.identity if self.host.engine is not None else None

    def show_quick_preview(self) -> None:
        """At once, without the network: each face mixed from its two nearest anchor renders, blended into
        the photo (``quick_preview``) and shown labelled "Preview" until the exact render replaces it."""
        session = self.session
        if session is None:
            return
        fidelities = session.quick_fidelities(self.fidelity, self.automatic)
        if fidelities is None:
            return  # the layers are not ready yet: the exact render comes soon anyway
        from ..pipeline.paste import DEFAULT_FEATHER
        from .qimages import bgr_to_qimage
        from .quick_preview import quick_compose
        from .tasks import paste_repairs

        layers = {face_id: session.faces[face_id].layer for face_id in fidelities}
        blends = {face_id: self.blend for face_id in fidelities} | session.blends()
        image = quick_compose(session.analysed.photo.color, layers, fidelities, blends)
        paste_repairs(image, session.analysed, session.repairs(), 1.0, DEFAULT_FEATHER)
        self.viewer.set_after(bgr_to_qimage(image), preview=True)

    def render_now(self) -> None:
        """Render the newest settings; a render already running is told to stop and its result is dropped."""
        session = self.session
        if session is None:
            return
        from .tasks import preview_task

        fidelity, auto = self.fidelity, self.automatic
        check = self._check()

        def done(output: RenderOutput) -> None:
            if session is not self.session:
                return
            session.apply_render(output.rendered, output.preview)
            self.viewer.set_after(output.image)
            threshold = check.threshold if check is not None else None
            for face_id, face in output.rendered.items():
                self.face_list.set_after(face_id, output.thumbs[face_id])
                self.face_list.set_result(face_id, face.fidelity, face.auto, face.identity, threshold)
            label = "Automatic fidelity" if auto else f"Fidelity {fidelity:.2f}"
            self.status.emit(f"{label}: {len(session.included())} face(s) restored.")
            self._prepare_anchors(session)

        self.tasks.start(
            RENDER,
            preview_task,
            session.analysed,
            session.to_render(fidelity, auto),
            session.reusable(fidelity, auto),
            self._look(),
            self.host.lock,
            check,
            on_progress=self.progress.emit,
            on_done=done,
            on_error=lambda error: show_error(self, "Rendering failed", error),
        )
        self.viewer.set_busy("Rendering…")

    def _prepare_anchors(self, session: EditSession) -> None:
        """Render, in the background, the anchors of the faces that have none yet (for the quick preview)."""
        missing = [face.id for face in session.faces.values() if face.included and face.layer is None]
        if not missing or self.tasks.running(ANCHORS):
            return
        from ..pipeline.paste import DEFAULT_FEATHER
        from .tasks import anchors_task

        def done(layers: dict[int, FaceLayer]) -> None:
            if session is self.session:
                session.apply_layers(layers)

        self.tasks.start(
            ANCHORS,
            anchors_task,
            session.analysed,
            missing,
            DEFAULT_FEATHER,
            self.host.lock,
            on_progress=self.progress.emit,
            on_done=done,
            on_error=lambda error: show_error(self, "Preparing the quick preview failed", error),
        )

    def _task_ended(self, name: str) -> None:
        if name == RENDER and not self.rendering:
            self.viewer.set_busy("")

    # --- writing files ---

    def save(self, path: Path, fmt: str | None, quality: int | None, upscale: int, on_saved: Callable) -> None:
        """Write the restored photo at full quality (upscale, ParseNet mask when installed), atomically."""
        session, engine = self.session, self.host.engine
        if session is None or engine is None:
            return
        from ..pipeline.paste import DEFAULT_FEATHER
        from ..pipeline.photo import ComposeOptions
        from .tasks import save_task

        fidelity, auto = self.fidelity, self.automatic

        def done(result: WriteResult) -> None:
            session.saved_to = path
            on_saved(result)

        self.run(
            SAVE,
            f"Saving {path.name}",
            save_task,
            session.analysed,
            session.to_render(fidelity, auto),
            session.reusable(fidelity, auto),
            path,
            fmt,
            quality,
            ComposeOptions(upscale=upscale, feather=DEFAULT_FEATHER, blend=self.blend),
            session.blends(),
            session.repairs(),
            engine,
            self.host.lock,
            on_done=done,
            error_title=f"Could not save {path.name}",
            kind=TaskKind.WRITER,
        )

    def export_faces(self, folder: Path) -> None:
        """Each included face's restored crop as a PNG in ``folder``."""
        session = self.session
        if session is None:
            return
        from .tasks import export_crops_task

        fidelity, auto = self.fidelity, self.automatic
        self.run(
            EXPORT,
            "Exporting faces",
            export_crops_task,
            session.analysed,
            session.to_render(fidelity, auto),
            session.reusable(fidelity, auto),
            folder,
            Path(session.name).stem,
            self.host.lock,
            self._check(),
            on_done=lambda paths: self.status.emit(f"Exported {len(paths)} face(s) to {folder}"),
            error_title="Could not export the faces",
            kind=TaskKind.WRITER,
        )

    def run(
        self,
        name: str,
        label: str,
        task: Callable,
        *args: Any,
        on_done: Callable[[Any], None],
        error_title: str,
        kind: TaskKind,
    ) -> None:
        """A photo task with its progress in the status bar and its errors in a dialog."""
        self.status.emit(f"{label}…")

        def failed(error: Exception) -> None:
            self.status.emit(error_title)
            show_error(self, error_title, error)

        self.tasks.start(name, task, *args, on_progress=self.progress.emit, on_done=on_done, on_error=failed, kind=kind)


def _xywh(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box
    return x0, y0, x1 - x0, y1 - y0
