"""The model manager dialog against a real HTTP server on 127.0.0.1 and real (tiny) checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QPushButton, QTableWidget
from weights_helpers import FileServer, bypass_proxies, codeformer_entry_for, registry_with, save_tiny_pth

from codeformer_app.gui.model_manager import WINDOW_TITLE, ModelManagerDialog
from codeformer_app.gui.weights_table import Column, HashState, Note
from codeformer_app.weights import DEFAULT_REGISTRY, Registry, missing_message, weights_status
from codeformer_app.weights.paths import download_path, installed_path, partial_path
from codeformer_app.weights.registry import URL_BASE_ENV, WeightsEntry

pytestmark = pytest.mark.usefixtures("qt_settings_dir")

#: Generous bound for any background task in these tests (they take well under a second each).
TIMEOUT_MS = 20_000
#: How long the server waits between the headers and the body when a test must press Cancel mid-download.
STALL_S = 2.0
CODEFORMER = "codeformer"


@pytest.fixture
def tiny_pth(tmp_path: Path) -> Path:
    """A tiny CodeFormer checkpoint saved like the official one (several MB: more than one download block)."""
    folder = tmp_path / "source"
    folder.mkdir()
    return save_tiny_pth(folder / "codeformer.pth")


@pytest.fixture
def official(tiny_pth: Path) -> WeightsEntry:
    """The tiny checkpoint as the official codeformer.pth (keeps the real license)."""
    return codeformer_entry_for(tiny_pth.read_bytes())


@pytest.fixture
def official_registry(official: WeightsEntry) -> Registry:
    """The app's registry with the tiny checkpoint registered as the official codeformer.pth."""
    return registry_with(official)


@pytest.fixture
def server(official: WeightsEntry, tiny_pth: Path, monkeypatch: pytest.MonkeyPatch):
    """A local server publishing the tiny checkpoint; the app's download address points at it."""
    bypass_proxies(monkeypatch)
    with FileServer() as served:
        served.state.files[official.file_name] = tiny_pth.read_bytes()
        monkeypatch.setenv(URL_BASE_ENV, served.url_base)
        yield served


def open_manager(qtbot, registry: Registry = DEFAULT_REGISTRY) -> ModelManagerDialog:
    dialog = ModelManagerDialog(registry=registry)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


@pytest.fixture
def manager(qtbot, isolated_weights_dir: Path):
    """The dialog on the test's weights folder; no task may outlive the test."""
    dialog = open_manager(qtbot)
    yield dialog
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)


@pytest.fixture
def official_manager(qtbot, isolated_weights_dir: Path, official_registry: Registry):
    """The dialog on the registry with the tiny official checkpoint; no task may outlive the test."""
    dialog = open_manager(qtbot, official_registry)
    yield dialog
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)


@pytest.fixture
def downloader(server: FileServer, qtbot, isolated_weights_dir: Path, official_registry: Registry):
    """The server and the dialog on the test registry."""
    dialog = open_manager(qtbot, official_registry)
    yield server, dialog
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)


def cell(dialog: ModelManagerDialog, name: str, column: Column) -> str:
    table = dialog.findChild(QTableWidget, "weightsTable")
    for row in range(table.rowCount()):
        if table.item(row, Column.NAME).text() == name:
            return table.item(row, column).text()
    raise AssertionError(f"{name} is not in the table")


def error_boxes(dialog: ModelManagerDialog) -> list[QMessageBox]:
    return [box for box in dialog.findChildren(QMessageBox, "errorBox") if box.isVisible()]


def installed(folder: Path, name: str = CODEFORMER) -> bool:
    return next(status for status in weights_status(folder, DEFAULT_REGISTRY) if status.entry.name == name).installed


def accept_license_and_wait(dialog: ModelManagerDialog, qtbot) -> None:
    """Accept the license the dialog shows and wait until the download has installed the file."""
    with qtbot.waitSignal(dialog.weights_changed, timeout=TIMEOUT_MS):
        dialog.license_dialog.accept()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)


def test_table_lists_every_registry_entry_and_nothing_is_installed(manager):
    table = manager.findChild(QTableWidget, "weightsTable")

    names = [table.item(row, Column.NAME).text() for row in range(table.rowCount())]

    assert manager.windowTitle() == WINDOW_TITLE
    assert names == [entry.name for entry in DEFAULT_REGISTRY]
    assert cell(manager, CODEFORMER, Column.STATUS) == "not installed"
    assert cell(manager, CODEFORMER, Column.LICENSE).startswith("S-Lab License 1.0")
    assert "face restoration" in cell(manager, CODEFORMER, Column.PURPOSE)
    assert "376.6 MB" in cell(manager, CODEFORMER, Column.SIZE)
    assert not manager.findChild(QLabel, "missingBanner").isVisible()


def test_download_shows_the_license_first_then_installs_with_progress(downloader, official, qtbot):
    server, dialog = downloader
    folder = dialog.folder
    reports: list[tuple[int, int]] = []
    dialog.download_progress.connect(lambda done, total: reports.append((done, total)))

    dialog.request_download(CODEFORMER)

    license_dialog = dialog.license_dialog
    assert license_dialog is not None and license_dialog.objectName() == "licenseDialog"
    qtbot.waitUntil(license_dialog.isVisible, timeout=TIMEOUT_MS)
    shown = " ".join(label.text() for label in license_dialog.findChildren(QLabel))
    assert "S-Lab License 1.0" in shown and "non-commercial" in shown
    assert official.license.url in shown
    assert server.state.requests == []

    accept_license_and_wait(dialog, qtbot)

    assert [request.path for request in server.state.requests] == ["/codeformer.pth"]
    assert len(reports) >= 2
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert reports[-1] == (official.size, official.size)
    assert installed(folder)
    assert installed_path(official, folder).is_file()
    assert not download_path(official, folder).exists()  # the .pth is removed after conversion, as in the CLI
    record = next(s.record for s in weights_status(folder, DEFAULT_REGISTRY) if s.entry.name == CODEFORMER)
    assert record is not None and record.official
    assert cell(dialog, CODEFORMER, Column.STATUS) == "installed, official"
    assert cell(dialog, CODEFORMER, Column.SHA256) == HashState.VERIFIED
    bar = dialog.findChild(QProgressBar, "downloadProgress")
    assert bar.value() == bar.maximum()
    assert "MB" in bar.format() and "%p%" in bar.format()

    dialog.request_download(CODEFORMER)  # again: the intact official file is kept, nothing is fetched
    dialog.license_dialog.accept()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)

    assert len(server.state.requests) == 1
    assert "already installed" in dialog.findChild(QLabel, "statusLabel").text()


def test_declining_the_license_downloads_nothing(downloader, qtbot):
    server, dialog = downloader

    dialog.request_download(CODEFORMER)
    dialog.license_dialog.reject()

    assert dialog.license_dialog is None
    assert not dialog.busy
    assert server.state.requests == []
    assert not dialog.folder.exists() or list(dialog.folder.iterdir()) == []
    assert cell(dialog, CODEFORMER, Column.STATUS) == Note.DECLINED
    assert dialog.findChild(QPushButton, "downloadButton").isEnabled() == (dialog.selected_name() is not None)


def test_cancel_keeps_the_part_and_the_next_download_resumes(downloader, official, qtbot):
    server, dialog = downloader
    folder = dialog.folder
    server.state.stall_s = STALL_S  # headers at once, body later: the download is under way but unfinished
    reports: list[tuple[int, int]] = []
    dialog.download_progress.connect(lambda done, total: reports.append((done, total)))
    dialog.request_download(CODEFORMER)
    dialog.license_dialog.accept()
    qtbot.waitUntil(lambda: bool(reports), timeout=TIMEOUT_MS)
    cancel_button = dialog.findChild(QPushButton, "cancelButton")
    assert cancel_button.isEnabled()

    cancel_button.click()
    server.state.stall_s = 0.0
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)

    part = partial_path(official, folder)
    assert part.is_file()
    kept = part.stat().st_size
    assert 0 < kept < official.size
    assert not installed(folder)
    assert cell(dialog, CODEFORMER, Column.STATUS) == Note.CANCELLED
    assert error_boxes(dialog) == []
    assert not cancel_button.isEnabled()

    dialog.request_download(CODEFORMER)
    accept_license_and_wait(dialog, qtbot)

    assert [request.range for request in server.state.requests] == [None, f"bytes={kept}-"]
    assert installed(folder)
    assert not part.exists()
    assert cell(dialog, CODEFORMER, Column.STATUS) == "installed, official"


def test_hash_mismatch_is_an_error_box_and_the_dialog_keeps_working(downloader, official, qtbot):
    server, dialog = downloader
    server.state.corrupt = True
    dialog.request_download(CODEFORMER)
    dialog.license_dialog.accept()

    qtbot.waitUntil(lambda: bool(error_boxes(dialog)), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)

    (box,) = error_boxes(dialog)
    assert official.file_name in box.windowTitle()
    assert official.file_name in box.text() and official.sha256 in box.text()
    assert not installed(dialog.folder)
    assert sorted(path.name for path in dialog.folder.iterdir()) == []
    assert cell(dialog, CODEFORMER, Column.STATUS) == Note.FAILED
    box.close()

    server.state.corrupt = False
    dialog.request_download(CODEFORMER)
    accept_license_and_wait(dialog, qtbot)

    assert installed(dialog.folder)


def test_server_error_names_the_file_and_the_status(downloader, official, qtbot):
    server, dialog = downloader
    del server.state.files[official.file_name]
    dialog.request_download(CODEFORMER)
    dialog.license_dialog.accept()

    qtbot.waitUntil(lambda: bool(error_boxes(dialog)), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=TIMEOUT_MS)

    (box,) = error_boxes(dialog)
    assert "codeformer.pth" in box.text() and "HTTP 404" in box.text()
    assert not installed(dialog.folder)


def test_import_installs_a_checkpoint_and_refuses_a_text_file(official, tiny_pth, tmp_path, qtbot, official_manager):
    manager = official_manager
    truncated = tmp_path / "half.pth"
    truncated.write_bytes(tiny_pth.read_bytes()[: tiny_pth.stat().st_size // 2])
    notes = tmp_path / "notes.txt"
    notes.write_text("these are not weights\n", encoding="utf-8")
    original = tiny_pth.read_bytes()

    manager.import_file(truncated)
    qtbot.waitUntil(lambda: bool(error_boxes(manager)), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not manager.busy, timeout=TIMEOUT_MS)

    (box,) = error_boxes(manager)
    assert str(truncated) in box.text() and "truncated" in box.text()
    box.close()

    manager.import_file(notes)
    qtbot.waitUntil(lambda: bool(error_boxes(manager)), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not manager.busy, timeout=TIMEOUT_MS)

    (box,) = error_boxes(manager)
    assert "notes.txt" in box.windowTitle()
    assert box.text()
    assert not installed(manager.folder)
    box.close()

    with qtbot.waitSignal(manager.weights_changed, timeout=TIMEOUT_MS):
        manager.import_file(tiny_pth)
    qtbot.waitUntil(lambda: not manager.busy, timeout=TIMEOUT_MS)

    assert installed(manager.folder)
    assert installed_path(official, manager.folder).is_file()
    assert tiny_pth.read_bytes() == original  # the user's file is only read
    assert cell(manager, CODEFORMER, Column.STATUS) == "installed, official"
    assert "S-Lab License 1.0" in manager.findChild(QLabel, "statusLabel").text()


def test_import_error_for_a_text_file_names_the_file_and_the_reason(tmp_path, qtbot, manager):
    notes = tmp_path / "notes.txt"
    notes.write_text("these are not weights\n", encoding="utf-8")

    manager.import_file(notes)
    qtbot.waitUntil(lambda: bool(error_boxes(manager)), timeout=TIMEOUT_MS)

    (box,) = error_boxes(manager)
    assert str(notes) in box.text()
    assert "Unexpected error" not in box.text()


def test_verify_marks_intact_files_and_finds_a_damaged_one(
    official, official_registry, tiny_pth, qtbot, official_manager
):
    manager = official_manager
    with qtbot.waitSignal(manager.weights_changed, timeout=TIMEOUT_MS):
        manager.import_file(tiny_pth)
    qtbot.waitUntil(lambda: not manager.busy, timeout=TIMEOUT_MS)
    manager = open_manager(qtbot, official_registry)  # a new session: nothing checked yet
    assert cell(manager, CODEFORMER, Column.SHA256) == HashState.NOT_CHECKED

    manager.verify()
    qtbot.waitUntil(lambda: not manager.busy, timeout=TIMEOUT_MS)

    assert cell(manager, CODEFORMER, Column.SHA256) == HashState.VERIFIED
    with installed_path(official, manager.folder).open("ab") as damaged:
        damaged.write(b"\0")

    manager.verify()
    qtbot.waitUntil(lambda: not manager.busy, timeout=TIMEOUT_MS)

    assert cell(manager, CODEFORMER, Column.SHA256) == HashState.FAILED
    assert cell(manager, CODEFORMER, Column.STATUS).startswith("corrupt")
    assert "1 failed" in manager.findChild(QLabel, "statusLabel").text()


def test_show_missing_shows_the_banner_with_the_message(manager):
    banner = manager.findChild(QLabel, "missingBanner")
    message = missing_message(DEFAULT_REGISTRY.find(CODEFORMER), manager.folder)

    manager.show_missing(message)

    assert banner.isVisible()
    assert message in banner.text()
    assert "CodeFormer weights are needed" in banner.text()
    assert manager.selected_name() == CODEFORMER


class _UrlRecorder(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def record(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_folder_asks_the_desktop_to_open_the_weights_folder(manager):
    recorder = _UrlRecorder()
    QDesktopServices.setUrlHandler("file", recorder, "record")
    try:
        manager.findChild(QPushButton, "openFolderButton").click()
    finally:
        QDesktopServices.unsetUrlHandler("file")

    assert [Path(url.toLocalFile()) for url in recorder.urls] == [manager.folder]
    assert manager.folder.is_dir()
