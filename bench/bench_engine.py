"""Speed, memory and output quality of our CodeFormer engine against the reference implementation.

Usage (from the repository root)::

    .venv/bin/python -m bench.bench_engine [--rounds 5] [--threads 2] [--json OUT.json] [--ablation] [--omp-default]
    .venv/bin/python -m bench.bench_engine --device cuda   # GPU: ours fp32/fp16 vs reference fp32

Why it is built this way (see docs/benchmarks.md):

* The reference runs as its users run it, in a plain process of its own: our process-wide allocator tuning
  must not speed it up, and nothing of the reference may slow us down.
* Every measurement has its own long-lived worker (model loaded once, warmed up once); the parent asks them in
  turn, round after round, so that noise from the rest of the machine hits all of them alike, and reports
  medians.
* Peak memory is taken twice: from the timing workers after all their runs, and from fresh processes that
  only load the model and restore one face, which is what one user restoring one face pays. The latter is
  repeated (``--fresh-runs``) because it varies from process to process; the largest counts for the goal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import report
from bench.client import Worker, WorkerError, WorkerSpec, worker_pool
from bench.engine_fixtures import (
    FACE_SIZE,
    INPUT_SEED,
    MODEL_SEED,
    PERTURB_SCALE,
    PERTURB_SEED,
    machine_info,
    write_fixtures,
)
from bench.engine_measurements import REFERENCE, Measurement, measurements

DEFAULT_ROUNDS = 5
DEFAULT_THREADS = 2
#: Fidelity weight of the timed runs: w > 0 runs the fusion blocks, the expensive case.
DEFAULT_WEIGHT = 0.7
#: Seconds any single worker answer (model load included) may take before the worker is killed.
DEFAULT_TIMEOUT_S = 600.0
#: Fresh one-face processes per measurement; their peak RSS varies by a few hundred MB from run to run.
DEFAULT_FRESH_RUNS = 3
KIB = 1024


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _spec(m: Measurement, device: str, threads: int, weights: Path, face: Path) -> WorkerSpec:
    args = [*m.worker_args, "--device", device, "--threads", str(threads), "--weights", str(weights)]
    return WorkerSpec(name=m.key, args=[*args, "--input", str(face)], env=m.env)


@dataclass
class Samples:
    """What the timing rounds collect per measurement."""

    seconds: list[float] = field(default_factory=list)
    page_faults: list[int] = field(default_factory=list)
    first_call: float = math.nan


def run_timing_rounds(
    chosen: list[Measurement], workers: dict[str, Worker], rounds: int, w: float, outputs: Path
) -> dict[str, Samples]:
    """One warm-up round, then ``rounds`` rounds asking each worker in turn; saves round 1's outputs."""
    samples = {m.key: Samples() for m in chosen}
    for m in chosen:
        samples[m.key].first_call = workers[m.key].request(op="run", w=w, save=None)["seconds"]
    _progress("warm-up: " + _round_summary({key: s.first_call for key, s in samples.items()}))
    for index in range(rounds):
        this_round = {}
        for m in chosen:
            save = str(outputs / f"{m.key}.npy") if index == 0 else None
            answer = workers[m.key].request(op="run", w=w, save=save)
            samples[m.key].seconds.append(answer["seconds"])
            samples[m.key].page_faults.append(answer["page_faults"])
            this_round[m.key] = answer["seconds"]
        _progress(f"round {index + 1}/{rounds}: " + _round_summary(this_round))
    return samples


def _round_summary(seconds: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.2f} s" for key, value in seconds.items())


def fresh_one_face(
    m: Measurement, device: str, threads: int, weights: Path, face: Path, w: float, timeout: float
) -> dict[str, Any]:
    """Peak memory of a process that only loads the model and restores one face."""
    with worker_pool([_spec(m, device, threads, weights, face)], threads, timeout) as workers:
        worker = workers[m.key]
        ready = worker.wait_ready()
        seconds = worker.request(op="run", w=w, save=None)["seconds"]
        stats = worker.request(op="stats")
    return {
        "seconds": seconds,
        "rss_after_imports_kib": ready["rss_after_imports_kib"],
        "peak_rss_after_load_kib": ready["peak_rss_after_load_kib"],
        **stats,
    }


def compare_outputs(chosen: list[Measurement], outputs: Path) -> dict[str, dict[str, float | None]]:
    """PSNR and max |diff| of every output against the reference's, both clamped to the image range."""
    expected = np.clip(np.load(outputs / f"{REFERENCE}.npy"), -1.0, 1.0)
    quality: dict[str, dict[str, float | None]] = {}
    for m in chosen:
        if m.key == REFERENCE:
            continue
        got = np.clip(np.load(outputs / f"{m.key}.npy"), -1.0, 1.0)
        psnr, max_diff = report.psnr_and_max_diff(got, expected)
        quality[m.key] = {"psnr_db": None if psnr == float("inf") else psnr, "max_abs_diff": max_diff}
    return quality


def memory_entry(worker_stats: dict[str, Any], fresh_runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Peaks of the timing worker and of the fresh one-face processes (the largest counts for the goal)."""
    entry: dict[str, Any] = {
        "worker_peak_rss_bytes": worker_stats["peak_rss_kib"] * KIB,
        "worker_cuda_peak_bytes": worker_stats["cuda_peak_bytes"],
    }
    if not fresh_runs:
        return entry
    peaks = [run["peak_rss_kib"] * KIB for run in fresh_runs]
    imports = [run["rss_after_imports_kib"] for run in fresh_runs if run["rss_after_imports_kib"] is not None]
    cuda_peaks = [run["cuda_peak_bytes"] for run in fresh_runs if run["cuda_peak_bytes"] is not None]
    seconds = [run["seconds"] for run in fresh_runs]
    entry.update(
        fresh_runs=len(fresh_runs),
        fresh_peak_rss_bytes=max(peaks),
        fresh_peak_rss_bytes_median=statistics.median(peaks),
        fresh_peak_rss_bytes_samples=peaks,
        fresh_rss_after_imports_bytes=max(imports) * KIB if imports else None,
        fresh_peak_rss_after_load_bytes=max(run["peak_rss_after_load_kib"] for run in fresh_runs) * KIB,
        fresh_cuda_peak_bytes=max(cuda_peaks) if cuda_peaks else None,
        fresh_seconds=statistics.median(seconds),
        fresh_seconds_samples=seconds,
    )
    return entry


def evaluate_goals(result: dict[str, Any]) -> list[dict[str, Any]]:
    """PRODUCT.md's CPU targets; on a GPU only output quality has one."""
    timings, quality, memory = result["timings"], result["quality"], result["memory"]
    goals = []
    if result["config"]["device"] == "cpu":
        goals.append(report.goal_entry(report.FULL_RATIO, "ours_full", timings["ours_full"]["ratio_vs_reference"]))
        goals.append(
            report.goal_entry(report.SLIDER_RATIO, "ours_slider", timings["ours_slider"]["ratio_vs_reference"])
        )
        peak = memory["ours_full"].get("fresh_peak_rss_bytes")
        goals.append(
            report.goal_entry(report.MAX_PEAK, "ours_full", None if peak is None else peak / report.BYTES_PER_GB)
        )
    for key, q in quality.items():
        if key.endswith("fp16"):
            continue  # half precision is a preview mode at best; its PSNR is information only
        entry = report.goal_entry(report.MIN_PSNR, key, q["psnr_db"])
        if q["psnr_db"] is None:  # identical output: infinite PSNR, which JSON cannot hold
            entry["passed"] = True
        goals.append(entry)
    return goals


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    chosen = measurements(args.device, args.ablation, args.omp_default)
    result: dict[str, Any] = {
        "benchmark": "codeformer-engine",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(args.device),
        "config": {
            "device": args.device,
            "threads": args.threads,
            "rounds": args.rounds,
            "fresh_runs": args.fresh_runs,
            "w": args.weight,
            "face_size": FACE_SIZE,
            "dtype": "fp32" if args.device == "cpu" else "fp32 (+ fp16 autocast rows)",
            "seeds": {
                "model": MODEL_SEED,
                "perturb": PERTURB_SEED,
                "perturb_scale": PERTURB_SCALE,
                "input": INPUT_SEED,
            },
            "ablation": args.ablation,
            "omp_default": args.omp_default,
            "command": " ".join([Path(sys.executable).name, "-m", "bench.bench_engine", *sys.argv[1:]]),
        },
        "notes": [],
    }
    with tempfile.TemporaryDirectory(prefix="codeformer-bench-") as tmp:
        tmp_dir = Path(tmp)
        _progress(f"writing seeded weights and input to {tmp_dir} ...")
        weights, face = write_fixtures(tmp_dir)

        specs = [_spec(m, args.device, args.threads, weights, face) for m in chosen]
        _progress(f"starting {len(specs)} workers ({', '.join(s.name for s in specs)}) ...")
        started = time.perf_counter()
        with worker_pool(specs, args.threads, args.timeout) as workers:
            _progress(f"workers ready after {time.perf_counter() - started:.0f} s")
            samples = run_timing_rounds(chosen, workers, args.rounds, args.weight, tmp_dir)
            worker_stats = {m.key: workers[m.key].request(op="stats") for m in chosen}
            loads = {m.key: workers[m.key].wait_ready()["load_seconds"] for m in chosen}
        result["quality"] = compare_outputs(chosen, tmp_dir)

        fresh: dict[str, list[dict[str, Any]]] = {m.key: [] for m in chosen if m.is_full_restore}
        for index in range(args.fresh_runs):  # alternating too: peaks vary from process to process
            for m in chosen:
                if m.key in fresh:
                    run = fresh_one_face(m, args.device, args.threads, weights, face, args.weight, args.timeout)
                    fresh[m.key].append(run)
            summary = ", ".join(
                f"{key} {runs[-1]['peak_rss_kib'] * KIB / report.BYTES_PER_GB:.2f} GB" for key, runs in fresh.items()
            )
            _progress(f"fresh processes, load + one face, {index + 1}/{args.fresh_runs}: peak RSS {summary}")

    reference_median = statistics.median(samples[REFERENCE].seconds)
    result["timings"] = {
        m.key: {
            "label": m.label,
            "samples": samples[m.key].seconds,
            "median": statistics.median(samples[m.key].seconds),
            "min": min(samples[m.key].seconds),
            "first_call": samples[m.key].first_call,
            "load_seconds": loads[m.key],
            "ratio_vs_reference": statistics.median(samples[m.key].seconds) / reference_median,
            "page_faults": samples[m.key].page_faults,
            "page_faults_median": statistics.median(samples[m.key].page_faults),
        }
        for m in chosen
    }
    result["memory"] = {m.key: memory_entry(worker_stats[m.key], fresh.get(m.key, [])) for m in chosen}
    if result["machine"]["usable_cpus"] and result["machine"]["usable_cpus"] < args.threads:
        result["notes"].append(f"only {result['machine']['usable_cpus']} CPUs usable for {args.threads} threads")
    result["goals"] = evaluate_goals(result)
    return result


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_engine", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="timed runs per measurement (median)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch/OpenMP/MKL threads per worker")
    parser.add_argument("--weight", type=float, default=DEFAULT_WEIGHT, help="fidelity weight w of the timed runs")
    parser.add_argument(
        "--fresh-runs",
        type=int,
        default=DEFAULT_FRESH_RUNS,
        help="fresh load + one face processes per full restore, for peak memory (the largest peak counts)",
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--ablation", action="store_true", help="also time ours with the C allocator untouched (fast and exact)"
    )
    parser.add_argument(
        "--omp-default",
        action="store_true",
        help="also time ours with OpenMP's default wait policy instead of the app's PASSIVE (full and slider)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per worker answer")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write all numbers to this file")
    args = parser.parse_args(argv)
    if min(args.rounds, args.threads, args.fresh_runs) < 1 or args.timeout <= 0:
        parser.error("--rounds, --threads and --fresh-runs must be >= 1, --timeout > 0")
    if not 0.0 <= args.weight <= 1.0:
        parser.error("--weight must be within [0, 1]")
    if args.ablation and args.device != "cpu":
        parser.error("--ablation is about the CPU allocator; use it with --device cpu")
    return args


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    # A plain `kill` of the benchmark must still run the clean-up that stops the workers.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.device == "cuda" and not torch.cuda.is_available():
        message = f"CUDA is not available here (torch {torch.__version__}); skipping the GPU benchmark."
        _progress(message)
        if args.json:
            _write_json(args.json, {"benchmark": "codeformer-engine", "device": "cuda", "skipped": message})
        return 0
    torch.set_num_threads(args.threads)
    try:
        result = benchmark(args)
    except WorkerError as error:
        _progress(f"benchmark failed: {error}")
        return 1
    except (KeyboardInterrupt, SystemExit):
        _progress("interrupted; workers stopped")
        raise
    print(report.format_report(result))
    if args.json:
        _write_json(args.json, result)
        _progress(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
