"""``codeformer-app identity IMAGE_A IMAGE_B``: are the largest faces of two photos the same person?

Needs no CodeFormer weights: a face detector and dlib's face-recognition network (``codeformer_app.identity``).
Exit codes: 0 with the verdict (same person or not), 2 when a photo cannot be read or has no face, or when the
identity network is not available on this platform; the message names the file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..defaults import DEFAULT_DETECTOR, DETECTOR_NAMES
from ..errors import CodeFormerAppError
from .common import EXIT_OK, EXIT_USAGE, print_error

if TYPE_CHECKING:
    from ..detection import FaceDetector
    from ..identity import Embedding, IdentityModel

#: Digits of the similarity in the JSON output; the verdict is taken on this rounded value so the two agree.
SIMILARITY_DIGITS = 4


def add_identity_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "identity",
        help="say whether the largest faces of two photos are the same person",
        description="Compare the largest face of IMAGE_A with the largest face of IMAGE_B with an offline "
        "face-recognition network (dlib's ResNet): similarity in [-1, 1] and the verdict at the calibrated "
        "threshold (docs/identity.md). No CodeFormer weights needed.",
    )
    parser.add_argument("image_a", type=Path, metavar="IMAGE_A", help="first photo")
    parser.add_argument("image_b", type=Path, metavar="IMAGE_B", help="second photo")
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"similarity": float, "same_person": bool, "threshold": float}',
    )
    parser.add_argument("--detector", choices=DETECTOR_NAMES, default=DEFAULT_DETECTOR, help="face detector")
    parser.set_defaults(handler=run_identity)
    return parser


def _embed(path: Path, model: IdentityModel, detector: FaceDetector) -> Embedding:
    """The largest face's embedding; ``CodeFormerAppError`` naming the file when it is unreadable or faceless."""
    from ..identity import embed_largest_face
    from ..imaging import photo_8bit_bgr, read_photo

    image = photo_8bit_bgr(read_photo(path))  # ImageReadError: "<file>: <reason>"
    embedding = embed_largest_face(model, image, detector)
    if embedding is None:
        raise CodeFormerAppError(f"{path}: no face found")
    return embedding


def run_identity(args: argparse.Namespace) -> int:
    for path in (args.image_a, args.image_b):  # before any network is loaded
        if not path.is_file():
            print_error(f"{path}: {'not a file' if path.exists() else 'no such file'}")
            return EXIT_USAGE
    from ..detection import create_detector
    from ..identity import IdentityVerdict, load_identity_model, similarity

    try:
        model = load_identity_model()
        detector = create_detector(args.detector)
        first = _embed(args.image_a, model, detector)
        second = _embed(args.image_b, model, detector)
    except CodeFormerAppError as error:
        print_error(str(error))
        return EXIT_USAGE
    verdict = IdentityVerdict.of(round(similarity(first, second), SIMILARITY_DIGITS))
    if args.json:
        print(json.dumps(verdict.as_json()))
    else:
        said = "same person" if verdict.same_person else "different people"
        print(f"similarity {verdict.similarity:.3f} (threshold {verdict.threshold:.3f}): {said}")
    return EXIT_OK
