"""Training throughput of the three stages at full size: seconds per step, steps per second, peak memory.

Usage (from the repository root)::

    .venv/bin/python -m bench.bench_training [--stages vqgan codes fusion] [--steps 3] [--batch-size 1]
    .venv/bin/python -m bench.bench_training --device cuda --batch-size 4 --amp

Each stage runs in a fresh process of its own (so one stage's peak memory is not another's), with the
official network sizes and randomly initialised weights (speed does not depend on the values): stage I from
scratch, stage II and III from generated VQGAN and CodeFormer files. The GAN terms are on from the first step,
because that is what a stage costs for almost all of its schedule. The first ``--warmup`` steps are not
timed. The perceptual loss uses a seeded random VGG16 with the same shape as the real one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("vqgan", "codes", "fusion")


def _faces(folder: Path, count: int = 4) -> Path:
    """A few 512x512 photos from scikit-image (content does not change the cost of a step)."""
    import cv2
    from skimage import data

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    for index in range(count):
        rgb = cv2.resize(photos[index % len(photos)], (512, 512), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"{index:05d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder


def _measure(stage_name: str, args: argparse.Namespace) -> dict:
    import torch

    from codeformer_app.networks.codeformer import CodeFormer
    from codeformer_train.config import StageName, preset
    from codeformer_train.data import StepBatches, list_faces
    from codeformer_train.networks import VQAutoEncoder, VQGANConfig
    from codeformer_train.perceptual import PerceptualLoss
    from codeformer_train.stage_weights import export_codeformer, export_vqgan
    from codeformer_train.stages import build_stage, needs_perceptual

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    (work / "faces").mkdir()
    faces = _faces(work / "faces")
    config = preset(StageName(stage_name), "full")
    if hasattr(config, "gan"):
        config = dataclasses.replace(config, gan=dataclasses.replace(config.gan, start_step=0))
    if stage_name in ("codes", "fusion"):
        vqgan = VQAutoEncoder(VQGANConfig())
        vqgan_path = export_vqgan(vqgan.state_dict(), json.dumps(vqgan.config.to_dict()), work / "vqgan.safetensors", 0)
        config = dataclasses.replace(config, vqgan=str(vqgan_path))
        del vqgan
    if stage_name == "fusion":
        model = CodeFormer()
        init = export_codeformer(model, model.state_dict(), work / "codeformer.safetensors", "codes", 0)
        config = dataclasses.replace(config, init=str(init))
        del model
    perceptual = PerceptualLoss.seeded_random(0) if needs_perceptual(config) else None
    total = args.warmup + args.steps
    stage = build_stage(config, device, total, perceptual, amp=args.amp and device.type == "cuda")
    batches = StepBatches(
        list_faces(faces),
        img_size=512,
        batch_size=args.batch_size,
        seed=0,
        degradation=getattr(config, "degradation", None),
        first_step=0,
        last_step=total,
    )
    times = []
    for step in range(total):
        batch = batches[step]
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        stage.set_step(step)
        stage.train_step(batch, step)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    result = {
        "stage": stage_name,
        "batch_size": args.batch_size,
        "seconds_per_step": seconds,
        "steps_per_second": 1.0 / seconds,
        "faces_per_second": args.batch_size / seconds,
        "timed_steps": len(times),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "trainable_parameters_m": sum(p.numel() for p in stage.network.parameters() if p.requires_grad) / 1e6,
    }
    if device.type == "cuda":
        result["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--steps", type=int, default=3, help="timed steps per stage")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA only)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one", choices=STAGES, help=argparse.SUPPRESS)  # internal: measure in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_measure(args.one, args)))
        return 0
    results = []
    for stage in args.stages:
        command = [sys.executable, "-m", "bench.bench_training", "--one", stage, *_forwarded(args)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        row = results[-1]
        print(
            f"{stage:7s} batch {row['batch_size']}: {row['seconds_per_step']:.2f} s/step "
            f"({row['steps_per_second']:.3f} steps/s), peak RSS {row['peak_rss_gb']:.1f} GB, "
            f"{row['trainable_parameters_m']:.1f} M trainable parameters",
            flush=True,
        )
    summary = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "results": results}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


def _forwarded(args: argparse.Namespace) -> list[str]:
    forwarded = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--batch-size", str(args.batch_size)]
    forwarded += ["--threads", str(args.threads), "--device", args.device]
    return forwarded + (["--amp"] if args.amp else [])


if __name__ == "__main__":
    raise SystemExit(main())
