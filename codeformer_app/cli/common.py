"""Exit codes and small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_FAILED_ITEMS = 1
"""Some inputs failed; the others were processed."""
EXIT_USAGE = 2
"""Bad arguments, or missing/unusable weights: nothing was processed."""


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def setup_failed(error: Exception, folder: Path) -> int:
    """A command could not start (weights, device, folders): say why, naming the file; exit code 2."""
    if isinstance(error, OSError):
        print_error(f"{error.filename or folder}: {error.strerror or error}")
    else:
        print_error(str(error))
    return EXIT_USAGE


def fidelity(text: str) -> float:
    """argparse type for the fidelity weight w in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is outside [0, 1]")
    return value
