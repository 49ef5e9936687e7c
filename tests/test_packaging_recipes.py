"""The installer recipes that cannot be built here (Windows, macOS) and the Linux ones stay consistent: every
file they name exists, and their names and versions come from one place (pyproject.toml).

Building the bundle itself takes minutes and ~5 GB, so it is a separate command (packaging/build.sh) with its
own smoke test (packaging/smoke_test.sh); see README, "Installer".
"""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
#: Build outputs the recipes read: they exist after PyInstaller ran, not in the repository.
BUILD_OUTPUTS = ("build/",)


def _is_build_output(path: Path) -> bool:
    relative = path.resolve().relative_to(ROOT).as_posix() + "/"
    return relative.startswith(BUILD_OUTPUTS)


def test_inno_setup_script_names_existing_files() -> None:
    script = PACKAGING / "windows" / "codeformer-app.iss"
    text = script.read_text(encoding="utf-8")
    named = re.findall(r"^(?:LicenseFile|SetupIconFile)=(.+)$", text, re.M)
    named += [
        re.sub(r"\{#AppFolder\}", r"..\\..\\build\\dist\\codeformer-app", s)
        for s in re.findall(r'Source: "([^"]+)"', text)
    ]
    assert len(named) >= 3
    for name in named:
        path = (script.parent / name.replace("\\", "/")).resolve()
        assert _is_build_output(path) or path.exists(), f"{script.name} names {name}, which does not exist"
    for exe in re.findall(r"\{app\}\\([\w.-]+\.exe)", text):
        assert exe in ("codeformer-app.exe", "codeformer-app-gui.exe"), exe
    assert "codeformer-app-gui" in (PACKAGING / "codeformer-app.spec").read_text(encoding="utf-8")


def test_spec_resources_and_entry_points_exist() -> None:
    spec = (PACKAGING / "codeformer-app.spec").read_text(encoding="utf-8")
    for name in re.findall(r'RESOURCES / "([^"]+)"', spec):
        assert (ROOT / "resources" / name).is_file(), name
    for name in re.findall(r'"(codeformer-app\.\w+)"', spec):
        assert (ROOT / "resources" / name).is_file(), name
    for script in re.findall(r'analysis\("([^"]+)"\)', spec):
        assert (PACKAGING / script).is_file(), script
    assert 'PROJECT["name"]' in spec and 'PROJECT["version"]' in spec, "name and version come from pyproject.toml"


def test_build_scripts_name_existing_recipes() -> None:
    for script in [PACKAGING / "build.sh", PACKAGING / "macos" / "build_dmg.sh", PACKAGING / "windows" / "build.ps1"]:
        text = script.read_text(encoding="utf-8")
        for name in re.findall(r"packaging[/\\][\w/\\.-]+\.(?:spec|iss|sh|py)", text):
            assert (ROOT / name.replace("\\", "/")).is_file(), f"{script.name} names {name}"


def test_linux_package_files() -> None:
    maker = (PACKAGING / "linux" / "make_packages.sh").read_text(encoding="utf-8")
    for name in re.findall(r'"\$ROOT/([^"$]+)"', maker):
        assert (ROOT / name).exists(), name
    for name in re.findall(r"\$ROOT/resources/\$NAME\.(\w+)", maker):
        assert (ROOT / "resources" / f"{PROJECT['name']}.{name}").is_file(), name
    control = (PACKAGING / "linux" / "control.in").read_text(encoding="utf-8")
    placeholders = set(re.findall(r"@(\w+)@", control))
    assert placeholders == set(re.findall(r"s/@(\w+)@/", maker)), "make_packages.sh fills every placeholder"
    assert re.search(rf"^Package: {PROJECT['name']}$", control, re.M)


def test_desktop_entry_starts_the_window_and_names_its_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "codeformer-app.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and "CodeFormer" in section["Name"]
    assert section["Exec"].split()[:2] == [PROJECT["name"], "gui"]
    assert (ROOT / "resources" / f"{section['Icon']}.png").is_file()
    assert (ROOT / "resources" / f"{section['Icon']}.svg").is_file()
