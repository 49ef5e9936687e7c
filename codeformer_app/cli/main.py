"""``codeformer-app``: the command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..weights.registry import DEFAULT_REGISTRY, Registry
from .batch_cmd import add_batch_parser
from .common import EXIT_INTERRUPTED, EXIT_USAGE
from .gui_cmd import add_gui_parser
from .identity_cmd import add_identity_parser
from .restore_cmd import add_restore_parser
from .weights_cmd import add_weights_parser

PROG = "codeformer-app"
DESCRIPTION = "Restore faces in old, blurry or damaged photos with CodeFormer."


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser, parser.add_subparsers(dest="command", metavar="COMMAND")


def build_parser(registry: Registry = DEFAULT_REGISTRY) -> argparse.ArgumentParser:
    """Every command; ``weights`` works on ``registry``. Building it imports no PyTorch: handlers import what
    they need when they run."""
    parser, subparsers = _top_parser()
    add_gui_parser(subparsers)
    add_restore_parser(subparsers)
    add_batch_parser(subparsers)
    add_weights_parser(subparsers, registry)
    add_identity_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None, *, registry: Registry = DEFAULT_REGISTRY) -> int:
    """Run one command; ``registry`` is the set of weights files the ``weights`` command manages."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(registry)
    args = parser.parse_args(arguments)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except KeyboardInterrupt:  # while loading, before a command's own Ctrl-C handling takes over
        print("stopped", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
