"""Our whole-photo composition next to the official one (``official_composition.py``), on real photos.

Both sides get the same photo, the same five landmarks (ours, from the app's detector) and the same network
output, so what is compared is cropping, grey handling and paste-back alone. Used by
``test_official_composition.py`` and by ``bench/composition_parity.py`` (the table in docs/composition.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from official_composition import (
    APP_CHOICES,
    OFFICIAL,
    Composition,
    official_affine,
    official_crop,
    official_grey_face,
    official_is_gray,
    official_paste,
    psnr,
)
from photo_samples import astronaut_bgr, grace_hopper_bgr

from codeformer_app.detection.align import SMALL_PHOTO_SIDE
from codeformer_app.imaging import photo_8bit_bgr, read_photo
from codeformer_app.pipeline.encodings import render
from codeformer_app.pipeline.photo import AnalysedPhoto, ComposeOptions, analyse_photo, compose
from codeformer_app.pipeline.upscale import upscale_image

#: Per-channel offsets (B, G, R) and noise of the simulated scan: a slightly warm print, scanner noise.
SCAN_TINT_BGR = (-3, 0, 4)
SCAN_NOISE_STD = 1.2
SCAN_SEED = 5
#: The small photo: Grace Hopper at this fraction of her size (256 x 300), below the official 512.
SMALL_FACTOR = 0.5


def grey_scan() -> np.ndarray:
    """A black-and-white print scanned as RGB: the astronaut in grey, a warm tint, independent channel noise."""
    grey = cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY).astype(np.float64)
    rng = np.random.default_rng(SCAN_SEED)
    channels = [grey + tint + rng.normal(0.0, SCAN_NOISE_STD, grey.shape) for tint in SCAN_TINT_BGR]
    return np.clip(np.rint(np.dstack(channels)), 0, 255).astype(np.uint8)


def grey_file() -> np.ndarray:
    """Grace Hopper as a one-channel photo."""
    return cv2.cvtColor(_hopper(), cv2.COLOR_BGR2GRAY)


def small_photo() -> np.ndarray:
    """Grace Hopper shrunk (area averaging) to 256 x 300: short side under 512."""
    return cv2.resize(_hopper(), None, fx=SMALL_FACTOR, fy=SMALL_FACTOR, interpolation=cv2.INTER_AREA)


def _hopper() -> np.ndarray:
    image = grace_hopper_bgr()
    return astronaut_bgr() if image is None else image


#: name -> the pixels of the file to save (BGR, or one channel).
PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": astronaut_bgr,
    "grace_hopper": _hopper,
    "grey_scan_rgb": grey_scan,
    "grey_one_channel": grey_file,
    "small_256x300": small_photo,
}


@dataclass
class Analysed:
    """A photo analysed once by the app, with what the official side needs from it."""

    analysed: AnalysedPhoto
    input_bgr8: np.ndarray
    affines: list[np.ndarray]
    official_crops: list[np.ndarray]


def analyse(image: np.ndarray, path: Path, model, detector) -> Analysed:
    """Save ``image`` as PNG, read it as the app does, find its faces; the official alignment of our landmarks."""
    cv2.imencode(".png", image)[1].tofile(path)
    analysed = analyse_photo(read_photo(path), model, detector)
    input_bgr8 = photo_8bit_bgr(analysed.photo)
    size = model.config.img_size
    affines = [official_affine(face.detected.landmarks, size) for face in analysed.faces]
    crops = [official_crop(input_bgr8, affine, size) for affine in affines]
    return Analysed(analysed, input_bgr8, affines, crops)


@dataclass(frozen=True)
class Measured:
    ours: np.ndarray
    official: Composition
    """The official composition (truncation, official offset and bilinear background at upscale > 1)."""
    official_with_app_choices: Composition
    """The official composition with our deliberate differences: what "within rounding" is measured on."""

    def psnr_table_row(self) -> tuple[float, float, float, float]:
        """(whole, faces) against the official, then (whole, faces) against it with our deliberate choices."""
        faces = self.official.faces
        alt = self.official_with_app_choices
        return (
            psnr(self.ours, self.official.image),
            psnr(self.ours, self.official.image, faces),
            psnr(self.ours, alt.image),
            psnr(self.ours, alt.image, alt.faces),
        )


def compose_both(case: Analysed, fidelity: float, upscale: int) -> Measured:
    """Our photo and the official composition of the same network output."""
    analysed = case.analysed
    grey = official_is_gray(case.input_bgr8)
    ours_faces = {}
    official_faces = []
    small = min(case.input_bgr8.shape[:2]) < SMALL_PHOTO_SIDE
    for index in range(len(analysed.faces)):
        raw = render(analysed.encodings, index, fidelity, grey=False)  # the network alone
        ours_faces[index] = render(analysed.encodings, index, fidelity, analysed.grey)
        # A small photo's crop is ours on purpose (Lanczos from its own pixels): its AdaIN reference too.
        reference = analysed.faces[index].crop if small else case.official_crops[index]
        official_faces.append(official_grey_face(raw, reference) if grey else raw)
    ours, _alpha = compose(analysed, ours_faces, ComposeOptions(upscale=upscale))
    official = official_paste(case.input_bgr8, official_faces, case.affines, upscale, choices=OFFICIAL)
    background = upscale_image(case.input_bgr8, upscale)
    alt = official_paste(case.input_bgr8, official_faces, case.affines, upscale, background, APP_CHOICES)
    return Measured(ours, official, alt)
