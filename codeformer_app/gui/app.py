"""Starting the desktop app: the window is shown first, then the networks load in the background."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from .main_window import APP_TITLE, MainWindow
from .settings import APPLICATION, ORGANIZATION, load_settings
from .workers import configure_thread_pool

ICON_PATH = Path(__file__).resolve().parents[2] / "resources" / "codeformer-app.svg"


def app_icon() -> QIcon:
    from importlib import resources

    packaged = resources.files("codeformer_app") / "resources" / "codeformer-app.svg"
    path = Path(str(packaged)) if packaged.is_file() else ICON_PATH
    return QIcon(str(path)) if path.is_file() else QIcon()


def create_window(files: Sequence[Path] = (), weights: Path | None = None) -> MainWindow:
    """The shown main window; the engine starts loading (and the files opening) once the event loop runs."""
    configure_thread_pool()
    window = MainWindow(load_settings(), weights)
    window.setWindowIcon(app_icon())
    window.show()
    QTimer.singleShot(0, window.start_engine)
    if files:
        QTimer.singleShot(0, lambda: window.open_paths(list(files)))
    return window


def run(files: Sequence[Path] = (), weights: Path | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APP_TITLE)
    app.setDesktopFileName("codeformer-app")
    window = create_window(files, weights)
    code = app.exec()
    del window
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``codeformer-app-gui``: the same as ``codeformer-app gui`` (one parser, in ``cli/gui_cmd.py``)."""
    from ..cli.main import main as cli_main

    return cli_main(["gui", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
