"""Alignment to the 512 template and region-of-interest paste-back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from codeformer_app.detection.align import TEMPLATE_LANDMARKS_512, estimate_alignment, warp_face
from codeformer_app.pipeline.paste import crop_to_output, face_region, feathered_mask, paste_face


def similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array(
        [[scale * np.cos(a), -scale * np.sin(a), shift[0]], [scale * np.sin(a), scale * np.cos(a), shift[1]]]
    )


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


@pytest.fixture
def photo() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # 512x512 BGR


def test_alignment_recovers_a_known_similarity() -> None:
    to_photo = similarity(17.0, 0.4, (120.0, 80.0))
    landmarks = apply(to_photo, TEMPLATE_LANDMARKS_512)
    alignment = estimate_alignment(landmarks)
    np.testing.assert_allclose(apply(alignment.matrix, landmarks), TEMPLATE_LANDMARKS_512, atol=1e-3)
    np.testing.assert_allclose(alignment.inverse, to_photo, atol=1e-4)


def test_alignment_scales_the_template_for_other_crop_sizes() -> None:
    landmarks = apply(similarity(-5.0, 0.3, (40.0, 60.0)), TEMPLATE_LANDMARKS_512)
    alignment = estimate_alignment(landmarks, size=32)
    np.testing.assert_allclose(apply(alignment.matrix, landmarks), TEMPLATE_LANDMARKS_512 / 16, atol=1e-3)


def test_warped_crop_puts_photo_content_where_the_transform_says(photo: np.ndarray) -> None:
    to_photo = similarity(10.0, 0.35, (150.0, 90.0))
    alignment = estimate_alignment(apply(to_photo, TEMPLATE_LANDMARKS_512))
    crop = warp_face(photo, alignment)
    assert crop.shape == (512, 512, 3)
    x, y = apply(alignment.inverse, np.array([[256.0, 256.0]]))[0]
    np.testing.assert_allclose(crop[256, 256], photo[round(y), round(x)], atol=40)


def test_degenerate_landmarks_are_refused() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        estimate_alignment(np.zeros((5, 2), np.float32))


def test_pixels_away_from_the_face_are_untouched(photo: np.ndarray) -> None:
    alignment = estimate_alignment(apply(similarity(8.0, 0.25, (180.0, 60.0)), TEMPLATE_LANDMARKS_512))
    canvas = photo.copy()
    restored = np.full((512, 512, 3), 255, np.uint8)
    region = paste_face(canvas, restored, alignment)
    outside = np.ones(photo.shape[:2], bool)
    outside[region.y0 : region.y1, region.x0 : region.x1] = False
    assert np.array_equal(canvas[outside], photo[outside])
    changed = np.any(canvas != photo, axis=2)
    assert changed.sum() > 1000, "the face area must change"
    assert not changed[outside].any()
    centre = np.round(apply(alignment.inverse, np.array([[256.0, 256.0]]))[0]).astype(int)
    assert np.all(canvas[centre[1], centre[0]] == 255), "inside the feathered mask the face replaces the photo"


def test_region_of_interest_paste_equals_a_full_canvas_paste(photo: np.ndarray) -> None:
    """Warping only the face's region gives the same pixels as warping onto the whole image."""
    alignment = estimate_alignment(apply(similarity(-12.0, 0.3, (140.0, 120.0)), TEMPLATE_LANDMARKS_512))
    rng = np.random.default_rng(0)
    restored = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    roi_result = photo.copy()
    paste_face(roi_result, restored, alignment)

    to_out = crop_to_output(alignment)
    h, w = photo.shape[:2]
    warped = cv2.warpAffine(restored.astype(np.float32), to_out, (w, h), flags=cv2.INTER_LINEAR)
    region = face_region(to_out, 512, (h, w))
    full_mask = np.zeros((h, w), np.float32)
    to_region = to_out.copy()
    to_region[:, 2] -= (region.x0, region.y0)
    full_mask[region.y0 : region.y1, region.x0 : region.x1] = feathered_mask(512, to_region, region, 1 / 20)
    expected = np.rint(full_mask[..., None] * warped + (1 - full_mask[..., None]) * photo).astype(np.uint8)
    assert np.abs(roi_result.astype(int) - expected.astype(int)).max() <= 1


def test_sixteen_bit_canvas_gets_sixteen_bit_values(photo: np.ndarray) -> None:
    canvas = photo.astype(np.uint16) * 257
    original = canvas.copy()
    alignment = estimate_alignment(apply(similarity(0.0, 0.3, (150.0, 100.0)), TEMPLATE_LANDMARKS_512))
    paste_face(canvas, np.full((512, 512, 3), 200, np.uint8), alignment)
    centre = np.round(apply(alignment.inverse, np.array([[256.0, 256.0]]))[0]).astype(int)
    assert np.all(canvas[centre[1], centre[0]] == 200 * 257)
    assert canvas.dtype == np.uint16
    assert np.array_equal(canvas[:10], original[:10])


def test_upscaled_output_places_the_face_at_scaled_coordinates(photo: np.ndarray) -> None:
    alignment = estimate_alignment(apply(similarity(0.0, 0.3, (150.0, 100.0)), TEMPLATE_LANDMARKS_512))
    big = cv2.resize(photo, (1024, 1024), interpolation=cv2.INTER_LANCZOS4)
    paste_face(big, np.full((512, 512, 3), 255, np.uint8), alignment, scale=2.0)
    cx, cy = apply(alignment.inverse, np.array([[256.0, 256.0]]))[0] * 2 + 0.5
    assert np.all(big[round(cy), round(cx)] == 255)


def test_a_face_partly_outside_the_photo_is_clipped(photo: np.ndarray) -> None:
    alignment = estimate_alignment(apply(similarity(0.0, 0.3, (-60.0, -50.0)), TEMPLATE_LANDMARKS_512))
    canvas = photo.copy()
    region = paste_face(canvas, np.full((512, 512, 3), 255, np.uint8), alignment)
    assert region.x0 == 0 and region.y0 == 0 and region.x1 < 200
