"""``codeformer-app batch``: a whole folder tree, resumable, with a report in the output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..batch import REPORT_NAME, Journal, PlanError, check_output_folder, plan_batch, read_finished
from ..errors import CodeFormerAppError, WeightsError
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


def add_batch_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "batch",
        help="restore every photo under a folder, mirrored into another (resumable)",
        description="Restore every photo under IN_DIR (recursively) into the same tree under OUT_DIR. "
        "Finished files are skipped when the command is run again, so an interrupted run resumes. "
        "Files in OUT_DIR that this batch did not make are never touched (a result then gets a free name). "
        f"A report of every file is written to OUT_DIR/{REPORT_NAME} (or --report).",
    )
    parser.add_argument("in_dir", type=Path, metavar="IN_DIR")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    add_processing_options(parser)
    parser.set_defaults(handler=run_batch)
    return parser


def run_batch(args: argparse.Namespace) -> int:
    report = (args.report or args.out_dir / REPORT_NAME).absolute()
    try:
        jobs = plan_batch(args.in_dir, args.out_dir, args.output_format, read_finished(args.out_dir, report))
        check_output_folder(args.out_dir)
        check_output_folder(report.parent)
        check_likeness_options(args)
        weights = _weights_if_needed(args, pending=any(not job.done for job in jobs))
    except (PlanError, CodeFormerAppError, OSError) as error:
        return setup_failed(error, args.out_dir)
    args.out_dir.mkdir(parents=True, exist_ok=True)

    def load_process(on_face: FaceProgress):
        engine = load_engine_for_cli(engine_spec(args))
        settings = settings_from_args(args, task_for(args, engine))
        return photo_or_video(engine, settings, on_face)

    return run_with_progress(
        jobs, load_process, report, Journal(args.out_dir), lambda: report_settings(args, weights), resumable=True
    )


def _weights_if_needed(args: argparse.Namespace, pending: bool) -> Path | None:
    """The CodeFormer weights; missing weights are an error only when some file still needs them."""
    try:
        return resolve_codeformer_weights(args.weights, args.weights_dir, args.task)
    except WeightsError:
        if pending:
            raise
        return None
