"""Whole photos composed as the official CodeFormer pipeline composes them (oracle: ``official_composition.py``).

Real photos, our detector's landmarks, a seeded random network with real-size (512) crops. At upscale 1 the
only deliberate difference left is rounding to the nearest level instead of truncating; at upscale 2 the
face position and the background differ on purpose, so there the comparison switches those choices on in
the oracle as well.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from composition_cases import PHOTOS, SMALL_FACTOR, Analysed, analyse, compose_both, grey_scan
from model_helpers import FACE_512_CONFIG, make_model
from official_composition import (
    APP_CHOICES,
    OFFICIAL_BORDER_VALUE,
    official_adain,
    official_affine,
    official_bgr2gray,
    official_crop,
    official_enlarge_small,
    official_paste,
    psnr,
)
from photo_samples import astronaut_bgr, grace_hopper_bgr

from codeformer_app.detection import create_detector, find_faces
from codeformer_app.detection.align import TEMPLATE_LANDMARKS_512, estimate_alignment, warp_face
from codeformer_app.pipeline.grey import grey_face, looks_grey
from codeformer_app.pipeline.paste import crop_to_output, face_region, paste_face, paste_masks

#: What the issue asks of the composed photo at upscale 1, against the official composition.
MIN_PSNR_WHOLE_DB = 50.0
MIN_PSNR_FACES_DB = 45.0
FIDELITY = 0.5
#: The feathered masks are the official ones up to float rounding of the Gaussian.
MASK_TOLERANCE = 1e-5
SLOW_PHOTOS = ("grace_hopper", "grey_scan_rgb", "grey_one_channel", "small_256x300")


@pytest.fixture(scope="module")
def detector():
    return create_detector("mtcnn")


@pytest.fixture(scope="module")
def model():
    return make_model(FACE_512_CONFIG, seed=13)


@pytest.fixture(scope="module")
def cases(tmp_path_factory, model, detector) -> dict[str, Analysed]:
    """Each photo analysed once for the whole module (analysis runs the encoder)."""
    folder = tmp_path_factory.mktemp("photos")
    cache: dict[str, Analysed] = {}

    def get(name: str) -> Analysed:
        if name not in cache:
            cache[name] = analyse(PHOTOS[name](), folder / f"{name}.png", model, detector)
        return cache[name]

    return get  # type: ignore[return-value]


def photo_params():
    return [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_PHOTOS else name for name in PHOTOS]


def similarity_landmarks(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    matrix = np.array(
        [[scale * np.cos(a), -scale * np.sin(a), shift[0]], [scale * np.sin(a), scale * np.cos(a), shift[1]]]
    )
    return TEMPLATE_LANDMARKS_512 @ matrix[:, :2].T + matrix[:, 2]


@pytest.mark.parametrize("name", photo_params())
def test_photo_matches_the_official_composition_at_upscale_1(cases, name: str) -> None:
    case = cases(name)
    assert len(case.analysed.faces) == 1
    measured = compose_both(case, FIDELITY, upscale=1)
    official = measured.official
    assert measured.ours.shape == case.input_bgr8.shape, "at upscale 1 the output keeps the input's size"
    assert psnr(measured.ours, official.image) >= MIN_PSNR_WHOLE_DB
    assert psnr(measured.ours, official.image, official.faces) >= MIN_PSNR_FACES_DB
    untouched = official.soft == 0
    assert np.array_equal(measured.ours[untouched], case.input_bgr8[untouched]), "only the faces change"


@pytest.mark.parametrize("name", photo_params())
def test_upscaled_photo_matches_the_official_composition_with_our_deliberate_choices(cases, name: str) -> None:
    measured = compose_both(cases(name), FIDELITY, upscale=2)
    alt = measured.official_with_app_choices
    assert psnr(measured.ours, alt.image) >= MIN_PSNR_WHOLE_DB
    assert psnr(measured.ours, alt.image, alt.faces) >= MIN_PSNR_FACES_DB


@pytest.mark.parametrize("name", ["astronaut", pytest.param("grey_one_channel", marks=pytest.mark.slow)])
def test_alignment_and_crops_are_the_official_ones(cases, name: str) -> None:
    case = cases(name)
    for face, affine, crop in zip(case.analysed.faces, case.affines, case.official_crops, strict=True):
        np.testing.assert_allclose(face.alignment.matrix, affine, rtol=0, atol=1e-9)
        assert np.array_equal(face.crop, crop)


@pytest.mark.parametrize(
    ("angle", "scale", "shift", "upscale"),
    [
        (0.0, 0.3, (150.0, 100.0), 1),
        (-12.0, 0.27, (140.0, 120.0), 1),
        (8.0, 0.5, (-60.0, -40.0), 1),
        (5.0, 0.3, (150.0, 100.0), 2),
    ],
    ids=["upright", "tilted", "cut-by-the-edge", "upscale-2"],
)
def test_feathered_mask_is_the_official_one(angle: float, scale: float, shift, upscale: int) -> None:
    """Mask over the region of interest == the official mask over the whole image, ramp and overhang included."""
    photo = astronaut_bgr()
    landmarks = similarity_landmarks(angle, scale, shift)
    alignment = estimate_alignment(landmarks)
    shape = (photo.shape[0] * upscale, photo.shape[1] * upscale)
    to_out = crop_to_output(alignment, float(upscale))
    region = face_region(to_out, alignment.size, shape)
    to_region = to_out.copy()
    to_region[:, 2] -= (region.x0, region.y0)
    ours = np.zeros(shape, np.float32)
    ours[region.y0 : region.y1, region.x0 : region.x1] = paste_masks(512, to_region, region, 1 / 20, upscale).soft

    face = np.full((512, 512, 3), 255, np.uint8)
    background = np.zeros((*shape, 3), np.uint8)
    # Our face position (a deliberate difference at upscale > 1), so that the two squares coincide.
    official = official_paste(photo, [face], [official_affine(landmarks)], upscale, background, APP_CHOICES)
    assert np.abs(ours - official.soft).max() <= MASK_TOLERANCE
    ramp = (official.soft > 0) & (official.soft < 1)
    assert ramp.sum() > 100, "the comparison must cover the feathered edge"


def test_no_dark_rim_outside_the_face_square() -> None:
    """Outside the trimmed square only the official one-pixel blur overhang (weight < 1%) may move a pixel."""
    photo = astronaut_bgr()
    alignment = estimate_alignment(similarity_landmarks(0.0, 0.3, (150.0, 100.0)))
    canvas = photo.copy()
    paste_face(canvas, np.full((512, 512, 3), 20, np.uint8), alignment)  # a dark face shows any rim
    to_out = crop_to_output(alignment)
    square = cv2.warpAffine(np.ones((512, 512), np.float32), to_out, photo.shape[1::-1])
    trimmed = cv2.erode(square, np.ones((2, 2), np.uint8))
    outside = trimmed == 0
    darker = photo.astype(int) - canvas.astype(int)
    assert darker[outside].max() <= 1
    side = np.sqrt(square.sum())
    assert (darker[outside].max(axis=1) > 0).sum() <= 2 * (side + 4), "at most one row and one column"


def test_border_fill_is_the_official_grey_in_bgr() -> None:
    photo = astronaut_bgr()
    alignment = estimate_alignment(similarity_landmarks(0.0, 0.5, (-80.0, -80.0)))
    crop = warp_face(photo, alignment)
    assert tuple(int(v) for v in crop[0, 0]) == OFFICIAL_BORDER_VALUE == (135, 133, 132)
    assert np.array_equal(crop, official_crop(photo, alignment.matrix))


def test_grey_is_decided_from_the_pixels() -> None:
    scan = grey_scan()
    assert looks_grey(scan), "a black-and-white print scanned as RGB is grey"
    assert looks_grey(cv2.cvtColor(cv2.cvtColor(scan, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    assert not looks_grey(astronaut_bgr())
    hopper = grace_hopper_bgr()
    if hopper is not None:
        assert not looks_grey(hopper)


@pytest.mark.slow
def test_grey_scan_gets_grey_faces_with_the_scans_tint(cases) -> None:
    case = cases("grey_scan_rgb")
    assert case.analysed.grey and not case.analysed.photo.info.grey, "decided from the pixels, not the file"
    measured = compose_both(case, FIDELITY, upscale=1)
    faces = measured.official.soft == 1
    b, g, r = (measured.ours[:, :, i][faces].astype(int) for i in range(3))
    # AdaIN per channel keeps the scan's channel offsets (B -3, R +4 around G): a grey face in the print's tint.
    assert abs(np.median(r - g) - 4) <= 1 and abs(np.median(b - g) + 3) <= 1
    assert np.percentile(np.abs(r - g - 4), 95) <= 3


def test_grey_face_matches_official_adain_and_is_clipped() -> None:
    rng = np.random.default_rng(3)
    crop = astronaut_bgr()[100:356, 120:376]
    restored = rng.integers(120, 136, (256, 256, 3), dtype=np.uint8)  # low contrast: AdaIN stretches it
    expected = official_adain(official_bgr2gray(restored), crop)
    assert expected.min() < 0 or expected.max() > 255, "the official result leaves 0..255 here"
    ours = grey_face(restored, crop)
    assert ours.dtype == np.uint8
    assert np.abs(ours.astype(float) - np.clip(expected, 0, 255)).max() <= 0.5 + 1e-9


@pytest.mark.slow
def test_small_photo_faces_are_cropped_from_the_best_source(detector) -> None:
    """Under 512 px our crop (Lanczos from the photo's own pixels) is nearer the crop of the full-size original
    than the official route (bilinear enlargement to 512, then the bilinear crop)."""
    for big in (astronaut_bgr(), grace_hopper_bgr()):
        if big is None:
            continue
        landmarks = find_faces(big, detector)[0].landmarks
        truth = official_crop(big, official_affine(landmarks))
        small = cv2.resize(big, None, fx=SMALL_FACTOR, fy=SMALL_FACTOR, interpolation=cv2.INTER_AREA)
        small_landmarks = (landmarks + 0.5) * (np.array(small.shape[1::-1]) / big.shape[1::-1]) - 0.5
        ours = warp_face(small, estimate_alignment(small_landmarks))
        enlarged = official_enlarge_small(small)
        factor = np.array(enlarged.shape[1::-1]) / small.shape[1::-1]
        official = official_crop(enlarged, official_affine((small_landmarks + 0.5) * factor - 0.5))
        assert psnr(ours, truth) > psnr(official, truth) + 1.0
