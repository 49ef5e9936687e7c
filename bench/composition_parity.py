"""PSNR of our composed photos against the official CodeFormer composition (the table in docs/composition.md).

Usage (from the repository root)::

    .venv/bin/python -m bench.composition_parity [--fidelities 0 0.5 1] [--upscales 1 2]

The official side is the test oracle ``tests/official_composition.py`` (the official formulas, restated);
the photos, landmarks and seeded random network (512 crops) are those of ``tests/test_official_composition.py``.
For each photo x fidelity x upscale it prints the PSNR of the whole photo and inside the faces, against the
official composition as published and against it with our deliberate differences switched on.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
MODEL_SEED = 13


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fidelities", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--upscales", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    sys.path.insert(0, str(TESTS))
    from composition_cases import PHOTOS, analyse, compose_both
    from model_helpers import FACE_512_CONFIG, make_model

    from codeformer_app.detection import create_detector

    detector = create_detector("mtcnn")
    model = make_model(FACE_512_CONFIG, seed=MODEL_SEED)
    print("| photo | w | upscale | whole vs official | faces vs official | whole vs official + our choices | faces |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, make in PHOTOS.items():
            case = analyse(make(), Path(folder) / f"{name}.png", model, detector)
            for fidelity in args.fidelities:
                for upscale in args.upscales:
                    row = compose_both(case, fidelity, upscale).psnr_table_row()
                    cells = " | ".join(f"{value:.1f}" for value in row)
                    print(f"| {name} | {fidelity:g} | {upscale} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
