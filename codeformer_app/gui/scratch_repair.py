"""Faces ▸ Repair scratches (issue #16, point 3): brush over scratches on the view, then Fill: the inpainting
network fills the painted holes face by face and the fills are pasted over the restored photo (preview and
Save). The inpainting weights are a separate file, chosen in Tools ▸ Settings and loaded on first use."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from .messages import show_error
from .photo_editor import FILL, LOAD_INPAINTER, PhotoEditor
from .task_runner import TaskKind

if TYPE_CHECKING:
    import numpy as np

    from ..networks.codeformer import CodeFormer
    from .session import EditSession, Repair

NO_INPAINTING_WEIGHTS = (
    "Repairing scratches needs CodeFormer's inpainting network, a separate weights file: download "
    "codeformer_inpainting.pth (from the CodeFormer releases) or import it, then choose it in "
    "Tools ▸ Settings ▸ Inpainting weights."
)
BRUSH_HINT = "Paint over the scratches on a face (the wheel sets the brush, {size:.0f} px); then Faces ▸ Fill (F)."


class ScratchRepair(QObject):
    """The brush mode of one window's Photo tab and its Fill."""

    def __init__(self, editor: PhotoEditor, weights: Callable[[], str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self._weights = weights
        """The inpainting weights path from the settings ("" when none is set)."""
        editor.viewer.brush_changed.connect(lambda size: editor.status.emit(BRUSH_HINT.format(size=size)))

    def set_brushing(self, on: bool) -> None:
        viewer = self.editor.viewer
        viewer.set_brushing(on and self.editor.session is not None)
        if viewer.brushing:
            viewer.setFocus()
            self.editor.status.emit(BRUSH_HINT.format(size=viewer.brush))

    def clear(self) -> None:
        self.editor.viewer.clear_scratches()

    def fill(self) -> None:
        """Fill what the brush painted; the inpainting network is loaded first if it is not yet."""
        editor, host = self.editor, self.editor.host
        mask = editor.viewer.scratch_mask()
        if editor.session is None or host.engine is None:
            return
        if mask is None:
            editor.status.emit("Paint over the scratches first (Faces ▸ Repair scratches, R).")
            return
        if host.inpainter is not None:
            self._fill(editor.session, mask, host.inpainter)
            return
        path = self._weights()
        if not path:
            show_error(editor, "Inpainting weights needed", NO_INPAINTING_WEIGHTS)
            return
        from .scratch_tasks import load_inpainter_task

        session = editor.session

        def loaded(model: CodeFormer) -> None:
            host.inpainter = model
            if session is editor.session:
                self._fill(session, mask, model)

        device = host.engine.model.position_emb.device
        editor.run(
            LOAD_INPAINTER,
            "Loading the inpainting network",
            load_inpainter_task,
            Path(path),
            device,
            on_done=loaded,
            error_title="Could not load the inpainting network",
            kind=TaskKind.LATEST,
        )

    def _fill(self, session: EditSession, mask: np.ndarray, inpainter: CodeFormer) -> None:
        from .scratch_tasks import fill_task

        def filled(repairs: dict[int, Repair]) -> None:
            if session is not self.editor.session:
                return
            session.apply_repairs(repairs)
            self.editor.viewer.clear_scratches()
            self.editor.status.emit(f"Scratches filled on {len(repairs)} face(s).")
            self.editor.render_now()

        self.editor.run(
            FILL,
            "Filling the scratches",
            fill_task,
            session.analysed,
            mask,
            inpainter,
            self.editor.host.lock,
            on_done=filled,
            error_title="Could not fill the scratches",
            kind=TaskKind.LATEST,
        )
