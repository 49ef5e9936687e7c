"""The photo-level API on real photos: analyse once, render per face, compose; tiny network, real detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from model_helpers import TINY_CONFIG, make_model
from photo_samples import astronaut_bgr, grace_hopper_bgr, lfw_face_grid

from codeformer_app.detection import create_detector
from codeformer_app.imaging import read_photo
from codeformer_app.pipeline.paste import crop_to_output, face_region
from codeformer_app.pipeline.photo import ComposeOptions, analyse_photo, compose, render_faces


@pytest.fixture(scope="module")
def detector():
    return create_detector("mtcnn")


@pytest.fixture(scope="module")
def model():
    return make_model(TINY_CONFIG, seed=21)


def save_png(image: np.ndarray, path: Path) -> Path:
    cv2.imencode(".png", image)[1].tofile(path)
    return path


def outside_faces(analysed, shape: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """True where no face's paste region reaches."""
    keep = np.ones(shape, bool)
    for face in analysed.faces:
        region = face_region(crop_to_output(face.alignment, scale), face.alignment.size, shape)
        keep[region.y0 : region.y1, region.x0 : region.x1] = False
    return keep


@pytest.mark.parametrize("make_photo", [astronaut_bgr, grace_hopper_bgr], ids=["astronaut", "grace_hopper"])
def test_real_photo_faces_restored_and_background_untouched(tmp_path: Path, detector, model, make_photo) -> None:
    photo = read_photo(save_png(make_photo(), tmp_path / "photo.png"))
    analysed = analyse_photo(photo, model, detector)
    assert len(analysed.faces) == 1
    color, alpha = compose(analysed, render_faces(analysed, 0.5))
    assert color.shape == photo.color.shape and color.dtype == photo.color.dtype and alpha is None
    keep = outside_faces(analysed, color.shape[:2])
    assert keep.mean() > 0.5
    assert np.array_equal(color[keep], photo.color[keep]), "pixels away from faces must be exactly the input's"
    assert not np.array_equal(color[~keep], photo.color[~keep]), "the face must be restored"


def test_group_photo_of_twenty_faces(tmp_path: Path, detector, model) -> None:
    grid = lfw_face_grid()
    photo = read_photo(save_png(grid.image_bgr, tmp_path / "group.png"))
    analysed = analyse_photo(photo, model, detector)
    assert len(analysed.faces) >= 18
    color, _ = compose(analysed, render_faces(analysed, 0.7))
    keep = outside_faces(analysed, color.shape[:2])
    assert np.array_equal(color[keep], photo.color[keep])
    assert color.shape == photo.color.shape


def test_slider_change_reuses_encodings(tmp_path: Path, detector, model) -> None:
    photo = read_photo(save_png(astronaut_bgr(), tmp_path / "a.png"))
    analysed = analyse_photo(photo, model, detector)
    first = render_faces(analysed, 0.2)
    second = render_faces(analysed, 0.9)
    per_face = render_faces(analysed, 0.2, per_face={0: 0.9})
    assert analysed.encodings.encode_count == len(analysed.faces) == 1
    assert not np.array_equal(first[0], second[0])
    assert np.array_equal(per_face[0], second[0])
    kept = analysed.encodings.get(0)
    assert analysed.encodings.rerender and kept.head_change is not None and kept.fusion_terms  # for the slider


def test_excluded_face_keeps_its_region_as_in_the_input(tmp_path: Path, detector, model) -> None:
    two = np.full((512, 512 * 2 + 400, 3), 128, np.uint8)
    two[:, :512], two[:, -512:] = astronaut_bgr(), astronaut_bgr()[:, ::-1]
    photo = read_photo(save_png(two, tmp_path / "two.png"))
    analysed = analyse_photo(photo, model, detector)
    assert len(analysed.faces) == 2
    kept = 0 if analysed.faces[0].detected.box[0] < 600 else 1
    color, _ = compose(analysed, render_faces(analysed, 0.5, include={kept}))
    assert np.array_equal(color[:, 700:], photo.color[:, 700:]), "the excluded face is as in the input"
    assert not np.array_equal(color[:, :512], photo.color[:, :512])


def test_upscaled_output_and_sixteen_bit_photo(tmp_path: Path, detector, model) -> None:
    rgb16 = (cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2RGB).astype(np.uint16) * 257)[:, :, ::-1]
    photo = read_photo(save_png(np.ascontiguousarray(rgb16), tmp_path / "deep.png"))
    assert photo.info.bit_depth == 16
    analysed = analyse_photo(photo, model, detector)
    color, _ = compose(analysed, render_faces(analysed, 0.5), ComposeOptions(upscale=2))
    assert color.shape == (1024, 1024, 3) and color.dtype == np.uint16


def test_greyscale_photo_gets_grey_faces(tmp_path: Path, detector, model) -> None:
    grey = cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY)
    photo = read_photo(save_png(grey, tmp_path / "grey.png"))
    assert photo.info.grey
    analysed = analyse_photo(photo, model, detector)
    color, _ = compose(analysed, render_faces(analysed, 0.5))
    assert np.array_equal(color[:, :, 0], color[:, :, 1]) and np.array_equal(color[:, :, 1], color[:, :, 2])


def test_no_face_photo_is_returned_unchanged(tmp_path: Path, detector, model) -> None:
    from photo_samples import coffee_bgr

    photo = read_photo(save_png(coffee_bgr(), tmp_path / "coffee.png"))
    analysed = analyse_photo(photo, model, detector)
    assert analysed.faces == []
    color, _ = compose(analysed, render_faces(analysed, 0.5))
    assert np.array_equal(color, photo.color)


def test_one_shot_budget_keeps_only_the_latest_encoding(tmp_path: Path, detector, model) -> None:
    """The command line renders each face once; holding every face's encoding would only cost memory."""
    from codeformer_app.pipeline.encodings import ONE_SHOT_BUDGET_BYTES, encoding_bytes

    photo = read_photo(save_png(lfw_face_grid().image_bgr, tmp_path / "group.png"))
    analysed = analyse_photo(photo, model, detector, budget_bytes=ONE_SHOT_BUDGET_BYTES)
    render_faces(analysed, 0.5)
    cache = analysed.encodings
    assert cache.encode_count == len(analysed.faces) >= 18
    assert cache.cached_bytes() == encoding_bytes(cache.get(len(analysed.faces) - 1))
    assert not cache.rerender and cache.get(0).head_change is None  # one render: the split would only cost


def test_over_budget_repeated_renders_re_encode_only_the_faces_beyond_it(tmp_path: Path, detector, model) -> None:
    """Slider moves render all faces in order again and again; the faces that fit stay encoded."""
    from codeformer_app.pipeline.encodings import encoding_bytes

    photo = read_photo(save_png(lfw_face_grid().image_bgr, tmp_path / "group.png"))
    analysed = analyse_photo(photo, model, detector)
    faces = len(analysed.faces)
    one = encoding_bytes(analysed.encodings.get(0))
    kept = 5
    analysed.encodings.budget_bytes = kept * one
    render_faces(analysed, 0.5)
    assert analysed.encodings.encode_count == faces
    for fidelity in (0.6, 0.7):
        render_faces(analysed, fidelity)
    assert analysed.encodings.encode_count == faces + 2 * (faces - (kept - 1))


def test_a_hundred_faces_in_one_photo(tmp_path: Path, detector, model) -> None:
    from photo_samples import grid_photo, lfw_crops

    grid = grid_photo(lfw_crops(faces=True), rows=10, columns=10, cell=120, gap=20)
    photo = read_photo(save_png(grid.image_bgr, tmp_path / "crowd.png"))
    analysed = analyse_photo(photo, model, detector, budget_bytes=0)
    assert len(analysed.faces) >= 90
    color, _ = compose(analysed, render_faces(analysed, 0.5))
    keep = outside_faces(analysed, color.shape[:2])
    assert np.array_equal(color[keep], photo.color[keep])
