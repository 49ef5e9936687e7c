"""The model manager's table of weights files, its missing-weights banner, and the license dialog shown
before a download.

What a row says comes from the folder (``WeightsStatus``) and from what the dialog learnt in this session
(:class:`TableNotes`): hashes checked, downloads cancelled or declined, the download under way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..errors import WeightsError
from ..weights import Registry, VerifyResult, WeightsEntry, WeightsStatus, weights_status
from ..weights.paths import installed_path, partial_path
from .weights_texts import MISSING_INTRO, megabytes

NOT_AVAILABLE = "—"
#: The banner must stand out from the rest of the dialog: it explains why the dialog opened by itself.
BANNER_STYLE = "QLabel { background: #fff4ce; color: #4d3800; border: 1px solid #e0c96b; padding: 8px; }"


class Column(IntEnum):
    """Columns of the weights table."""

    NAME = 0
    PURPOSE = 1
    STATUS = 2
    SIZE = 3
    SHA256 = 4
    LICENSE = 5


COLUMN_TITLES = {
    Column.NAME: "Name",
    Column.PURPOSE: "Used for",
    Column.STATUS: "Status",
    Column.SIZE: "Size on disk",
    Column.SHA256: "SHA-256",
    Column.LICENSE: "License",
}


class HashState(StrEnum):
    """What is known about an installed file's hash in this session (shown in the SHA-256 column)."""

    NOT_CHECKED = "not checked"
    VERIFIED = "verified ✓"
    FAILED = "✗ failed"


class Note(StrEnum):
    """Why an entry is not installed, when the dialog knows more than the folder shows."""

    CANCELLED = "cancelled — will resume"
    CANCELLED_EMPTY = "cancelled"
    DECLINED = "license declined — nothing downloaded"
    FAILED = "download failed"


@dataclass
class TableNotes:
    """What the dialog knows beyond the folder, by entry name."""

    hashes: dict[str, VerifyResult | HashState] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)
    downloading: str | None = None
    """The entry being downloaded, whose status cell shows :attr:`download_status`."""
    download_status: str = ""


def read_statuses(folder: Path, registry: Registry) -> tuple[list[WeightsStatus], WeightsError | None]:
    """The folder's state; with an unreadable index, what the files alone show, and the error."""
    try:
        return weights_status(folder, registry), None
    except WeightsError as error:
        files = [(entry, installed_path(entry, folder)) for entry in registry]
        return [WeightsStatus(entry, path, path.is_file(), None) for entry, path in files], error


def status_text(status: WeightsStatus, known: TableNotes, folder: Path) -> str:
    entry = status.entry
    if entry.name == known.downloading:
        return known.download_status
    if status.installed:
        check = known.hashes.get(entry.name)
        if isinstance(check, VerifyResult) and not check.ok:
            return "corrupt — download or import it again"
        return f"installed, {status.origin}"
    if entry.name in known.notes:
        return str(known.notes[entry.name])
    if status.record is not None:
        return "missing — the installed file was deleted"
    if partial_path(entry, folder).is_file():
        return "partly downloaded — will resume"
    return "not installed"


def size_cell(status: WeightsStatus) -> tuple[str, str]:
    download_size = f"download: {megabytes(status.entry.size)}"
    if not status.installed:
        return f"{NOT_AVAILABLE} ({download_size})", download_size
    try:
        return megabytes(status.path.stat().st_size), download_size
    except OSError as error:
        return NOT_AVAILABLE, str(error)


def hash_cell(status: WeightsStatus, known: TableNotes) -> tuple[str, str]:
    if not status.installed:
        return NOT_AVAILABLE, ""
    check = known.hashes.get(status.entry.name, HashState.NOT_CHECKED)
    if isinstance(check, VerifyResult):
        return (HashState.VERIFIED if check.ok else HashState.FAILED), check.message
    tip = "press Verify to check" if check is HashState.NOT_CHECKED else "checked when it was installed"
    return str(check), tip


class WeightsTable(QTableWidget):
    """One row per registry entry, looked up by entry name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(Column), parent)
        self.setObjectName("weightsTable")
        self.setHorizontalHeaderLabels([COLUMN_TITLES[column] for column in Column])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.PURPOSE, QHeaderView.ResizeMode.Stretch)

    def show_statuses(self, statuses: list[WeightsStatus], known: TableNotes, folder: Path) -> None:
        """Every row again, keeping the selection."""
        selected = self.selected_name()
        self.setRowCount(len(statuses))
        for row, status in enumerate(statuses):
            entry, terms = status.entry, status.entry.license
            cells = {
                Column.NAME: (entry.name, entry.file_name),
                Column.PURPOSE: (entry.description, f"{entry.kind}" + (" (required)" if entry.required else "")),
                Column.STATUS: (status_text(status, known, folder), str(status.path)),
                Column.SIZE: size_cell(status),
                Column.SHA256: hash_cell(status, known),
                Column.LICENSE: (f"{terms.name} ({terms.summary})", terms.url),
            }
            for column, (text, tip) in cells.items():
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                self.setItem(row, column, item)
        if selected is not None:
            self.select_name(selected)

    def selected_name(self) -> str | None:
        rows = self.selectionModel().selectedRows()
        return self.name_at(rows[0].row()) if rows else None

    def name_at(self, row: int) -> str | None:
        item = self.item(row, Column.NAME)
        return item.text() if item is not None else None

    def row_of(self, name: str) -> int | None:
        return next((row for row in range(self.rowCount()) if self.name_at(row) == name), None)

    def select_name(self, name: str) -> None:
        row = self.row_of(name)
        if row is not None:
            self.selectRow(row)

    def set_status(self, name: str, text: str) -> None:
        row = self.row_of(name)
        item = self.item(row, Column.STATUS) if row is not None else None
        if item is not None:
            item.setText(text)


class MissingBanner(QLabel):
    """The note at the top of the dialog when it opened because weights are missing; hidden otherwise."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("missingBanner")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setStyleSheet(BANNER_STYLE)
        self.hide()

    def show_message(self, message: str) -> None:
        """Show why the weights are needed; ``message`` says which and where."""
        self.setText(f"{MISSING_INTRO}\n\n{message}")
        self.show()


class LicenseDialog(QDialog):
    """The license of one weights file, shown before anything is downloaded; only Accept starts the download."""

    def __init__(self, entry: WeightsEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("licenseDialog")
        self.setWindowTitle(f"License of {entry.file_name}")
        terms = entry.license
        heading = QLabel(f"{entry.file_name} is published under the {terms.name} ({terms.summary}).")
        notice = QLabel(terms.notice)
        link = QLabel(f'Full text: <a href="{terms.url}">{terms.url}</a>')
        link.setOpenExternalLinks(True)
        question = "Do you accept this license and want to download the file?"
        if not terms.requires_acceptance:
            question = f"Download {entry.file_name} ({megabytes(entry.size)})?"
        layout = QVBoxLayout(self)
        for label in (heading, notice, link, QLabel(question)):
            label.setWordWrap(True)
            layout.addWidget(label)
        buttons = QDialogButtonBox(self)
        buttons.addButton("Accept and download", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Decline", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
