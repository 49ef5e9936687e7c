"""``codeformer-app restore``: restore the faces of photos (or aligned face crops) into an output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..batch import plan_files
from ..errors import CodeFormerAppError
from ..model import CodeFormer
from ..pipeline.restore_file import Engine, FaceReport, RestoreOutcome, restore_file
from ..restore.aligned import restore_aligned_file
from .common import setup_failed
from .engine_options import add_processing_options, build_engine, settings_from_args
from .run_jobs_cli import run_with_progress


def add_restore_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "restore",
        help="restore the faces in photos",
        description="Restore faces and write each result to OUTDIR under the input's file name "
        "(the extension changes only with --format). INPUT may be files or folders (their photos, not recursive).",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="photo files or folders")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder")
    parser.add_argument(
        "--aligned",
        action="store_true",
        help="inputs are face crops already aligned to the FFHQ template (resized to 512 if needed)",
    )
    add_processing_options(parser)
    parser.set_defaults(handler=run_restore)
    return parser


def run_restore(args: argparse.Namespace) -> int:
    try:
        engine = build_engine(args)
        process = _aligned_process(engine.model, args.fidelity) if args.aligned else _photo_process(args, engine)
        args.output.mkdir(parents=True, exist_ok=True)
    except (CodeFormerAppError, ValueError, OSError) as error:
        return setup_failed(error, args.output)
    jobs = plan_files(args.inputs, args.output, None if args.aligned else args.output_format)
    return run_with_progress(jobs, process, args.report, skip_existing=False)


def _photo_process(args: argparse.Namespace, engine: Engine):
    settings = settings_from_args(args)
    return lambda source, target: restore_file(source, target, engine, settings)


def _aligned_process(model: CodeFormer, fidelity: float):
    def process(source: Path, target: Path) -> RestoreOutcome:
        w, h = restore_aligned_file(model, source, target, fidelity)
        return RestoreOutcome([FaceReport(box=(0.0, 0.0, float(w), float(h)), score=1.0, fidelity=fidelity)])

    return process
