"""Options shared by ``restore`` and ``batch``, checked while parsing, and what they build.

Parsing imports nothing heavy: every choice comes from ``codeformer_app.defaults``, so ``--help`` and every
usage error answer at once. The networks are built only when there is work for them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..defaults import (
    DEFAULT_DETECTOR,
    DEFAULT_DEVICE,
    DEFAULT_FEATHER,
    DEFAULT_FIDELITY,
    DEFAULT_PRECISION,
    DEFAULT_UPSCALE,
    DETECTOR_NAMES,
    DEVICE_CHOICES,
    OUTPUT_FORMATS,
    PRECISION_CHOICES,
    QUALITY_RANGE,
    UPSCALE_FACTORS,
)
from ..pipeline.engine_spec import EngineSpec
from .common import bounded_float, bounded_int, fidelity

if TYPE_CHECKING:
    from ..pipeline.restore_file import RestoreSettings

#: The widest soft edge offered, as a fraction of the face's size.
MAX_FEATHER = 0.5


def add_processing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-w",
        "--fidelity",
        type=fidelity,
        default=DEFAULT_FIDELITY,
        metavar="W",
        help="0 = strongest restoration, 1 = closest to the input (default %(default)s)",
    )
    parser.add_argument("--weights", type=Path, metavar="FILE", help="CodeFormer weights file to use")
    parser.add_argument(
        "--weights-dir",
        type=Path,
        metavar="DIR",
        help="weights folder (default: $CODEFORMER_APP_WEIGHTS_DIR or per user)",
    )
    parser.add_argument("--upscale", type=int, choices=UPSCALE_FACTORS, default=DEFAULT_UPSCALE, help="output size")
    parser.add_argument("--detector", choices=DETECTOR_NAMES, default=DEFAULT_DETECTOR, help="face detector")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, dest="output_format", help="output format")
    parser.add_argument(
        "--quality",
        type=bounded_int(QUALITY_RANGE.start, QUALITY_RANGE.stop - 1),
        metavar="Q",
        help=f"JPEG/WebP quality {QUALITY_RANGE.start}-{QUALITY_RANGE.stop - 1}",
    )
    parser.add_argument("--min-face", type=bounded_float(0.0), default=0.0, metavar="PX", help="ignore smaller faces")
    parser.add_argument("--only-center", action="store_true", help="restore only the face nearest the centre")
    parser.add_argument("--max-faces", type=bounded_int(1), metavar="N", help="restore at most the N largest faces")
    parser.add_argument(
        "--feather",
        type=bounded_float(0.0, MAX_FEATHER),
        default=DEFAULT_FEATHER,
        help=f"soft edge width as a fraction of the face size, 0-{MAX_FEATHER} (default 1/20)",
    )
    parser.add_argument("--no-parsing", action="store_true", help="square mask even if ParseNet is installed")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default=DEFAULT_DEVICE, help="where to run the networks")
    parser.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default=DEFAULT_PRECISION,
        help="fast: Winograd convolutions on CPU (within 1e-3 of exact); exact: direct convolutions",
    )
    parser.add_argument("--report", type=Path, metavar="FILE.json", help="write a JSON report of every file")


def engine_spec(args: argparse.Namespace, aligned: bool = False) -> EngineSpec:
    """The networks the options ask for; pre-aligned crops need neither a detector nor the paste helpers."""
    return EngineSpec(
        weights=args.weights,
        weights_dir=args.weights_dir,
        device=args.device,
        precision=args.precision,
        detector=None if aligned else args.detector,
        parsing=not aligned and not args.no_parsing,
        upscaler=not aligned and args.upscale > 1,
    )


def settings_from_args(args: argparse.Namespace) -> RestoreSettings:
    from ..detection import DetectionOptions
    from ..pipeline.photo import ComposeOptions
    from ..pipeline.restore_file import RestoreSettings

    return RestoreSettings(
        fidelity=args.fidelity,
        detection=DetectionOptions(min_face_size=args.min_face, only_center=args.only_center, max_faces=args.max_faces),
        compose=ComposeOptions(upscale=args.upscale, feather=args.feather),
        output_format=args.output_format,
        quality=args.quality,
        overwrite=getattr(args, "overwrite", False),
    )


def report_settings(args: argparse.Namespace, weights: Path | None, aligned: bool = False) -> dict[str, Any]:
    """What the report records about how its files were made (enough to make them again)."""
    from ..weights.inventory import weights_sha256

    weights_file = None
    if weights is not None:
        weights_file = {"file": str(weights.absolute()), "sha256": weights_sha256(weights, args.weights_dir)}
    settings: dict[str, Any] = {
        "app_version": __version__,
        "command": args.command,
        "fidelity": args.fidelity,
        "weights": weights_file,
        "device": args.device,
        "precision": args.precision,
        "format": getattr(args, "output_format", None),
        "quality": args.quality,
    }
    if aligned:
        return {**settings, "aligned": True}
    return {
        **settings,
        "detector": args.detector,
        "upscale": args.upscale,
        "feather": args.feather,
        "parsing": not args.no_parsing,
        "min_face": args.min_face,
        "only_center": args.only_center,
        "max_faces": args.max_faces,
    }
