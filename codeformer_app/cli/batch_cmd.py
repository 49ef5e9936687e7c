"""``codeformer-app batch``: a whole folder tree, resumable, with a report in the output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..batch import REPORT_NAME, plan_batch
from ..errors import CodeFormerAppError
from ..pipeline.restore_file import restore_file
from .common import setup_failed
from .engine_options import add_processing_options, build_engine, settings_from_args
from .run_jobs_cli import run_with_progress


def add_batch_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "batch",
        help="restore every photo under a folder, mirrored into another (resumable)",
        description="Restore every photo under IN_DIR (recursively) into the same tree under OUT_DIR. "
        "Finished files are skipped when the command is run again, so an interrupted run resumes. "
        f"A report of every file is written to OUT_DIR/{REPORT_NAME} (or --report).",
    )
    parser.add_argument("in_dir", type=Path, metavar="IN_DIR")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    add_processing_options(parser)
    parser.set_defaults(handler=run_batch)
    return parser


def run_batch(args: argparse.Namespace) -> int:
    report = args.report or args.out_dir / REPORT_NAME
    try:
        jobs = plan_batch(args.in_dir, args.out_dir, args.output_format)
        engine = build_engine(args)
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except (CodeFormerAppError, ValueError, OSError) as error:
        return setup_failed(error, args.out_dir)
    settings = settings_from_args(args)
    return run_with_progress(jobs, lambda s, t: restore_file(s, t, engine, settings), report, skip_existing=True)
