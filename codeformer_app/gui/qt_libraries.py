"""Are the system libraries Qt's X11 (xcb) platform plugin needs installed? Checked before Qt is imported.

When one is missing, Qt aborts with "Could not load the Qt platform plugin xcb" and names at most
``libxcb-cursor0`` (issue #11, point 16), so the user cannot tell what to install. This module asks the
dynamic loader for each library first and prints one message naming all the missing ones and the apt command.
It imports nothing from Qt: it must work exactly when Qt cannot start.

The list was made from the ``NEEDED`` entries (``readelf -d``) of PySide6's ``platforms/libqxcb.so``,
``libQt6XcbQpa``, ``libQt6Gui``, ``libQt6Core``, ``libQt6Widgets`` and ``libQt6DBus``, minus the libraries
PySide6 ships itself, each mapped to its Debian 12 package with ``dpkg -S`` (see ``docs/qt-libraries.md``).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

#: Exit status when the window cannot start for missing libraries (argparse uses 2 for "cannot run" too).
MISSING_LIBRARIES_EXIT = 2
PLATFORM_ENV = "QT_QPA_PLATFORM"
XCB = "xcb"

#: Shared library (soname) -> the Debian 12 package that provides it.
QT_XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
}

Loader = Callable[[str], object]
"""Loads a library by soname, raising ``OSError`` when it cannot (``ctypes.CDLL``; tests pass a fake)."""


def platform_is_xcb(environ: Mapping[str, str], system: str = sys.platform) -> bool:
    """Whether Qt will start its xcb plugin: on Linux, unless another platform is asked for or the session is
    Wayland (Qt 6 then prefers its wayland plugin)."""
    if not system.startswith("linux"):
        return False
    chosen = environ.get(PLATFORM_ENV, "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0].strip() == XCB
    return not (environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"))


def _bundled(soname: str) -> bool:
    """Inside a PyInstaller bundle the library may ship next to Qt, where the loader alone would not look."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:
        return False
    return any((folder / soname).is_file() for folder in (Path(bundle), Path(bundle) / "PySide6" / "Qt" / "lib"))


def missing_libraries(load: Loader = ctypes.CDLL) -> list[str]:
    """The sonames of :data:`QT_XCB_LIBRARIES` the loader cannot find."""
    missing = []
    for soname in QT_XCB_LIBRARIES:
        try:
            load(soname)
        except OSError:
            if not _bundled(soname):
                missing.append(soname)
    return missing


def missing_message(missing: list[str]) -> str:
    packages = sorted({QT_XCB_LIBRARIES[soname] for soname in missing})
    return (
        "error: the window cannot open: Qt's X11 (xcb) platform needs libraries that are not installed: "
        f"{', '.join(missing)}.\n"
        f"On Debian or Ubuntu install them with:\n  sudo apt install {' '.join(packages)}\n"
        "(On other systems, install the packages that provide these files.)"
    )


def check_qt_libraries(
    environ: Mapping[str, str], load: Loader = ctypes.CDLL, out: TextIO | None = None, system: str = sys.platform
) -> int | None:
    """None when the window may start; else prints one message (to ``out``, stderr by default) and returns
    :data:`MISSING_LIBRARIES_EXIT`. Nothing is loaded unless the platform will be xcb."""
    if not platform_is_xcb(environ, system):
        return None
    missing = missing_libraries(load)
    if not missing:
        return None
    print(missing_message(missing), file=out or sys.stderr)
    return MISSING_LIBRARIES_EXIT
