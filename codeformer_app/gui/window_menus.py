"""The main window's actions, menus and toolbar (built once; the window keeps the actions it enables)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from . import window_saving
from .video_export import PER_FACE_NOTE
from .viewer import ViewMode

if TYPE_CHECKING:
    from .main_window import MainWindow

#: View modes: (mode, menu text, single-key shortcut).
VIEW_MODES = (
    (ViewMode.SPLIT, "&Split before/after", "S"),
    (ViewMode.BEFORE, "&Before", "B"),
    (ViewMode.AFTER, "&After", "A"),
)
ZOOM_IN_FACTOR, ZOOM_OUT_FACTOR = 1.25, 0.8


def build_menus(window: MainWindow) -> None:
    """Create the window's actions (as attributes of ``window``), its menus and its toolbar."""

    def action(text: str, slot: Callable, shortcut: QKeySequence | str | None = None, name: str = "") -> QAction:
        act = QAction(text, window)
        act.setObjectName(name or text)
        act.triggered.connect(slot)
        if shortcut is not None:
            act.setShortcut(shortcut)
        return act

    viewer, keys = window.viewer, QKeySequence.StandardKey
    window.open_action = action("&Open…", window.choose_photo, keys.Open, "openAction")
    window.paste_action = action("&Paste image", window.paste_image, keys.Paste, "pasteAction")
    window.save_action = action("&Save", lambda: window_saving.save(window), keys.Save, "saveAction")
    window.save_as_action = action("Save &As…", lambda: window_saving.choose_save_path(window), keys.SaveAs, "saveAs")
    export_faces = lambda: window_saving.choose_export_folder(window)  # noqa: E731
    window.export_action = action("&Export restored faces…", export_faces, None, "exportAction")
    window.export_video_action = action("Export &video…", window.video_export.choose, "Ctrl+E", "exportVideoAction")
    window.export_video_action.setToolTip(PER_FACE_NOTE)
    window.video_bar.export_button.setDefaultAction(window.export_video_action)
    quit_action = action("&Quit", window.close, keys.Quit, "quitAction")
    window.fit_action = action("&Fit", viewer.fit, "Ctrl+0", "fitAction")
    window.actual_action = action("&100%", viewer.actual_size, "Ctrl+1", "actualAction")
    window.zoom_in_action = action("Zoom &in", lambda: viewer.zoom_by(ZOOM_IN_FACTOR), keys.ZoomIn)
    window.zoom_out_action = action("Zoom &out", lambda: viewer.zoom_by(ZOOM_OUT_FACTOR), keys.ZoomOut)
    window.mode_actions = {
        mode: action(label, lambda _=False, m=mode: window.set_view_mode(m), key, f"{mode}Action")
        for mode, label, key in VIEW_MODES
    }
    for act in window.mode_actions.values():
        act.setCheckable(True)
    window.mode_actions[ViewMode.SPLIT].setChecked(True)
    window.toggle_action = action("&Toggle before/after", window.toggle_before_after, "Space", "toggleAction")
    window.draw_action = action("&Mark a missed face…", window.editor.start_drawing_box, "D", "drawAction")
    scratches = window.scratches
    window.repair_action = action("&Repair scratches", scratches.set_brushing, "R", "repairAction")
    window.repair_action.setCheckable(True)
    window.fill_action = action("&Fill scratches", scratches.fill, "F", "fillAction")
    window.clear_scratches_action = action("&Clear the brushed scratches", scratches.clear, None, "clearScratches")
    repair_actions = [window.repair_action, window.fill_action, window.clear_scratches_action]
    # Single keys act only while the photo view has the focus: elsewhere they are typing or ticking boxes.
    for act in [*window.mode_actions.values(), window.toggle_action, window.draw_action, *repair_actions]:
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        viewer.addAction(act)
    window.models_action = action("&Models…", window.show_model_manager, None, "modelsAction")
    window.settings_action = action("&Settings…", window.show_settings, keys.Preferences)
    window.batch_action = action("&Batch folder…", window.show_batch, None, "batchAction")

    menus = window.menuBar()
    file_menu = menus.addMenu("&File")
    file_menu.addActions([window.open_action, window.paste_action])
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.setObjectName("recentMenu")
    file_menu.addSeparator()
    file_menu.addActions([window.save_action, window.save_as_action, window.export_action, window.export_video_action])
    file_menu.addSeparator()
    file_menu.addAction(quit_action)
    view_menu = menus.addMenu("&View")
    view_menu.addActions([window.fit_action, window.actual_action, window.zoom_in_action, window.zoom_out_action])
    view_menu.addSeparator()
    view_menu.addActions([*window.mode_actions.values(), window.toggle_action])
    faces_menu = menus.addMenu("F&aces")
    faces_menu.addAction(window.draw_action)
    faces_menu.addSeparator()
    faces_menu.addActions(repair_actions)
    menus.addMenu("&Tools").addActions([window.batch_action, window.models_action, window.settings_action])

    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.addActions([window.open_action, window.save_action, window.save_as_action])
    toolbar.addSeparator()
    toolbar.addActions([window.fit_action, window.actual_action, *window.mode_actions.values()])
    toolbar.addSeparator()
    toolbar.addActions([window.draw_action, window.batch_action, window.models_action])
    window.rebuild_recent_menu()
