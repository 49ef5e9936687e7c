"""Exit codes and small helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

from ..defaults import FIDELITY_RANGE

EXIT_OK = 0
EXIT_FAILED_ITEMS = 1
"""Some inputs failed; the others were processed."""
EXIT_USAGE = 2
"""Bad arguments, or missing/unusable weights: nothing was processed."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (128 + SIGINT, the shell convention)."""


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
    if not FIDELITY_RANGE[0] <= value <= FIDELITY_RANGE[1]:
        raise argparse.ArgumentTypeError(f"{value} is outside [{FIDELITY_RANGE[0]:g}, {FIDELITY_RANGE[1]:g}]")
    return value


#: What ``-w`` accepts instead of a number: the lowest fidelity that keeps each face's identity.
AUTO_FIDELITY = "auto"


def fidelity_or_auto(text: str) -> float | str:
    """argparse type for ``-w``: a fidelity weight in [0, 1], or ``auto``."""
    if text.strip().lower() == AUTO_FIDELITY:
        return AUTO_FIDELITY
    return fidelity(text)


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """argparse type: a whole number in [low, high] (high None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            span = f"{low}-{high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is outside {span}")
        return value

    return parse


def bounded_float(low: float, high: float | None = None) -> Callable[[str], float]:
    """argparse type: a finite number in [low, high] (high None: no upper bound)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            span = f"[{low}, {high}]" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is outside {span}")
        return value

    return parse
