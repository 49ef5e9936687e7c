"""``codeformer-train``: train the three CodeFormer stages, and manage the perceptual network's weights.

    codeformer-train vqgan  --data FACES --out runs/vqgan                                  (stage I)
    codeformer-train codes  --data FACES --out runs/codes  --vqgan runs/vqgan/vqgan_ema.safetensors   (II)
    codeformer-train fusion --data FACES --out runs/fusion --init runs/codes/codeformer_ema.safetensors \\
                            --vqgan runs/vqgan/vqgan_ema.safetensors                                (III)
    codeformer-train resume runs/fusion
    codeformer-train align PHOTOS... --out FACES                          (make a training folder)
    codeformer-train weights download | import FILE | status
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from codeformer_app.errors import CodeFormerAppError

from .config import RunConfig, RunRecord, StageName, preset, with_overrides
from .loop import CONFIG_NAME, train

PROG = "codeformer-train"
EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
#: Steps of a run when --steps is not given: the official schedule, or a few dozen for the tiny preset.
DEFAULT_STEPS = {
    ("full", StageName.VQGAN): 1_600_000,
    ("full", StageName.CODES): 500_000,
    ("full", StageName.FUSION): 150_000,
}
TINY_DEFAULT_STEPS = 60
STAGE_HELP = {
    StageName.VQGAN: "stage I: learn the codebook, encoder and decoder (VQGAN) on clean faces",
    StageName.CODES: "stage II: learn to predict the clean codes from degraded faces (w = 0)",
    StageName.FUSION: "stage III: learn the controllable feature transform (w = 1)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Train CodeFormer's three stages on a folder of faces.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for stage in StageName:
        _add_stage_parser(commands, stage)
    resume = commands.add_parser("resume", help="continue a run from its folder's config.json and checkpoint")
    resume.add_argument("out", type=Path, metavar="OUT", help="the run folder")
    resume.add_argument("--steps", type=int, help="train until this many steps (default: the run's own)")
    resume.add_argument("--workers", type=int, help="data-loading worker processes")
    resume.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    resume.set_defaults(handler=_run_resume)
    align = commands.add_parser("align", help="make a training folder: aligned 512x512 faces cut from photos")
    align.add_argument("inputs", nargs="+", type=Path, metavar="PHOTO", help="photos, or folders of photos")
    align.add_argument("--out", type=Path, required=True, metavar="FACES", help="folder for the aligned faces")
    align.add_argument("--detector", choices=("mtcnn", "retinaface"), default="mtcnn")
    align.set_defaults(handler=_run_align)
    _add_weights_parser(commands)
    return parser


def _run_align(args: argparse.Namespace) -> int:
    from .align_faces import align_photos

    try:
        report = align_photos(args.inputs, args.out, args.detector)
    except (CodeFormerAppError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    for source, reason in report.failed.items():
        print(f"failed: {source}: {reason}", file=sys.stderr)
    for source in report.without_faces:
        print(f"no face found: {source}", file=sys.stderr)
    print(f"{len(report.written)} faces written to {args.out}; {len(report.failed)} photos failed")
    return EXIT_OK if not report.failed else 1


def _add_stage_parser(commands: argparse._SubParsersAction, stage: StageName) -> None:
    sub = commands.add_parser(str(stage), help=STAGE_HELP[stage], description=STAGE_HELP[stage])
    sub.add_argument("--data", type=Path, required=True, metavar="FACES", help="folder of aligned 512x512 faces")
    sub.add_argument("--out", type=Path, required=True, metavar="OUT", help="run folder (created; reused to resume)")
    sub.add_argument("--preset", choices=("full", "tiny"), default="full", help="official recipe or a tiny network")
    if stage is not StageName.VQGAN:
        sub.add_argument("--vqgan", metavar="FILE", help="the stage I VQGAN (its encoder gives the target codes)")
    sub.add_argument(
        "--init",
        metavar="FILE",
        help={
            StageName.VQGAN: "start from these VQGAN weights (fine-tuning)",
            StageName.CODES: "continue from a full CodeFormer (fine-tuning)",
            StageName.FUSION: "the stage II export (or a CodeFormer checkpoint to fine-tune)",
        }[stage],
    )
    sub.add_argument("--steps", type=int, help="total steps (default: the official schedule; tiny: 60)")
    sub.add_argument("--batch-size", type=int, default=4)
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    sub.add_argument("--workers", type=int, default=2, help="data-loading worker processes")
    sub.add_argument("--log-every", type=int, default=100, metavar="N")
    sub.add_argument("--checkpoint-every", type=int, default=5000, metavar="N")
    sub.add_argument("--no-amp", action="store_true", help="no bfloat16 autocast on CUDA")
    sub.add_argument("--no-tensorboard", action="store_true")
    sub.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one setting of the stage, e.g. optimizer.lr=2e-4 or gan.start_step=1000 (repeatable)",
    )
    sub.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub.set_defaults(handler=_run_stage, stage=stage)


def _run_stage(args: argparse.Namespace) -> int:
    stage: StageName = args.stage
    config = preset(stage, args.preset)
    # absolute paths, so `resume` works from any folder
    files = {"init": args.init, "vqgan": getattr(args, "vqgan", None)}
    config = dataclasses.replace(config, **{k: str(Path(v).resolve()) for k, v in files.items() if v})
    try:
        config = with_overrides(config, args.set)
        steps = args.steps or DEFAULT_STEPS.get((args.preset, stage), TINY_DEFAULT_STEPS)
        run = _run_config(args, steps)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return _train(config, run, args.data.resolve(), args.out, args.quiet)


def _run_config(args: argparse.Namespace, steps: int) -> RunConfig:
    return RunConfig(
        steps=steps,
        batch_size=args.batch_size,
        seed=args.seed,
        device=args.device,
        amp=not args.no_amp,
        num_workers=args.workers,
        log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
        tensorboard=not args.no_tensorboard,
    )


def _run_resume(args: argparse.Namespace) -> int:
    path = args.out / CONFIG_NAME
    if not path.is_file():
        print(f"error: {path}: not found; is {args.out} a run folder?", file=sys.stderr)
        return EXIT_ERROR
    try:
        record = RunRecord.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"error: {path}: cannot be read as a run's settings ({error})", file=sys.stderr)
        return EXIT_ERROR
    changes = {k: v for k, v in {"steps": args.steps, "num_workers": args.workers}.items() if v is not None}
    run = dataclasses.replace(record.run, **changes)
    return _train(record.config, run, Path(record.data), args.out, args.quiet)


def _train(config, run: RunConfig, data: Path, out: Path, quiet: bool) -> int:
    from .loop import TrainingInterrupted

    try:
        result = train(config, run, data, out, progress=not quiet)
    except TrainingInterrupted as stopped:
        print(f"\n{stopped}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CodeFormerAppError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{result.steps_done} steps done; EMA weights: {result.export}; scalars: {result.log}")
    return EXIT_OK


def _add_weights_parser(commands: argparse._SubParsersAction) -> None:
    weights = commands.add_parser("weights", help="the perceptual loss's VGG16 and LPIPS weights")
    actions = weights.add_subparsers(dest="action", metavar="ACTION")
    status = actions.add_parser("status", help="which files are installed")
    download = actions.add_parser("download", help="download both files (SHA-256 checked, resumable)")
    imported = actions.add_parser("import", help="install a local copy of either file")
    imported.add_argument("file", type=Path, metavar="FILE")
    for sub in (status, download, imported):
        sub.add_argument("--weights-dir", type=Path, help="weights folder (default: the app's)")
    status.set_defaults(handler=_weights_status)
    download.set_defaults(handler=_weights_download)
    imported.set_defaults(handler=_weights_import)


def _weights_status(args: argparse.Namespace) -> int:
    from . import perceptual_weights as pw

    try:
        paths = pw.find_perceptual_weights(args.weights_dir)
    except CodeFormerAppError as error:
        print(str(error))
        return EXIT_ERROR
    for path in paths:
        print(f"installed: {path}")
    return EXIT_OK


def _weights_download(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import perceptual_weights as pw

    bars: dict[str, tqdm] = {}

    def progress(entry, done: int, total: int) -> None:
        if entry.name not in bars:
            bars[entry.name] = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=entry.file_name)
        bars[entry.name].n = done
        bars[entry.name].refresh()

    try:
        paths = pw.download_perceptual_weights(args.weights_dir, progress=progress)
    except CodeFormerAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        for bar in bars.values():
            bar.close()
    for path in paths:
        print(f"installed: {path}")
    return EXIT_OK


def _weights_import(args: argparse.Namespace) -> int:
    from . import perceptual_weights as pw

    try:
        path = pw.import_perceptual_weights_file(args.file, args.weights_dir)
    except (CodeFormerAppError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    print(f"installed: {path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
