"""Face-parsing paste mask: which classes are pasted, how the mask is softened, and loading ParseNet safely."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from codeformer_app.errors import WeightsError
from codeformer_app.networks.parsenet.load import CELEBAMASK_HQ_LABELS, PARSENET_SIZE
from codeformer_app.pipeline.parsing import (
    EXCLUDED_LABELS,
    MASK_BORDER_PX,
    FaceParser,
    hard_mask,
    load_face_parser,
    soften_mask,
)
from codeformer_app.weights import DEFAULT_REGISTRY, import_weights, weights_dir

#: Largest change of the soft mask between neighbouring pixels (at 512 px) away from the zeroed border.
#: Two passes of a sigma-11 Gaussian act like one of sigma 15.6, whose steepest slope on a 0 -> 1 step is
#: 1 / (sqrt(2 pi) * 15.6) ~= 0.026 per pixel.
MAX_NEIGHBOUR_STEP = 0.03


def label(name: str) -> int:
    return CELEBAMASK_HQ_LABELS.index(name)


def disc_with_hat(size: int = PARSENET_SIZE) -> np.ndarray:
    """A disc of skin on background, with a band of hat across its upper part."""
    yy, xx = np.mgrid[0:size, 0:size]
    labels = np.full((size, size), label("background"), np.int64)
    labels[(yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (0.35 * size) ** 2] = label("skin")
    labels[int(0.15 * size) : int(0.3 * size), :] = label("hat")
    return labels


def largest_neighbour_step(mask: np.ndarray, border: int) -> float:
    inner = mask[border + 1 : -border - 1, border + 1 : -border - 1]
    return float(max(np.abs(np.diff(inner, axis=0)).max(), np.abs(np.diff(inner, axis=1)).max()))


def facexlib_weights_files() -> set[str]:
    import facexlib

    folder = Path(facexlib.__file__).parent / "weights"
    return {path.name for path in folder.rglob("*")} if folder.is_dir() else set()


@pytest.fixture(scope="module")
def parsenet_weights() -> dict[str, torch.Tensor]:
    """ParseNet as the official file builds it, with seeded random weights."""
    from facexlib.parsing.parsenet import ParseNet

    torch.manual_seed(0)
    return ParseNet(in_size=PARSENET_SIZE, out_size=PARSENET_SIZE, parsing_ch=len(CELEBAMASK_HQ_LABELS)).state_dict()


def face_crop(size: int = PARSENET_SIZE) -> np.ndarray:
    """A skin-coloured oval on a darker background, 8-bit BGR."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    crop = np.full((size, size, 3), (60, 70, 80), np.uint8)
    crop[((yy - 0.5) / 0.4) ** 2 + ((xx - 0.5) / 0.3) ** 2 < 1] = (120, 150, 200)
    return crop


# --- the class -> mask rule and the softening, without the network --------------------------------------------


def test_the_label_table_is_celebamask_hq_with_background_first() -> None:
    assert len(CELEBAMASK_HQ_LABELS) == 19
    assert CELEBAMASK_HQ_LABELS[0] == "background" and CELEBAMASK_HQ_LABELS[-1] == "cloth"
    assert {"background", "hat", "neck_l", "neck", "cloth"} == EXCLUDED_LABELS
    # the official colour map keeps 1-13 and 15, zeroes 0, 14, 16, 17, 18
    assert [label(name) for name in sorted(EXCLUDED_LABELS, key=label)] == [0, 14, 16, 17, 18]


def test_face_classes_become_one_and_hat_and_background_zero() -> None:
    labels = disc_with_hat()
    mask = hard_mask(labels)
    assert mask.dtype == np.float32 and mask.shape == labels.shape
    assert np.all(mask[labels == label("skin")] == 1.0)
    assert np.all(mask[labels == label("hat")] == 0.0)
    assert np.all(mask[labels == label("background")] == 0.0)
    assert set(np.unique(mask)) == {0.0, 1.0}


@pytest.mark.parametrize("name", CELEBAMASK_HQ_LABELS)
def test_every_class_follows_the_rule(name: str) -> None:
    expected = 0.0 if name in EXCLUDED_LABELS else 1.0
    assert hard_mask(np.array([[label(name)]])) == expected


def test_labels_outside_the_table_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        hard_mask(np.array([[len(CELEBAMASK_HQ_LABELS)]]))


def test_soft_mask_is_smooth_zero_at_the_border_and_keeps_the_face() -> None:
    labels = disc_with_hat()
    soft = soften_mask(hard_mask(labels), PARSENET_SIZE)
    assert soft.dtype == np.float32 and soft.shape == (PARSENET_SIZE, PARSENET_SIZE)
    assert soft.min() >= 0.0 and soft.max() <= 1.0
    border = MASK_BORDER_PX
    for edge in (soft[:border], soft[-border:], soft[:, :border], soft[:, -border:]):
        assert np.all(edge == 0.0)
    assert largest_neighbour_step(soft, border) <= MAX_NEIGHBOUR_STEP
    centre = PARSENET_SIZE // 2
    assert soft[int(0.65 * PARSENET_SIZE), centre] > 0.99  # deep in the skin, below the hat band
    assert soft[int(0.22 * PARSENET_SIZE), centre] < 0.5  # on the hat band
    assert soft[centre, int(0.05 * PARSENET_SIZE) + border] < 0.01  # background far from the face


def test_soft_mask_scales_with_the_crop() -> None:
    hard = hard_mask(disc_with_hat())
    full = soften_mask(hard, PARSENET_SIZE)
    half = soften_mask(hard, PARSENET_SIZE // 2)
    assert half.shape == (256, 256)
    assert np.all(half[: MASK_BORDER_PX // 2] == 0.0) and np.all(half[:, -MASK_BORDER_PX // 2 :] == 0.0)
    np.testing.assert_allclose(half[100:150, 100:150], full[200:300:2, 200:300:2], atol=0.02)


# --- the network ---------------------------------------------------------------------------------------------


def test_loader_returns_none_when_parsenet_is_not_installed() -> None:
    assert load_face_parser() is None


def test_installed_parsenet_gives_a_soft_mask_over_the_crop(tmp_path: Path, parsenet_weights: dict) -> None:
    """One forward pass (ParseNet costs ~470 GFLOP at 512 px); a 256 px crop also checks the rescaling."""
    before = facexlib_weights_files()
    source = tmp_path / "parsing_parsenet.pth"
    torch.save(parsenet_weights, source)
    import_weights(source, weights_dir(), registry=DEFAULT_REGISTRY, name="parsenet", force=True)
    parser = load_face_parser()
    assert isinstance(parser, FaceParser)
    size = PARSENET_SIZE // 2
    mask = parser.mask(face_crop(size))
    assert mask.shape == (size, size) and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert 0.0 < mask.mean() < 1.0  # the random network labels some pixels as face and some not
    border = MASK_BORDER_PX // 2
    for edge in (mask[:border], mask[-border:], mask[:, :border], mask[:, -border:]):
        assert np.all(edge == 0.0)
    assert largest_neighbour_step(mask, border) <= 2 * MAX_NEIGHBOUR_STEP  # half the pixels: twice the slope
    assert facexlib_weights_files() == before  # facexlib downloaded nothing


def test_parser_refuses_a_crop_that_is_not_8_bit_bgr(parsenet_weights: dict) -> None:
    parser = FaceParser(parsenet_weights)
    with pytest.raises(ValueError, match="8-bit"):
        parser.mask(face_crop().astype(np.uint16))
    with pytest.raises(ValueError, match="square"):
        parser.mask(face_crop()[:500])


def test_weights_of_another_network_are_an_error_naming_the_file(tmp_path: Path) -> None:
    source = tmp_path / "parsing_parsenet.pth"
    torch.save({"conv.weight": torch.zeros(4, 3, 3, 3)}, source)
    import_weights(source, weights_dir(), registry=DEFAULT_REGISTRY, name="parsenet", force=True)
    with pytest.raises(
        WeightsError, match=r"parsing_parsenet\.safetensors.*does not match the ParseNet network: .*missing keys"
    ):
        load_face_parser()
