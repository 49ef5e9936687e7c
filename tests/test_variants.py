"""Issue 16: the CodeFormer family (colorization, inpainting) told apart by shapes and run as the official
scripts run them; aligned crops and whole photos through the command line; a photo's mask warped into a face.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from model_helpers import SMALL_CONFIG, make_model, perturb_, random_faces, save_official_style
from photo_samples import astronaut_bgr

from codeformer_app.cli.main import main
from codeformer_app.detection import create_detector
from codeformer_app.detection.align import TEMPLATE_LANDMARKS_512
from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig
from codeformer_app.networks.codeformer.load import describe_codeformer
from codeformer_app.networks.codeformer.runtime import Precision
from codeformer_app.networks.codeformer.variants import FaceTask, task_of
from codeformer_app.pipeline.faces import locate_faces
from codeformer_app.pipeline.grey import looks_grey
from codeformer_app.pipeline.inpaint import crop_hole

#: Official shapes of the three files (fusion resolutions, codebook size).
OFFICIAL = {
    FaceTask.RESTORE: CodeFormerConfig(),
    FaceTask.COLORIZE: CodeFormerConfig(connect_list=(32, 64, 128)),
    FaceTask.INPAINT: CodeFormerConfig(connect_list=(32, 64, 128), codebook_size=512),
}
#: Tiny networks of each kind: the variants fuse one level below half the face size (64 px faces).
TINY_KINDS = {
    FaceTask.RESTORE: SMALL_CONFIG,
    FaceTask.COLORIZE: {**SMALL_CONFIG, "connect_list": (16,)},
    FaceTask.INPAINT: {**SMALL_CONFIG, "connect_list": (16,), "codebook_size": 512},
}
PARITY_TOLERANCE = 1e-4


def write(image: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture
def kind_weights(tmp_path: Path) -> dict[FaceTask, Path]:
    return {
        task: save_official_style(make_model(config, seed=5), tmp_path / f"tiny_{task.value}.pth")
        for task, config in TINY_KINDS.items()
    }


def test_each_official_file_is_told_apart_by_its_shapes() -> None:
    for task, config in OFFICIAL.items():
        state = CodeFormer(config).state_dict()
        described = describe_codeformer(state)
        assert described.connect_list == config.connect_list and described.codebook_size == config.codebook_size
        assert task_of(described) is task
    for task, config in TINY_KINDS.items():
        assert task_of(CodeFormerConfig(**config).normalised()) is task


@pytest.mark.slow
@pytest.mark.parametrize("task", [FaceTask.COLORIZE, FaceTask.INPAINT])
def test_variant_matches_the_reference_implementation(task: FaceTask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Full-size network of the variant's shapes, seeded random weights, run as its official script runs it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from spandrel_extra_arches.architectures.CodeFormer.__arch import codeformer as reference_module

    config = OFFICIAL[task]
    torch.manual_seed(0)
    reference = reference_module.CodeFormer(
        connect_list=[str(r) for r in config.connect_list], codebook_size=config.codebook_size
    )
    reference = perturb_(reference, seed=1, scale=0.02).eval()
    ours = CodeFormer(config).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.precision = Precision.EXACT
    w, adain = (0.0, True) if task is FaceTask.COLORIZE else (1.0, False)
    if not adain:  # the reference always applies AdaIN; the official inpainting script turns it off
        monkeypatch.setattr(reference_module, "adaptive_instance_normalization", lambda content, style: content)
    faces = random_faces(1, 512, seed=3)
    with torch.inference_mode():
        expected = reference(faces, weight=w)[0].clamp(-1, 1)
        got = ours.decode(ours.encode(faces, adain_codes=adain), w)
    assert (got - expected).abs().max().item() <= PARITY_TOLERANCE


def test_aligned_colorize_keeps_colour_on_a_grey_crop(tmp_path: Path, kind_weights) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(astronaut_bgr()[0:256, 128:384], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    crop = write(grey, tmp_path / "in" / "grey_face.png")
    out = tmp_path / "out"
    args = ["restore", str(crop), "--aligned", "-o", str(out), "--weights", str(kind_weights[FaceTask.COLORIZE])]
    assert main(args) == 0
    result = cv2.imread(str(out / "grey_face.png"))
    assert not looks_grey(result), "colorization output must not be turned grey again"
    # The same grey crop restored by the restoration network stays grey (the photo is black and white).
    restore = ["restore", str(crop), "--aligned", "-o", str(tmp_path / "r"), "--weights"]
    assert main([*restore, str(kind_weights[FaceTask.RESTORE])]) == 0
    assert looks_grey(cv2.imread(str(tmp_path / "r" / "grey_face.png")))


def test_aligned_inpaint_fills_only_the_white_hole(tmp_path: Path, kind_weights) -> None:
    face = cv2.resize(astronaut_bgr()[0:256, 128:384], (64, 64), interpolation=cv2.INTER_AREA)
    face = np.minimum(face, 254)  # no accidental pure white outside the hole
    face[20:36, 10:50] = 255  # a scratch
    crop = write(face, tmp_path / "in" / "scratched.png")
    out = tmp_path / "out"
    args = ["restore", str(crop), "--aligned", "-o", str(out), "--weights", str(kind_weights[FaceTask.INPAINT])]
    assert main(args) == 0
    result = cv2.imread(str(out / "scratched.png"))
    hole = np.zeros(face.shape[:2], bool)
    hole[20:36, 10:50] = True
    assert np.array_equal(result[~hole], face[~hole]), "outside the hole the crop is kept exactly"
    assert (result[hole] != 255).any(), "the hole is filled by the network"


def test_aligned_inpaint_with_a_mask_file(tmp_path: Path, kind_weights) -> None:
    face = cv2.resize(astronaut_bgr()[0:256, 128:384], (64, 64), interpolation=cv2.INTER_AREA)
    crop = write(face, tmp_path / "in" / "face.png")
    mask = np.zeros((64, 64), np.uint8)
    mask[40:60, 20:44] = 255
    mask_file = write(mask, tmp_path / "mask.png")
    out = tmp_path / "out"
    weights = str(kind_weights[FaceTask.INPAINT])
    assert (
        main(["restore", str(crop), "--aligned", "-o", str(out), "--weights", weights, "--mask", str(mask_file)]) == 0
    )
    result = cv2.imread(str(out / "face.png"))
    inside = mask > 0
    assert np.array_equal(result[~inside], face[~inside])
    assert not np.array_equal(result[inside], face[inside])


def test_weights_of_the_wrong_kind_are_refused_naming_the_file(
    tmp_path: Path, kind_weights, capsys: pytest.CaptureFixture
) -> None:
    crop = write(cv2.resize(astronaut_bgr()[0:256, 128:384], (64, 64)), tmp_path / "in" / "face.png")
    weights = kind_weights[FaceTask.RESTORE]
    code = main(
        ["restore", str(crop), "--aligned", "-o", str(tmp_path / "o"), "--weights", str(weights), "--task", "colorize"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(weights) in err and "these are restore weights" in err and "not colorize weights" in err


def test_photo_colorize_gives_colour_faces_and_leaves_the_rest_grey(tmp_path: Path, kind_weights) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    photo = write(grey, tmp_path / "in" / "portrait.png")
    out = tmp_path / "out"
    args = ["restore", str(photo), "-o", str(out), "--weights", str(kind_weights[FaceTask.COLORIZE]), "--no-identity"]
    assert main(args) == 0
    result = cv2.imread(str(out / "portrait.png"))
    changed = (result != grey).any(axis=2)
    assert changed.any()
    assert not looks_grey(result[changed].reshape(-1, 1, 3)), "the face has colour"
    assert np.array_equal(result[~changed], grey[~changed])
    ys, xs = np.nonzero(changed)
    assert 100 < xs.mean() < 300 and ys.mean() < 250, "only the face region changed"


def test_a_mask_painted_on_the_photo_lands_on_the_same_place_of_the_face_crop() -> None:
    """The brush-to-mask warp: a dot on the left eye of the photo is on the template's left eye in the crop."""
    photo = astronaut_bgr()
    face = locate_faces(photo, create_detector("mtcnn"))[0]
    mask = np.zeros(photo.shape[:2], np.uint8)
    eye = face.detected.landmarks[0]
    cv2.circle(mask, (round(eye[0]), round(eye[1])), 4, 255, -1)
    hole = crop_hole(mask, face.alignment)
    ys, xs = np.nonzero(hole)
    centre = np.array([xs.mean(), ys.mean()])
    assert np.linalg.norm(centre - TEMPLATE_LANDMARKS_512[0]) < 6.0


def test_photo_inpaint_changes_only_around_the_mask(tmp_path: Path, kind_weights) -> None:
    photo_bgr = astronaut_bgr()
    photo = write(photo_bgr, tmp_path / "in" / "astronaut.png")
    face = locate_faces(photo_bgr, create_detector("mtcnn"))[0]
    mask = np.zeros(photo_bgr.shape[:2], np.uint8)
    x0, y0, x1, y1 = (round(v) for v in face.detected.box)
    cv2.line(mask, (x0 + 10, (y0 + y1) // 2), (x1 - 10, (y0 + y1) // 2 + 15), 255, 5)  # a scratch
    mask_file = write(mask, tmp_path / "scratch.png")
    out = tmp_path / "out"
    weights = str(kind_weights[FaceTask.INPAINT])
    args = ["restore", str(photo), "-o", str(out), "--weights", weights, "--mask", str(mask_file), "--no-identity"]
    args += ["--task", "inpaint"]
    assert main(args) == 0
    result = cv2.imread(str(out / "astronaut.png"))
    changed = (result != photo_bgr).any(axis=2)
    assert changed[mask > 0].mean() > 0.5, "the scratch is filled"
    near = cv2.dilate(mask, np.ones((25, 25), np.uint8)) > 0
    assert not changed[~near].any(), "nothing changes away from the scratch"


def test_the_light_defaults_name_the_same_choices_as_the_core() -> None:
    """The command line offers choices from defaults.py (no PyTorch); they must be the core's own."""
    from codeformer_app.defaults import PRECISION_CHOICES, TASK_CHOICES

    assert tuple(task.value for task in FaceTask) == TASK_CHOICES
    assert tuple(p.value for p in Precision) == PRECISION_CHOICES
