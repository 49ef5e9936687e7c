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
    DEFAULT_BLEND,
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
    TASK_CHOICES,
    UPSCALE_FACTORS,
)
from ..pipeline.engine_spec import EngineSpec
from ..video import VIDEO_OUTPUT_FORMATS
from .common import AUTO_FIDELITY, bounded_float, bounded_int, fidelity_or_auto

if TYPE_CHECKING:
    from ..networks.codeformer.variants import FaceTask
    from ..pipeline.restore_file import RestoreSettings

#: The task whose weights fill a hole mask.
INPAINT_TASK = "inpaint"
#: The widest soft edge offered, as a fraction of the face's size.
MAX_FEATHER = 0.5


def add_processing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-w",
        "--fidelity",
        type=fidelity_or_auto,
        default=DEFAULT_FIDELITY,
        metavar="W",
        help="0 = strongest restoration, 1 = closest to the input (default %(default)s); "
        "'auto': per face, the strongest restoration that keeps the person recognisable",
    )
    parser.add_argument(
        "--blend",
        type=bounded_float(0.0, 1.0),
        default=DEFAULT_BLEND,
        metavar="B",
        help="how much of the restored face shows: 1 all of it (default), 0.5 half-way to the original",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        metavar="PHOTO",
        help="a clear photo of the person: each face's identity score compares with it instead of the input",
    )
    parser.add_argument(
        "--no-identity", action="store_true", help="do not measure each face's identity score (a little faster)"
    )
    parser.add_argument(
        "--task",
        choices=TASK_CHOICES,
        help="restore (default), colorize (black-and-white faces to colour) or inpaint (fill the --mask); "
        "the weights must be of that kind (default: the kind of the weights)",
    )
    parser.add_argument(
        "--mask",
        type=Path,
        metavar="MASK.png",
        help="inpaint: white where the face is to be filled (aligned crops: default their pure-white pixels)",
    )
    parser.add_argument("--weights", type=Path, metavar="FILE", help="CodeFormer weights file to use")
    parser.add_argument(
        "--weights-dir",
        type=Path,
        metavar="DIR",
        help="weights folder (default: $CODEFORMER_APP_WEIGHTS_DIR or per user)",
    )
    parser.add_argument("--upscale", type=int, choices=UPSCALE_FACTORS, default=DEFAULT_UPSCALE, help="output size")
    parser.add_argument(
        "--face-upsample",
        action="store_true",
        help="with --upscale: enlarge faces that end up larger than 512 px with Real-ESRGAN (when installed)",
    )
    parser.add_argument("--detector", choices=DETECTOR_NAMES, default=DEFAULT_DETECTOR, help="face detector")
    parser.add_argument(
        "--format",
        choices=(*OUTPUT_FORMATS, *VIDEO_OUTPUT_FORMATS),
        dest="output_format",
        help="photos: png|jpg|webp|tif (default: the input's); videos: mp4 (default, H.264/AAC)|mkv|mov|webm",
    )
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


def auto_fidelity(args: argparse.Namespace) -> bool:
    return args.fidelity == AUTO_FIDELITY


def check_likeness_options(args: argparse.Namespace) -> None:
    """``-w auto`` and ``--reference`` need the identity network and a readable photo: said before anything
    loads (``PlanError``)."""
    from ..batch import PlanError

    if args.reference is not None and not args.reference.is_file():
        raise PlanError(f"{args.reference}: the reference photo does not exist")
    if args.mask is not None and not args.mask.is_file():
        raise PlanError(f"{args.mask}: the mask image does not exist")
    if args.mask is not None and args.task not in (None, INPAINT_TASK):
        raise PlanError("--mask is for inpainting (--task inpaint)")
    if auto_fidelity(args) or args.reference is not None:
        from ..identity import identity_missing_reason

        reason = identity_missing_reason()
        if reason is not None:
            what = "-w auto" if auto_fidelity(args) else "--reference"
            raise PlanError(f"{what} needs the identity network: {reason}")


def engine_spec(args: argparse.Namespace, aligned: bool = False) -> EngineSpec:
    """The networks the options ask for; pre-aligned crops need neither a detector nor the paste helpers."""
    return EngineSpec(
        task=args.task,
        identity=not args.no_identity,
        identity_required=auto_fidelity(args),
        reference=args.reference,
        weights=args.weights,
        weights_dir=args.weights_dir,
        device=args.device,
        precision=args.precision,
        detector=None if aligned else args.detector,
        parsing=not aligned and not args.no_parsing,
        upscaler=not aligned and (args.upscale > 1 or args.face_upsample),
    )


def task_for(args: argparse.Namespace, engine) -> FaceTask:
    """``--task``, or the kind of the loaded weights (``model.variants.task_of``)."""
    from ..networks.codeformer.variants import FaceTask, task_of

    return FaceTask(args.task) if args.task else task_of(engine.model.config)


def settings_from_args(args: argparse.Namespace, task: FaceTask | None = None) -> RestoreSettings:
    from ..detection import DetectionOptions
    from ..pipeline.photo import ComposeOptions
    from ..pipeline.restore_file import RestoreSettings

    return RestoreSettings(
        fidelity=DEFAULT_FIDELITY if auto_fidelity(args) else args.fidelity,
        auto_fidelity=auto_fidelity(args),
        task=task or FaceTask.RESTORE,
        mask=args.mask,
        detection=DetectionOptions(min_face_size=args.min_face, only_center=args.only_center, max_faces=args.max_faces),
        compose=ComposeOptions(
            upscale=args.upscale, feather=args.feather, blend=args.blend, face_upsample=args.face_upsample
        ),
        output_format=args.output_format if args.output_format in OUTPUT_FORMATS else None,
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
        "blend": args.blend,
        "task": args.task or "restore",
        "identity": not args.no_identity,
        "reference": None if args.reference is None else str(args.reference.absolute()),
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
        "face_upsample": args.face_upsample,
        "feather": args.feather,
        "parsing": not args.no_parsing,
        "min_face": args.min_face,
        "only_center": args.only_center,
        "max_faces": args.max_faces,
    }
