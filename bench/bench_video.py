"""Video restoring on this CPU: frames per second, peak memory of a short and a longer clip, and flicker.

Usage (from the repository root)::

    .venv/bin/python -m bench.bench_video [--json OUT.json] [--skip-full] [--weights codeformer.pth]

Every measurement runs in a fresh process (so a peak RSS is that run's own), on clips made here with the
tests' ``make_clip`` (scikit-image's astronaut, a sine tone as AAC sound), through ``restore_video_file``:

- ``speed``: frames per second of a 480x360 clip with the full-size network (seeded random weights: the same
  work as the official ones) and, for the cost around the network, with the tiny test network;
- ``memory``: peak RSS of a 2 s and a 5 s 1280x720 clip at 15 fps (tiny network), each in its own process,
  and in the 5 s run the peak when its first 2 s were done: streaming means they are about equal, where
  holding the frames (the official script) would add ``frames x 2.8 MB``;
- ``jitter``: how far the aligned crop's corners move from one frame to the next on a still face (the same
  frame with seeded sensor noise, stored losslessly so the noise survives), per frame vs tracked + smoothed:
  the detector alone, no network;
- ``flicker``: that still face restored per frame (no tracking, the official way) and tracked + smoothed;
  flicker = the mean absolute change from one frame to the next inside the face, in 8-bit levels (the
  input's own, the noise, is the floor).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
MEMORY_FPS = 15
MEMORY_SIZE = (1280, 720)
MEMORY_SECONDS = (2.0, 5.0)
SPEED_SIZE = (480, 360)
SPEED_FRAMES = 6
FLICKER_SIZE = (480, 360)
FLICKER_FRAMES = 24
#: Sensor-like noise on the still frames (8-bit levels): what makes a detector's landmarks wobble.
FLICKER_NOISE = 3.0
#: The face inside the clip's frame, as fractions of its width and height (the astronaut's face).
FACE_BOX = (0.32, 0.2, 0.62, 0.85)
#: How the parent tells its child processes which weights the full-size network loads (unset: seeded random).
WEIGHTS_ENV = "BENCH_VIDEO_WEIGHTS"


def _setup() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import torch

    torch.set_num_threads(THREADS)


def _engine(network: str):
    from model_helpers import TINY_CONFIG, make_model

    from codeformer_app.detection import create_detector
    from codeformer_app.networks.codeformer import CodeFormer
    from codeformer_app.pipeline.restore_file import Engine
    from codeformer_app.weights.safe_load import load_codeformer

    weights = os.environ.get(WEIGHTS_ENV)
    if network == "tiny":
        model = make_model(TINY_CONFIG)
    else:
        model = load_codeformer(Path(weights)) if weights else CodeFormer().eval()
    return Engine(model=model, detector=create_detector("mtcnn"))


def run_speed(network: str, folder: Path) -> dict:
    _setup()
    from test_video_probe import make_clip

    from codeformer_app.pipeline.restore_file import RestoreSettings
    from codeformer_app.video.restore import restore_video_file

    source = make_clip(folder / "speed.mp4", frames=SPEED_FRAMES, fps=10, size=SPEED_SIZE)
    engine = _engine(network)
    started = time.perf_counter()
    outcome = restore_video_file(source, folder / f"speed-{network}.mp4", engine, RestoreSettings(fidelity=0.5))
    seconds = time.perf_counter() - started
    return {"network": network, "frames": outcome.frames, "seconds": round(seconds, 2),
            "fps": round(outcome.frames / seconds, 3), "faces": outcome.faces_per_frame.mean}  # fmt: skip


def run_memory(seconds: float, folder: Path) -> dict:
    _setup()
    from test_video_probe import make_clip

    from codeformer_app.pipeline.restore_file import RestoreSettings
    from codeformer_app.video.restore import restore_video_file

    frames = round(seconds * MEMORY_FPS)
    source = make_clip(folder / f"memory-{seconds}.mp4", frames=frames, fps=MEMORY_FPS, size=MEMORY_SIZE)
    engine = _engine("tiny")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    early_frames = round(min(MEMORY_SECONDS) * MEMORY_FPS)
    early: list[int] = []

    def on_frame(done: int, total: int) -> None:
        if done == early_frames and not early:
            early.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    started = time.perf_counter()
    target = folder / f"memory-{seconds}-out.mp4"
    outcome = restore_video_file(source, target, engine, RestoreSettings(), on_frame=on_frame)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frame_mb = MEMORY_SIZE[0] * MEMORY_SIZE[1] * 3 / 1e6
    return {"seconds_of_video": seconds, "frames": outcome.frames, "peak_rss_mb": round(peak / 1024, 1),
            "peak_rss_after_first_2s_mb": round(early[0] / 1024, 1) if early else None,
            "rss_before_run_mb": round(before / 1024, 1), "wall_s": round(elapsed, 1),
            "fps": round(outcome.frames / elapsed, 3),
            "all_frames_in_memory_would_add_mb": round(outcome.frames * frame_mb, 1)}  # fmt: skip


def _face_flicker(path: Path) -> float:
    import numpy as np
    from test_video_probe import decode_all

    frames, _ = decode_all(path)
    height, width = frames[0].shape[:2]
    x0, y0, x1, y1 = FACE_BOX
    face = (slice(round(y0 * height), round(y1 * height)), slice(round(x0 * width), round(x1 * width)))
    crops = [frame[face].astype(np.float32) for frame in frames]
    changes = [np.abs(b - a).mean() for a, b in itertools.pairwise(crops)]
    return round(float(np.mean(changes)), 3)


def run_flicker(network: str, folder: Path) -> dict:
    _setup()

    from codeformer_app.pipeline.restore_file import RestoreSettings
    from codeformer_app.video.restore import VideoOptions, restore_video_file
    from codeformer_app.video.tracking import PER_FRAME

    source = _still_clip(folder)
    engine = _engine(network)
    result = {"network": network, "frames": FLICKER_FRAMES, "input": _face_flicker(source)}
    for name, options in (("per_frame", VideoOptions(tracking=PER_FRAME)), ("tracked", VideoOptions())):
        target = folder / f"still-{network}-{name}.mp4"
        restore_video_file(source, target, engine, RestoreSettings(), options=options)
        result[name] = _face_flicker(target)
    result["reduction"] = round(result["per_frame"] / result["tracked"], 2) if result["tracked"] else None
    return result


def _still_clip(folder: Path) -> Path:
    from test_video_probe import make_clip

    return make_clip(folder / "still.mp4", frames=FLICKER_FRAMES, fps=25, size=FLICKER_SIZE, still=True,
                     noise=FLICKER_NOISE, sound=False, crf=0)  # fmt: skip


def run_jitter(_: str, folder: Path) -> dict:
    """Mean frame-to-frame movement (px) of the aligned crop's corners on the still, noisy face."""
    _setup()
    import numpy as np
    from test_video_probe import decode_all

    from codeformer_app.detection import DetectionOptions, create_detector, find_faces
    from codeformer_app.detection.align import estimate_alignment
    from codeformer_app.video.tracking import PER_FRAME, FaceTracker, TrackingOptions

    frames, times = decode_all(_still_clip(folder))
    detector = create_detector("mtcnn")
    detections = [find_faces(frame, detector, DetectionOptions()) for frame in frames]
    result: dict = {"frames": len(frames)}
    for name, options in (("per_frame", PER_FRAME), ("tracked", TrackingOptions())):
        tracker = FaceTracker(options)
        corners = []
        for faces, seconds in zip(detections, times, strict=True):
            tracked = tracker.update(faces, seconds)
            corners.append(estimate_alignment(tracked[0].landmarks).crop_corners_in_photo() if tracked else None)
        moves = [float(np.linalg.norm(b - a, axis=1).mean()) for a, b in itertools.pairwise(corners) if a is not None
                 and b is not None]  # fmt: skip
        result[f"{name}_px"] = round(float(np.mean(moves)), 3)
    return result


def _child(kind: str, argument: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "bench.bench_video", "--child", kind, argument, folder]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{kind} {argument} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-full", action="store_true", help="leave out the full-size network (minutes)")
    parser.add_argument("--weights", type=Path, help="real CodeFormer weights for the full-size network")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.weights:
        os.environ[WEIGHTS_ENV] = str(args.weights.resolve())
    if args.child:
        kind, argument, folder = args.child
        runner = {"speed": run_speed, "flicker": run_flicker, "jitter": run_jitter}.get(kind)
        result = run_memory(float(argument), Path(folder)) if kind == "memory" else runner(argument, Path(folder))
        print(json.dumps(result))
        return
    networks = ["tiny"] if args.skip_full else ["tiny", "full"]
    results = {
        "full_size_weights": str(args.weights) if args.weights else "seeded random",
        "speed": [_child("speed", network) for network in networks],
        "memory": [_child("memory", str(seconds)) for seconds in MEMORY_SECONDS],
        "jitter": _child("jitter", "-"),
        "flicker": [_child("flicker", network) for network in networks],
    }
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
