"""Structural rules of the code base."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "codeformer_app"
GUI_PACKAGE = PACKAGE / "gui"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_never_imports_qt() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if GUI_PACKAGE not in path.parents
        and any(name.split(".")[0] in {"PySide6", "shiboken6"} for name in imported_modules(path))
    ]
    assert offenders == []


def test_pth_files_are_only_loaded_with_weights_only() -> None:
    """Every torch.load in the package passes weights_only=True."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "load":
                if getattr(node.func.value, "id", None) != "torch":
                    continue
                flags = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                assert flags.get("weights_only") is True, f"{path}:{node.lineno}"


def test_the_engine_spec_imports_nothing_heavy() -> None:
    """The window builds an ``EngineSpec`` on the GUI thread before PyTorch loads (issue 12, point 5)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import codeformer_app.pipeline.engine_spec\n"
        "print(sorted({'torch', 'numpy', 'cv2', 'av', 'PySide6'} & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_pytorch_threads_wait_passively_unless_the_user_chose_otherwise() -> None:
    """OpenMP reads its wait policy when PyTorch loads it: the app sets PASSIVE first (docs/benchmarks.md), and
    the commands start the same way (``codeformer-app`` imports the package before anything else)."""
    import os
    import subprocess
    import sys

    script = (
        "import os, codeformer_app.cli.main, torch\n"
        "from codeformer_app.networks.codeformer import CodeFormer\n"
        "print(os.environ['OMP_WAIT_POLICY'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert run.stdout.strip() == "PASSIVE", run.stderr
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
    )
    assert run.stdout.strip() == "ACTIVE", run.stderr
