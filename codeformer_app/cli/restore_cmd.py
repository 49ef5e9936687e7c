"""``codeformer-app restore``: restore the faces of photos (or aligned face crops) into an output folder.

Everything the user gave is checked first (inputs, output folder, names, weights), in well under a second and
before PyTorch is imported; a mistake is exit code 2 with nothing created.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..batch import PlanError, check_output_folder, plan_files
from ..errors import CodeFormerAppError
from ..weights.resolve import resolve_codeformer_weights
from .common import setup_failed
from .loading import load_engine_for_cli
from .options import (
    add_processing_options,
    check_likeness_options,
    engine_spec,
    report_settings,
    settings_from_args,
    task_for,
)
from .processing import photo_or_video
from .run_jobs_cli import FaceProgress, run_with_progress


def add_restore_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "restore",
        help="restore the faces in photos",
        description="Restore faces and write each result to OUTDIR under the input's file name "
        "(the extension changes only with --format). INPUT may be files or folders (their photos, not recursive). "
        "A file already in OUTDIR is never replaced (the result gets a free name such as photo-restored.png) "
        "unless --overwrite is given; an input is never replaced.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="photo files or folders")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder")
    parser.add_argument(
        "--aligned",
        action="store_true",
        help="inputs are face crops already aligned to the FFHQ template (resized to 512 if needed)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace files already in OUTDIR that have the result's name"
    )
    add_processing_options(parser)
    parser.set_defaults(handler=run_restore)
    return parser


def run_restore(args: argparse.Namespace) -> int:
    try:
        fmt = None if args.aligned else args.output_format
        jobs = plan_files(args.inputs, args.output, fmt, overwrite=args.overwrite)
        check_output_folder(args.output)
        if args.report is not None:
            check_output_folder(args.report.absolute().parent)
        check_likeness_options(args)
        weights = resolve_codeformer_weights(args.weights, args.weights_dir, args.task)
    except (PlanError, CodeFormerAppError, OSError) as error:
        return setup_failed(error, args.output)
    args.output.mkdir(parents=True, exist_ok=True)

    def load_process(on_face: FaceProgress):
        engine = load_engine_for_cli(engine_spec(args, aligned=args.aligned))
        settings = settings_from_args(args, task_for(args, engine))
        if args.aligned:
            from ..pipeline.aligned import AlignedSettings, aligned_process

            aligned = AlignedSettings(
                settings.task, settings.fidelity, settings.auto_fidelity, settings.mask, replace=args.overwrite
            )
            return aligned_process(engine.model, aligned, engine.identity)
        return photo_or_video(engine, settings, on_face)

    return run_with_progress(
        jobs, load_process, args.report, settings=lambda: report_settings(args, weights, aligned=args.aligned)
    )
