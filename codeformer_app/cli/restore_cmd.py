"""``codeformer-app restore``: restore face crops and write them to an output folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from ..device import DEVICE_CHOICES, pick_device
from ..errors import CodeFormerAppError
from ..imageio import read_bgr8, write_bgr8
from ..model.checkpoint import load_codeformer
from ..model.runtime import Precision
from ..restore.aligned import restore_aligned_face
from ..weights import resolve_codeformer_weights
from .common import EXIT_FAILED_ITEMS, EXIT_OK, EXIT_USAGE, fidelity, print_error

DEFAULT_FIDELITY = 0.5


def add_restore_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "restore",
        help="restore faces in image files",
        description="Restore faces and write each result to OUTDIR under the input's file name.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FACE", help="image files")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder")
    parser.add_argument(
        "--aligned",
        action="store_true",
        help="inputs are face crops already aligned to the FFHQ template (resized to 512 if needed)",
    )
    parser.add_argument(
        "-w",
        "--fidelity",
        type=fidelity,
        default=DEFAULT_FIDELITY,
        metavar="W",
        help="0 = strongest restoration, 1 = closest to the input (default %(default)s)",
    )
    parser.add_argument("--weights", type=Path, metavar="FILE", help="CodeFormer weights file to use")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where to run the network")
    parser.add_argument(
        "--precision",
        choices=[p.value for p in Precision],
        default=Precision.FAST.value,
        help="fast: Winograd convolutions on CPU (within 1e-3 of exact); exact: direct convolutions",
    )
    parser.set_defaults(handler=run_restore)
    return parser


def run_restore(args: argparse.Namespace) -> int:
    if not args.aligned:
        print_error(
            "whole-photo restoration (face detection and paste-back) is not available yet; "
            "pass --aligned with face crops aligned to the FFHQ 512 template"
        )
        return EXIT_USAGE
    try:
        weights = resolve_codeformer_weights(args.weights)
        device = pick_device(args.device)
        model = load_codeformer(weights, device)
    except (CodeFormerAppError, ValueError) as error:
        print_error(str(error))
        return EXIT_USAGE
    model.precision = Precision(args.precision)
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print_error(f"{args.output}: cannot create the output folder ({error.strerror or error})")
        return EXIT_USAGE

    failures = 0
    progress = tqdm(args.inputs, unit="face", disable=None, file=sys.stderr)
    for path in progress:
        progress.set_postfix_str(path.name)
        started = time.perf_counter()
        target = args.output / path.name
        try:
            if target.resolve() == path.resolve():
                raise CodeFormerAppError(f"{path}: the output would overwrite the input; choose another -o")
            restored = restore_aligned_face(model, read_bgr8(path), args.fidelity)
            write_bgr8(target, restored)
        except CodeFormerAppError as error:
            failures += 1
            progress.write(f"error: {error}", file=sys.stderr)
        except OSError as error:
            failures += 1
            progress.write(f"error: {target}: cannot write ({error.strerror or error})", file=sys.stderr)
        else:
            progress.write(f"{path} -> {target} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return EXIT_FAILED_ITEMS if failures else EXIT_OK
