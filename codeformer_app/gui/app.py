"""Starting the desktop app: the window is shown first, then the networks load in the background.

Qt is imported inside the functions, after :func:`~.qt_libraries.check_qt_libraries`: a missing system library
must give one readable message, not an abort (or an ``ImportError``) from inside Qt.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .qt_libraries import check_qt_libraries

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

ICON_NAME = "codeformer-app.svg"
#: How long ``--check`` waits for the networks before it reports a failure.
CHECK_TIMEOUT_MS = 300_000


def resources_folder() -> Path:
    """``resources/`` of a source checkout, or the copy inside an installed bundle (PyInstaller)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon:
    from PySide6.QtGui import QIcon

    path = resources_folder() / ICON_NAME
    return QIcon(str(path)) if path.is_file() else QIcon()


def create_window(files: Sequence[Path] = (), weights: Path | None = None) -> MainWindow:
    """The shown main window; the engine starts loading (and the files opening) once the event loop runs."""
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow
    from .settings import load_settings
    from .workers import configure_thread_pool

    configure_thread_pool()
    window = MainWindow(load_settings(), weights)
    window.setWindowIcon(app_icon())
    window.show()
    QTimer.singleShot(0, window.start_engine)
    if files:
        QTimer.singleShot(0, lambda: window.open_paths(list(files)))
    return window


def run(files: Sequence[Path] = (), weights: Path | None = None, check: bool = False) -> int:
    refused = check_qt_libraries(os.environ)
    if refused is not None:
        return refused
    from PySide6.QtWidgets import QApplication

    from .main_window import APP_TITLE
    from .settings import APPLICATION, ORGANIZATION

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_TITLE)
    app.setDesktopFileName("codeformer-app")
    window = create_window(files, weights)
    if check:
        _quit_when_loaded(app, window)
    code = app.exec()
    del window
    return code


def _quit_when_loaded(app: QApplication, window: MainWindow) -> None:
    """``--check``: quit with 0 once the networks are ready, 1 if they failed or took too long."""
    from PySide6.QtCore import QTimer

    def finish(code: int, message: str) -> None:
        print(message, file=sys.stderr if code else sys.stdout)
        window.close()
        app.exit(code)

    window.host.ready.connect(lambda: finish(0, f"ok: window shown and networks loaded ({window.windowTitle()})"))
    window.host.failed.connect(lambda error: finish(1, f"error: the networks did not load: {error}"))
    QTimer.singleShot(CHECK_TIMEOUT_MS, lambda: finish(1, "error: the networks did not load in time"))
