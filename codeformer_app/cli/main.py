"""``codeformer-app``: the command line. Each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from .batch_cmd import add_batch_parser
from .common import EXIT_USAGE
from .restore_cmd import add_restore_parser
from .weights_cmd import add_weights_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeformer-app",
        description="Restore faces in old, blurry or damaged photos with CodeFormer.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_restore_parser(subparsers)
    add_batch_parser(subparsers)
    add_weights_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
