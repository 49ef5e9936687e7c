"""Where the time of a whole photo goes: read / detect / align / network / paste / write, and peak memory.

Usage (from the repository root)::

    .venv/bin/python -m bench.bench_photo [--sizes 1 12] [--peak-mp 27] [--json OUT.json]

Each photo size runs in a fresh process (so its peak RSS is its own): a grid of scikit-image's astronaut photo
(one real face per tile) enlarged to the requested megapixels, written as a JPEG, then restored through the
same functions the command line uses, with the full-size network (seeded random weights) and the offline
MTCNN detector. Goal (PRODUCT.md): everything but the network <= 10% of the network's time at 1 and 12 MP;
peak memory of a 27 MP photo <= 4 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Tile of the synthetic photo: the astronaut portrait at this size holds one face of typical scan size.
TILE_PX = 1000
THREADS = 2
WEIGHT = 0.7
OVERHEAD_GOAL = 0.10
PEAK_GOAL_GB = 4.0


def make_photo(megapixels: float, path: Path) -> int:
    """A JPEG of about ``megapixels`` MP made of astronaut tiles; returns the number of tiles (faces)."""
    import cv2
    import numpy as np
    from skimage import data

    tile = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (TILE_PX, TILE_PX), cv2.INTER_CUBIC)
    width = round(math.sqrt(megapixels * 1e6 * 4 / 3))
    height = round(megapixels * 1e6 / width)
    columns, rows = math.ceil(width / TILE_PX), math.ceil(height / TILE_PX)
    canvas = np.tile(tile, (rows, columns, 1))[:height, :width]
    cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tofile(path)
    return (height // TILE_PX) * (width // TILE_PX)


def run_one(megapixels: float) -> dict:
    """In this process: restore one synthetic photo step by step and time each step."""
    import cv2
    import torch
    from skimage import data

    torch.set_num_threads(THREADS)
    from codeformer_app.detection import create_detector, find_faces
    from codeformer_app.imaging import photo_8bit_bgr, read_photo, write_photo
    from codeformer_app.networks.codeformer import CodeFormer
    from codeformer_app.pipeline.encodings import ONE_SHOT_BUDGET_BYTES, EncodingCache, render
    from codeformer_app.pipeline.faces import face_from_detection
    from codeformer_app.pipeline.photo import AnalysedPhoto, ComposeOptions, compose

    torch.manual_seed(0)
    model = CodeFormer().eval()
    detector = create_detector("mtcnn")
    # warm up both networks once (first-call set-up is paid once per process, not per photo)
    model(torch.zeros(1, 3, model.config.img_size, model.config.img_size), WEIGHT)
    find_faces(cv2.resize(data.astronaut(), (640, 640)), detector)
    steps: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "photo.jpg", Path(folder) / "restored.jpg"
        tiles = make_photo(megapixels, source)

        def timed(name: str, fn):
            started = time.perf_counter()
            value = fn()
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - started
            return value

        photo = timed("read", lambda: read_photo(source))
        image8 = timed("read", lambda: photo_8bit_bgr(photo))
        detected = timed("detect", lambda: find_faces(image8, detector))
        faces = timed("align", lambda: [face_from_detection(image8, f, model.config.img_size) for f in detected])
        analysed = AnalysedPhoto(photo, faces, EncodingCache(model, [f.crop for f in faces], ONE_SHOT_BUDGET_BYTES))
        restored = timed("network", lambda: {i: render(analysed.encodings, i, WEIGHT) for i in range(len(faces))})
        color, alpha = timed("paste", lambda: compose(analysed, restored, ComposeOptions()))
        timed("write", lambda: write_photo(target, color, alpha, photo.info))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    network = steps["network"]
    around = sum(v for k, v in steps.items() if k != "network")
    h, w = photo.color.shape[:2]
    return {
        "megapixels": round(h * w / 1e6, 1),
        "size": [w, h],
        "tiles": tiles,
        "faces": len(faces),
        "seconds": steps,
        "around_network_ratio": around / network if network else None,
        "peak_rss_gb": peak_gb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1.0, 12.0], help="photo sizes in MP")
    parser.add_argument("--peak-mp", type=float, default=27.0, help="size for the peak-memory run (0: skip)")
    parser.add_argument("--json", type=Path, help="write all numbers here")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(args.child)))
        return

    results = []
    for mp in [*args.sizes, *([args.peak_mp] if args.peak_mp else [])]:
        child = subprocess.run(
            [sys.executable, "-m", "bench.bench_photo", "--child", str(mp)], capture_output=True, text=True
        )
        if child.returncode != 0:
            sys.exit(f"photo run at {mp} MP failed:\n{child.stderr}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))

    names = ["read", "detect", "align", "network", "paste", "write"]
    print(f"{'photo':>16} {'faces':>5} " + " ".join(f"{n:>8}" for n in names) + "  around/net  peak RSS")
    for r in results:
        secs = " ".join(f"{r['seconds'].get(n, 0.0):8.2f}" for n in names)
        ratio = r["around_network_ratio"]
        verdict = "PASS" if ratio is not None and ratio <= OVERHEAD_GOAL else "MISS"
        label = f"{r['megapixels']} MP {r['size'][0]}x{r['size'][1]}"
        print(f"{label:>16} {r['faces']:>5} {secs}  {ratio:9.3f} {verdict}  {r['peak_rss_gb']:.2f} GB")
    if args.peak_mp:
        peak = results[-1]["peak_rss_gb"]
        print(
            f"peak memory at {results[-1]['megapixels']} MP: {peak:.2f} GB (goal <= {PEAK_GOAL_GB} GB: "
            f"{'PASS' if peak <= PEAK_GOAL_GB else 'MISS'})"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
