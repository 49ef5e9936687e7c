"""Telling the user what went wrong, without blocking the event loop (message boxes are opened, not exec'd)."""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from ..errors import CodeFormerAppError

log = logging.getLogger("codeformer_app.gui")


def describe_error(error: BaseException) -> str:
    """Our errors already read as sentences naming the file; anything else is labelled unexpected."""
    cause = getattr(error, "original", None) or error
    if isinstance(cause, CodeFormerAppError):
        return str(cause)
    return f"Unexpected error ({type(cause).__name__}): {cause}"


def show_error(parent: QWidget | None, title: str, error: BaseException | str) -> QMessageBox:
    """A non-blocking error box; the details hold the traceback of unexpected errors."""
    text = error if isinstance(error, str) else describe_error(error)
    log.error("%s: %s", title, text)
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    if isinstance(error, BaseException) and not isinstance(error, CodeFormerAppError):
        box.setDetailedText("".join(traceback.format_exception(error)))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.open()
    return box
