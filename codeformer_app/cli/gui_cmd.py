"""``codeformer-app gui``: the desktop window. Kept free of heavy imports so the window appears quickly."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def add_gui_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gui",
        help="open the desktop window",
        description="Open the desktop window, optionally with photos (or a folder, for the batch panel).",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="photos (or a folder) to open")
    parser.add_argument("--weights", metavar="FILE", help="CodeFormer weights file to use")
    parser.add_argument(
        "--check",
        action="store_true",
        help="open the window, load the networks and quit: exit code 0 when they loaded (checks an installation)",
    )
    parser.set_defaults(handler=run_gui)
    return parser


def run_gui(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..gui.app import run  # Qt is imported only when the window is asked for

    return run([Path(f) for f in args.files], Path(args.weights) if args.weights else None, check=args.check)


def main_gui(argv: Sequence[str] | None = None) -> int:
    """``codeformer-app-gui``: the same as ``codeformer-app gui`` (one parser; the window never imports the CLI)."""
    from .main import main

    return main(["gui", *(sys.argv[1:] if argv is None else argv)])
