"""Turning ordinary photos into a training folder: every face found, aligned to the FFHQ template, saved as PNG.

The app's own reading, detection and alignment do the work, so training faces are cut exactly the way the app
cuts the faces it restores. One unreadable photo is reported and skipped; the others are still aligned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from codeformer_app.batch.plan import plan_files
from codeformer_app.detection.align import TEMPLATE_SIZE
from codeformer_app.detection.registry import DEFAULT_DETECTOR, create_detector
from codeformer_app.errors import CodeFormerAppError
from codeformer_app.imaging import photo_8bit_bgr, read_photo
from codeformer_app.pipeline.faces import locate_faces
from codeformer_app.weights.files import write_atomically

#: Output names: the photo's stem and the face's number in the detector's order.
FACE_NAME = "{stem}_face{index:02d}.png"


@dataclass
class AlignReport:
    """What an alignment pass produced: the written faces, and the photos that failed with their reasons."""

    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    without_faces: list[Path] = field(default_factory=list)


def align_photos(inputs: Iterable[Path], out: Path, detector: str = DEFAULT_DETECTOR) -> AlignReport:
    """Write the aligned 512x512 face crops of every photo in ``inputs`` (files, or folders' photos) to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    finder = create_detector(detector)
    report = AlignReport()
    for job in plan_files(inputs, out, None):
        try:
            image = photo_8bit_bgr(read_photo(job.source))
            faces = locate_faces(image, finder, crop_size=TEMPLATE_SIZE)
        except (CodeFormerAppError, OSError, ValueError) as error:
            report.failed[job.source] = str(error)
            continue
        if not faces:
            report.without_faces.append(job.source)
        for index, face in enumerate(faces):
            target = out / FACE_NAME.format(stem=job.source.stem, index=index)
            write_atomically(target, lambda temp, crop=face.crop: _write_png(temp, crop))
            report.written.append(target)
    return report


def _write_png(path: Path, crop) -> None:
    ok, encoded = cv2.imencode(".png", crop)
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    encoded.tofile(str(path))
