"""The three training stages end to end with the tiny configuration on CPU, on faces from package photos.

Each stage trains a few dozen steps, and the test checks what the stage is for: its main loss falls, codebook
usage is reported, what must stay frozen stays frozen, a run resumes exactly, and the final weights load in the
app and restore aligned faces through ``codeformer-app restore --aligned``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import pytest
import torch
from safetensors import safe_open
from train_helpers import write_training_faces

from codeformer_app.cli.main import main as app_main
from codeformer_app.imaging import read_photo
from codeformer_app.weights.safe_load import load_codeformer, read_state_dict
from codeformer_train import cli as train_cli
from codeformer_train.config import RunConfig, StageName, preset, with_overrides
from codeformer_train.errors import TrainingError
from codeformer_train.loop import CHECKPOINT_PATH, LOG_NAME, train
from codeformer_train.perceptual import PerceptualLoss
from codeformer_train.stage_weights import STAGE_KEY, VQGAN_CONFIG_KEY

pytestmark = pytest.mark.slow  # whole training runs

FACE_SIZE = 32
STEPS = 60
LOG_EVERY = 10


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faces")
    write_training_faces(folder, FACE_SIZE)
    return folder


@pytest.fixture(scope="module")
def perceptual() -> PerceptualLoss:
    return PerceptualLoss.seeded_random(seed=3)


def _run(steps: int = STEPS, **changes) -> RunConfig:
    fields = dict(
        steps=steps, batch_size=4, num_workers=0, log_every=LOG_EVERY, checkpoint_every=1000, tensorboard=False
    )
    return RunConfig(**(fields | changes))


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]


def _first_and_last(lines: list[dict], name: str) -> tuple[float, float]:
    return lines[0][name], lines[-1][name]


@pytest.fixture(scope="module")
def vqgan_run(tmp_path_factory, faces, perceptual):
    out = tmp_path_factory.mktemp("vqgan")
    result = train(preset(StageName.VQGAN, "tiny"), _run(), faces, out, perceptual=perceptual, progress=False)
    return out, result


@pytest.fixture(scope="module")
def codes_run(tmp_path_factory, faces, vqgan_run):
    out = tmp_path_factory.mktemp("codes")
    config = dataclasses.replace(preset(StageName.CODES, "tiny"), vqgan=str(vqgan_run[1].export))
    return out, train(config, _run(), faces, out, progress=False)


@pytest.fixture(scope="module")
def fusion_run(tmp_path_factory, faces, perceptual, vqgan_run, codes_run):
    out = tmp_path_factory.mktemp("fusion")
    config = dataclasses.replace(
        preset(StageName.FUSION, "tiny"), init=str(codes_run[1].export), vqgan=str(vqgan_run[1].export)
    )
    return out, train(config, _run(), faces, out, perceptual=perceptual, progress=False)


def test_stage1_vqgan_learns_to_reconstruct_and_reports_codebook_usage(vqgan_run) -> None:
    out, result = vqgan_run
    lines = _log(out)
    assert [line["step"] for line in lines] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    first, last = _first_and_last(lines, "l1")
    assert last < 0.8 * first, f"L1 reconstruction loss did not fall: {first:.4f} -> {last:.4f}"
    for line in lines:
        assert 1 <= line["codes_used"] <= 16 and line["codebook_usage"] == line["codes_used"] / 16
        assert 1.0 <= line["code_perplexity"] <= line["codes_used"] + 1e-6
    # the discriminator starts at step 10 (tiny preset): no GAN term before, adaptive weight after
    assert "adaptive_weight" not in lines[0] and "discriminator" not in lines[0]
    assert all(0.0 <= line["adaptive_weight"] <= 0.8 for line in lines[1:])
    assert result.steps_done == STEPS and (out / CHECKPOINT_PATH).is_file()
    with safe_open(str(result.export), framework="pt") as export:
        metadata = export.metadata()
    assert metadata[STAGE_KEY] == "vqgan" and json.loads(metadata[VQGAN_CONFIG_KEY])["img_size"] == FACE_SIZE


def test_stage1_resumes_exactly_where_it_stopped(tmp_path, faces, perceptual) -> None:
    config = preset(StageName.VQGAN, "tiny")
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(config, _run(steps=16), faces, straight, perceptual=perceptual, progress=False)
    train(config, _run(steps=8), faces, split, perceptual=perceptual, progress=False)
    result = train(config, _run(steps=16), faces, split, perceptual=perceptual, progress=False)
    assert result.steps_done == 16
    expected, _ = read_state_dict(straight / result.export.name)
    resumed, _ = read_state_dict(result.export)
    assert expected.keys() == resumed.keys()
    worst = max((expected[k] - resumed[k]).abs().max().item() for k in expected)
    assert worst < 1e-5, f"a resumed run drifted from the uninterrupted one by {worst}"
    # the log continues instead of starting over
    assert [line["step"] for line in _log(split)] == [8, 10, 16]


def test_a_run_folder_refuses_other_settings(tmp_path, faces, perceptual) -> None:
    config = preset(StageName.VQGAN, "tiny")
    train(config, _run(steps=2), faces, tmp_path, perceptual=perceptual, progress=False)
    changed = with_overrides(config, ["optimizer.lr=0.5"])
    with pytest.raises(TrainingError, match=r"other settings \(optimizer.lr: 0.001 -> 0.5\)"):
        train(changed, _run(steps=4), faces, tmp_path, perceptual=perceptual, progress=False)


def test_stage2_learns_the_clean_codes_with_the_vqgan_frozen(codes_run, vqgan_run) -> None:
    out, result = codes_run
    lines = _log(out)
    first, last = _first_and_last(lines, "cross_entropy")
    assert last < 0.7 * first, f"code cross-entropy did not fall: {first:.4f} -> {last:.4f}"
    assert lines[-1]["code_accuracy"] > lines[0]["code_accuracy"]
    assert all(1 <= line["codes_used"] <= 16 for line in lines)
    vqgan, _ = read_state_dict(vqgan_run[1].export)
    codeformer, metadata = read_state_dict(result.export)
    for name, tensor in vqgan.items():
        if name.startswith(("quantize.", "generator.")):
            assert torch.equal(codeformer[name], tensor), f"{name} changed although stage II freezes it"
    assert any(not torch.equal(codeformer[n], vqgan[n]) for n in vqgan if n.startswith("encoder."))
    assert metadata[STAGE_KEY] == "codes"


def test_stage3_learns_the_fusion_at_w1_with_the_decoder_frozen(fusion_run, codes_run) -> None:
    out, result = fusion_run
    lines = _log(out)
    first, last = _first_and_last(lines, "l1")
    assert last < 0.8 * first, f"L1 at w=1 did not fall: {first:.4f} -> {last:.4f}"
    assert "cross_entropy" in lines[-1] and "adaptive_weight" in lines[-1]
    assert all(0.0 <= line["adaptive_weight"] <= 0.1 for line in lines[1:])
    before, _ = read_state_dict(codes_run[1].export)
    after, _ = read_state_dict(result.export)
    for name in after:
        if name.startswith(("quantize.", "generator.")):
            assert torch.equal(after[name], before[name]), f"{name} changed although stage III freezes it"
    fusion_names = [n for n in after if n.startswith("fuse_convs_dict.")]
    assert fusion_names and all(not torch.equal(after[n], before[n]) for n in fusion_names if n.endswith("weight"))


def test_stage3_export_loads_in_the_app_and_restores_aligned_faces(fusion_run, faces, tmp_path) -> None:
    _, result = fusion_run
    model = load_codeformer(result.export)
    assert model.config.img_size == FACE_SIZE
    inputs = sorted(faces.glob("*.png"))[:3]
    code = app_main(
        ["restore", "--aligned", *map(str, inputs), "-o", str(tmp_path), "--weights", str(result.export), "-w", "1"]
    )
    assert code == 0
    for source in inputs:
        restored = read_photo(tmp_path / source.name).color
        original = read_photo(source).color
        assert restored.shape == original.shape
        assert restored.std() > 1.0, "the restored face is flat"


def test_cli_trains_stage2_resumes_and_explains_missing_inputs(tmp_path, faces, vqgan_run, capsys) -> None:
    out = tmp_path / "run"
    common = ["--data", str(faces), "--out", str(out), "--preset", "tiny", "--workers", "0", "-q"]
    vqgan = ["--vqgan", str(vqgan_run[1].export)]
    assert train_cli.main(["codes", *common, *vqgan, "--steps", "4", "--log-every", "2", "--no-tensorboard"]) == 0
    assert train_cli.main(["resume", str(out), "--steps", "6", "-q"]) == 0
    assert [line["step"] for line in _log(out)] == [2, 4, 6]
    assert "6 steps done" in capsys.readouterr().out

    assert train_cli.main(["codes", *common[:2], "--out", str(tmp_path / "novq"), "--preset", "tiny", "-q"]) == 2
    assert "needs the stage I VQGAN" in capsys.readouterr().err
    # a folder whose first start failed takes the corrected command
    retry = ["codes", *common[:2], "--out", str(tmp_path / "novq"), "--preset", "tiny", "--workers", "0", "-q"]
    assert train_cli.main([*retry, *vqgan, "--steps", "2", "--no-tensorboard"]) == 0
    assert train_cli.main(["codes", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "x"), *vqgan, "-q"]) == 2
    assert str(tmp_path / "none") in capsys.readouterr().err


def test_tensorboard_receives_the_same_scalars(tmp_path, faces, vqgan_run) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = dataclasses.replace(preset(StageName.CODES, "tiny"), vqgan=str(vqgan_run[1].export))
    train(config, _run(steps=4, log_every=2, tensorboard=True), faces, tmp_path, progress=False)
    events = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    cross_entropy = [event.value for event in events.Scalars("codes/cross_entropy")]
    assert [event.step for event in events.Scalars("codes/cross_entropy")] == [2, 4]
    assert cross_entropy == pytest.approx([line["cross_entropy"] for line in _log(tmp_path)], rel=1e-6)


def test_stages_needing_the_perceptual_network_say_how_to_install_it(tmp_path, faces, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CODEFORMER_APP_WEIGHTS_DIR", str(tmp_path / "weights"))
    common = ["--data", str(faces), "--preset", "tiny", "--workers", "0", "-q"]
    assert train_cli.main(["vqgan", *common, "--out", str(tmp_path / "run")]) == 2
    message = capsys.readouterr().err
    assert "vgg16-397923af.pth" in message and "codeformer-train weights download" in message
    assert train_cli.main(["weights", "status"]) == 2
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in capsys.readouterr().out
    stranger = tmp_path / "stranger.pth"
    stranger.write_bytes(b"not a weights file")
    assert train_cli.main(["weights", "import", str(stranger)]) == 2
    assert str(stranger) in capsys.readouterr().err


def test_align_makes_a_training_folder_from_photos_and_reports_bad_ones(tmp_path, capsys) -> None:
    from photo_samples import astronaut_bgr

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.jpg"), astronaut_bgr())
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "faces"
    assert train_cli.main(["align", str(photos), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "1 faces written" in captured.out and "broken.jpg" in captured.err
    (face,) = sorted(out.glob("*.png"))
    assert face.name == "astronaut_face00.png"
    crop = cv2.imread(str(face))
    assert crop.shape == (512, 512, 3) and crop.std() > 20


def test_a_step_with_a_non_finite_loss_is_skipped_and_many_stop_the_run(vqgan_run) -> None:
    from codeformer_train.stages import MAX_NONFINITE_STEPS, build_stage

    config = dataclasses.replace(preset(StageName.CODES, "tiny"), vqgan=str(vqgan_run[1].export))
    stage = build_stage(config, torch.device("cpu"), total_steps=10)
    before = {k: v.clone() for k, v in stage.network.state_dict().items()}
    poisoned = sum(p.sum() for p in stage.network.parameters() if p.requires_grad) * float("nan")
    assert stage._generator_update(poisoned) is False
    assert all(torch.equal(before[k], v) for k, v in stage.network.state_dict().items())
    with pytest.raises(TrainingError, match="not finite for"):
        for _ in range(MAX_NONFINITE_STEPS):
            stage._generator_update(poisoned)


def test_a_cosine_schedule_keeps_its_curve_when_a_run_is_extended() -> None:
    from codeformer_train.config import with_fixed_periods
    from codeformer_train.optim import learning_rate

    config = with_fixed_periods(preset(StageName.FUSION, "full"), 150_000)
    assert config.optimizer.period == config.gan.optimizer.period == 150_000
    assert with_fixed_periods(config, 300_000) == config  # resuming with more steps does not move it
    assert learning_rate(config.optimizer, 75_000, 300_000) == pytest.approx(3.5e-5)


def test_a_damaged_face_met_during_training_is_replaced(tmp_path) -> None:
    from codeformer_train.data import StepBatches, list_faces

    write_training_faces(tmp_path, FACE_SIZE)
    files = list_faces(tmp_path)
    damaged = files[0]
    damaged.write_bytes(damaged.read_bytes()[:60])  # the header survives, the pixels do not
    dataset = StepBatches(files[:2], img_size=FACE_SIZE, batch_size=2, seed=0, degradation=None, last_step=4)
    for step in range(4):
        assert torch.isfinite(dataset.batch_for_step(step).gt).all()
