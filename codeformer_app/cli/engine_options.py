"""Options shared by ``restore`` and ``batch``, and building the networks from them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..detection import DETECTOR_NAMES, DetectionOptions
from ..device import DEVICE_CHOICES
from ..imaging import OUTPUT_FORMATS
from ..model.runtime import Precision
from ..pipeline.engine_setup import EngineSpec, load_engine
from ..pipeline.paste import DEFAULT_FEATHER
from ..pipeline.photo import ComposeOptions
from ..pipeline.restore_file import Engine, RestoreSettings
from ..pipeline.upscale import UPSCALE_FACTORS
from .common import fidelity

DEFAULT_FIDELITY = 0.5


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
    parser.add_argument("--upscale", type=int, choices=UPSCALE_FACTORS, default=1, help="output size factor")
    parser.add_argument("--detector", choices=DETECTOR_NAMES, default=DETECTOR_NAMES[0], help="face detector")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, dest="output_format", help="output format")
    parser.add_argument("--quality", type=int, metavar="Q", help="JPEG/WebP quality 1-100")
    parser.add_argument("--min-face", type=float, default=0.0, metavar="PX", help="ignore smaller faces")
    parser.add_argument("--only-center", action="store_true", help="restore only the face nearest the centre")
    parser.add_argument("--max-faces", type=int, metavar="N", help="restore at most the N largest faces")
    parser.add_argument("--feather", type=float, default=DEFAULT_FEATHER, help="soft edge width (default 1/20)")
    parser.add_argument("--no-parsing", action="store_true", help="square mask even if ParseNet is installed")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where to run the networks")
    parser.add_argument(
        "--precision",
        choices=[p.value for p in Precision],
        default=Precision.FAST.value,
        help="fast: Winograd convolutions on CPU (within 1e-3 of exact); exact: direct convolutions",
    )
    parser.add_argument("--report", type=Path, metavar="FILE.json", help="write a JSON report of every file")


def engine_spec(args: argparse.Namespace) -> EngineSpec:
    return EngineSpec(
        weights=args.weights,
        device=args.device,
        precision=Precision(args.precision),
        detector=args.detector,
        parsing=not args.no_parsing,
        upscaler=args.upscale > 1,
    )


def build_engine(args: argparse.Namespace) -> Engine:
    """The networks; raises CodeFormerAppError/ValueError with a user-facing message."""
    return load_engine(engine_spec(args))


def settings_from_args(args: argparse.Namespace) -> RestoreSettings:
    return RestoreSettings(
        fidelity=args.fidelity,
        detection=DetectionOptions(min_face_size=args.min_face, only_center=args.only_center, max_faces=args.max_faces),
        compose=ComposeOptions(upscale=args.upscale, feather=args.feather),
        output_format=args.output_format,
        quality=args.quality,
    )
