"""Before Qt starts on X11, missing system libraries are named in one message with the apt command (issue #11,
point 16); on other platforms nothing is checked."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from codeformer_app.gui.qt_libraries import (
    MISSING_LIBRARIES_EXIT,
    QT_XCB_LIBRARIES,
    check_qt_libraries,
    platform_is_xcb,
)

CONTROL = Path(__file__).resolve().parents[1] / "packaging" / "linux" / "control.in"
ABSENT = ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")


class FakeLoader:
    """Fails for the named libraries, as the dynamic loader does for a file that is not installed."""

    def __init__(self, absent: tuple[str, ...] = ()) -> None:
        self.absent = absent
        self.asked: list[str] = []

    def __call__(self, soname: str) -> object:
        self.asked.append(soname)
        if soname in self.absent:
            raise OSError(f"{soname}: cannot open shared object file: No such file or directory")
        return object()


def test_missing_libraries_are_named_with_the_apt_command() -> None:
    out = io.StringIO()
    loader = FakeLoader(ABSENT)

    code = check_qt_libraries({"DISPLAY": ":0"}, loader, out, system="linux")

    assert code == MISSING_LIBRARIES_EXIT
    assert set(loader.asked) == set(QT_XCB_LIBRARIES)
    message = out.getvalue()
    assert message.startswith("error: ") and message.count("error") == 1, "one message"
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1\n" in message
    assert "libxcb-cursor" not in message, "only what is missing is named"


def test_nothing_is_printed_when_every_library_loads() -> None:
    out = io.StringIO()
    assert check_qt_libraries({}, FakeLoader(), out, system="linux") is None
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    ("environ", "system"),
    [
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux"),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),
        ({}, "win32"),
        ({}, "darwin"),
    ],
)
def test_other_platforms_check_nothing(environ: dict[str, str], system: str) -> None:
    loader = FakeLoader(tuple(QT_XCB_LIBRARIES))
    assert check_qt_libraries(environ, loader, io.StringIO(), system=system) is None
    assert loader.asked == []


def test_offscreen_on_this_machine_checks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the test suite (and `gui --check` in CI) runs under: the real loader is never asked."""
    import os

    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"  # set by conftest.py
    loader = FakeLoader()
    assert check_qt_libraries(os.environ, loader) is None
    assert loader.asked == []


def test_xcb_is_chosen_explicitly_or_by_default_on_x11() -> None:
    assert platform_is_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert platform_is_xcb({"QT_QPA_PLATFORM": "xcb:display=:1"}, "linux")
    assert platform_is_xcb({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, "linux")


def test_the_deb_depends_on_every_package_of_the_list() -> None:
    depends = re.search(r"^Depends: (.*)$", CONTROL.read_text(encoding="utf-8"), re.M).group(1)
    assert set(QT_XCB_LIBRARIES.values()) <= {name.strip() for name in depends.split(",")}
