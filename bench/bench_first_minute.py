"""The first minute on a new machine: how long the commands a new user types first take, from a cold process.

Usage (from the repository root)::

    .venv/bin/python -m bench.bench_first_minute [--repeat 3] [--json OUT.json]

Measures, each in a fresh interpreter (median of ``--repeat``):

- ``codeformer-app --help`` and ``codeformer-app weights list`` (targets: <= 1 s and <= 1.5 s);
- a cold ``codeformer-app restore --aligned`` of one 512 face with the full-size network (seeded random weights
  saved like the official checkpoint, imported as a user would), against the network's own time for that face
  in a warm process
  (encode + decode, median of the forwards after the first). Target: cold <= 1.8x the network's time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THREADS = 2
FIDELITY = 0.5
COLD_RATIO_GOAL = 1.8


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "codeformer_app.cli.main", *args]


def _wall(command: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def _make_inputs(folder: Path) -> tuple[Path, Path]:
    import cv2
    import torch
    from skimage import data

    from codeformer_app.networks.codeformer import CodeFormer

    torch.manual_seed(0)
    weights = folder / "codeformer_random.pth"
    torch.save({"params_ema": CodeFormer().state_dict()}, weights)
    face = folder / "face.png"
    crop = cv2.resize(data.astronaut()[0:260, 120:380, ::-1], (512, 512), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(face), crop)
    return weights, face


def _warm_network_seconds(weights: Path, face: Path, forwards: int = 3) -> float:
    """The network alone, in this (warm) process: median encode + decode of the face after a first forward."""
    code = f"""
import statistics, time, torch
torch.set_num_threads({THREADS})
from codeformer_app.imaging import photo_8bit_bgr, read_photo
from codeformer_app.weights.safe_load import load_codeformer
from codeformer_app.pipeline.aligned import AlignedSettings, restore_aligned_crop
model = load_codeformer({str(weights)!r})
crop = photo_8bit_bgr(read_photo({str(face)!r}))
times = []
for _ in range({forwards + 1}):
    started = time.perf_counter()
    restore_aligned_crop(model, crop, AlignedSettings(fidelity={FIDELITY}))
    times.append(time.perf_counter() - started)
print(statistics.median(times[1:]))
"""
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import os

    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env["CODEFORMER_APP_WEIGHTS_DIR"] = str(folder / "weights")
        weights, face = _make_inputs(folder)
        # As a user runs it: the weights imported once (converted to safetensors), then found by the app.
        subprocess.run(_cli("weights", "import", str(weights)), check=True, capture_output=True, env=env)
        installed = Path(env["CODEFORMER_APP_WEIGHTS_DIR"]) / "codeformer.safetensors"
        results: dict[str, float] = {}
        results["help_s"] = statistics.median(_wall(_cli("--help"), env) for _ in range(args.repeat))
        results["weights_list_s"] = statistics.median(_wall(_cli("weights", "list"), env) for _ in range(args.repeat))
        cold = []
        for index in range(args.repeat):
            out = folder / f"out{index}"
            command = _cli("restore", str(face), "--aligned", "-o", str(out))
            cold.append(_wall([*command, "-w", str(FIDELITY)], env))
        results["cold_restore_aligned_s"] = statistics.median(cold)
        results["network_warm_s"] = _warm_network_seconds(installed, face)
    results["cold_over_network"] = results["cold_restore_aligned_s"] / results["network_warm_s"]
    for key, value in results.items():
        print(f"{key:>24}: {value:.3f}")
    verdict = "met" if results["cold_over_network"] <= COLD_RATIO_GOAL else "NOT met"
    print(f"cold restore target <= {COLD_RATIO_GOAL}x the network: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
