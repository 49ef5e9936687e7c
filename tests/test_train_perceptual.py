"""The LPIPS perceptual loss of the training recipe, and its two weights files through the app's machinery.

Nothing is downloaded: the loss runs on a seeded random backbone, and downloads come from a local HTTP server
publishing generated stand-in files under entries swapped in for the official ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import pytest
import torch
from photo_samples import astronaut_bgr
from weights_helpers import FileServer, bypass_proxies, entry_for

from codeformer_app.errors import WeightsError
from codeformer_app.weights.paths import download_path, partial_path
from codeformer_app.weights.registry import DEFAULT_REGISTRY, URL_BASE_ENV, NetworkKind, Registry, WeightsEntry
from codeformer_app.weights.resolve import WeightsMissingError
from codeformer_train.perceptual import PerceptualLoss, unit_normalise
from codeformer_train.perceptual_weights import (
    LPIPS_VGG_LIN,
    PERCEPTUAL_ENTRIES,
    TRAINING_REGISTRY,
    VGG16_IMAGENET,
    download_perceptual_weights,
    find_perceptual_weights,
    import_perceptual_weights_file,
    load_perceptual_loss,
)

#: Written out here, independently of the module: torchvision ``features`` ranges of the five LPIPS taps,
#: the lin layers' names in LPIPS's ``vgg.pth``, and LPIPS v0.1's input scaling.
TAP_RANGES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))
TAP_NAMES = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
LPIPS_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
LPIPS_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
#: Side of the test photo: small enough for a fast CPU pass, large enough for relu5_3 (4x4 there).
PHOTO_SIDE = 64
NOISE_LEVELS = (0.03, 0.1, 0.3)
SEED = 7
#: Stand-in payloads for the download mechanics (the real files are 553 MB and 7 KB).
BACKBONE_BYTES = os.urandom(300_000)
LIN_BYTES = os.urandom(7_289)


@pytest.fixture(scope="module")
def seeded() -> PerceptualLoss:
    return PerceptualLoss.seeded_random(SEED)


@pytest.fixture(scope="module")
def photo() -> torch.Tensor:
    """The astronaut, 64x64, RGB in [-1, 1], shape (1, 3, 64, 64)."""
    small = cv2.resize(astronaut_bgr(), (PHOTO_SIDE, PHOTO_SIDE), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 127.5 - 1.0


def noisy(photo: torch.Tensor, strength: float, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (photo + strength * torch.randn(photo.shape, generator=generator)).clamp(-1.0, 1.0)


def official_style_files(loss: PerceptualLoss, folder: Path) -> tuple[Path, Path]:
    """``loss``'s weights saved the way the official files are: torchvision's VGG16 layout (with a classifier,
    which the loss ignores) and LPIPS's ``linK.model.1.weight`` keys."""
    folder.mkdir(parents=True, exist_ok=True)
    backbone = {f"features.{key}": value.clone() for key, value in loss.vgg.features.state_dict().items()}
    backbone["classifier.0.weight"] = torch.randn(8, 4)
    backbone["classifier.0.bias"] = torch.randn(8)
    lin = {f"lin{index}.model.1.weight": loss.lin[name].weight.clone() for index, name in enumerate(TAP_NAMES)}
    vgg_path, lin_path = folder / "vgg16-test.pth", folder / "vgg-test.pth"
    torch.save(backbone, vgg_path)
    torch.save(lin, lin_path)
    return vgg_path, lin_path


@pytest.fixture(scope="module")
def saved_files(seeded, tmp_path_factory) -> tuple[Path, Path]:
    return official_style_files(seeded, tmp_path_factory.mktemp("official-style"))


# --- the distance ---------------------------------------------------------------------------------------------


def test_distance_of_an_image_to_itself_is_zero(seeded, photo):
    batch = torch.cat([photo, noisy(photo, 0.2)])

    distance = seeded.distance(batch, batch.clone())

    assert distance.shape == (2,)
    torch.testing.assert_close(distance, torch.zeros(2), rtol=0, atol=1e-7)


def test_distance_grows_with_noise_strength_on_a_photo(seeded, photo):
    noisy_photos = torch.cat([noisy(photo, strength) for strength in NOISE_LEVELS])

    distances = seeded.distance(photo.expand_as(noisy_photos), noisy_photos).tolist()

    assert 0 < distances[0] < distances[1] < distances[2], distances
    swapped = seeded.distance(noisy_photos, photo.expand_as(noisy_photos)).tolist()
    assert swapped == pytest.approx(distances, rel=1e-5)


def test_forward_is_weight_times_the_batch_mean(photo):
    loss = PerceptualLoss.seeded_random(SEED, weight=0.25)
    target = torch.cat([photo, photo])
    output = torch.cat([noisy(photo, 0.05), noisy(photo, 0.3)])

    value = loss(output, target)

    assert value.shape == ()
    torch.testing.assert_close(value, 0.25 * loss.distance(output, target).mean())


def test_formula_matches_an_independent_computation(seeded):
    generator = torch.Generator().manual_seed(1)
    a = torch.rand(2, 3, 20, 24, generator=generator) * 2 - 1
    b = torch.rand(2, 3, 20, 24, generator=generator) * 2 - 1

    def taps(image: torch.Tensor) -> list[torch.Tensor]:
        h = (image - LPIPS_SHIFT) / LPIPS_SCALE
        out = []
        for start, end in TAP_RANGES:
            for index in range(start, end):
                h = seeded.vgg.features[index](h)
            out.append(h)
        return out

    expected = torch.zeros(2)
    with torch.no_grad():
        for name, fa, fb in zip(TAP_NAMES, taps(a), taps(b), strict=True):
            na = fa / (torch.sqrt((fa**2).sum(dim=1, keepdim=True)) + 1e-10)
            nb = fb / (torch.sqrt((fb**2).sum(dim=1, keepdim=True)) + 1e-10)
            weights = seeded.lin[name].weight.flatten()
            per_pixel = torch.einsum("bchw,c->bhw", (na - nb) ** 2, weights)
            expected += per_pixel.mean(dim=(1, 2))

        actual = seeded.distance(a, b)

    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-7)
    assert bool((expected > 0).all())


def test_gradient_reaches_the_input_and_not_the_parameters(seeded, photo):
    output = noisy(photo, 0.2).requires_grad_(True)

    seeded(output, photo).backward()

    assert output.grad is not None
    assert bool(output.grad.isfinite().all())
    assert float(output.grad.abs().sum()) > 0
    assert all(parameter.grad is None for parameter in seeded.parameters())


def test_an_all_zero_feature_vector_gives_a_finite_gradient():
    features = torch.zeros(1, 8, 2, 2, requires_grad=True)

    unit_normalise(features).sum().backward()

    assert bool(features.grad.isfinite().all())


def test_the_network_is_frozen_and_stays_in_eval_mode(seeded):
    assert all(not parameter.requires_grad for parameter in seeded.parameters())
    seeded.train()
    assert not any(module.training for module in seeded.modules())
    assert not any(isinstance(module, torch.nn.Dropout) for module in seeded.modules())


def test_state_dict_names_and_shapes_are_meaningful(seeded):
    state = seeded.state_dict()

    assert state["vgg.features.0.weight"].shape == (64, 3, 3, 3)
    assert state["vgg.features.28.weight"].shape == (512, 512, 3, 3)
    assert [tuple(state[f"lin.{name}.weight"].shape) for name in TAP_NAMES] == [
        (1, channels, 1, 1) for channels in (64, 128, 256, 512, 512)
    ]
    assert not any(key.startswith("vgg.features.30") for key in state)  # the last pooling is not used
    assert {key.split(".")[0] for key in state} == {"vgg", "lin"}


def test_seeded_random_is_reproducible_and_leaves_the_global_generator_alone(seeded, photo):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    again = PerceptualLoss.seeded_random(SEED)
    after = torch.rand(3)

    assert torch.equal(before, after)
    other = noisy(photo, 0.1)
    assert torch.equal(again.distance(photo, other), seeded.distance(photo, other))
    assert all(bool((conv.weight > 0).all()) for conv in again.lin.values())


@pytest.mark.parametrize(
    ("shape_a", "shape_b", "message"),
    [
        ((1, 3, 32, 32), (1, 3, 32, 48), "differ in shape"),
        ((1, 1, 32, 32), (1, 1, 32, 32), r"\(B, 3, H, W\)"),
        ((1, 3, 8, 32), (1, 3, 8, 32), "at least 16x16"),
    ],
)
def test_bad_input_shapes_are_clear_errors(seeded, shape_a, shape_b, message):
    with pytest.raises(ValueError, match=message):
        seeded.distance(torch.zeros(shape_a), torch.zeros(shape_b))


# --- loading weights files ------------------------------------------------------------------------------------


def test_from_files_round_trip_gives_the_same_distances(seeded, saved_files, photo):
    loaded = PerceptualLoss.from_files(*saved_files, weight=3.0)

    other = torch.cat([noisy(photo, strength) for strength in NOISE_LEVELS])
    target = photo.expand_as(other)
    assert torch.equal(loaded.distance(target, other), seeded.distance(target, other))
    assert loaded.weight == 3.0
    assert all(not parameter.requires_grad for parameter in loaded.parameters())
    assert not loaded.training


def _rewrite(source: Path, target: Path, change) -> Path:
    state = torch.load(source, weights_only=True, map_location="cpu")
    change(state)
    torch.save(state, target)
    return target


def test_lin_file_with_wrong_keys_is_refused_naming_the_file(saved_files, tmp_path):
    vgg_path, lin_path = saved_files
    bad = _rewrite(
        lin_path, tmp_path / "renamed.pth", lambda s: s.update({"lin5.model.1.weight": s.pop("lin4.model.1.weight")})
    )

    with pytest.raises(WeightsError) as caught:
        PerceptualLoss.from_files(vgg_path, bad)

    message = str(caught.value)
    assert caught.value.path == bad
    assert str(bad) in message
    assert "missing keys: lin4.model.1.weight" in message
    assert "unexpected keys: lin5.model.1.weight" in message


def test_backbone_file_with_a_missing_layer_is_refused_naming_the_file(saved_files, tmp_path):
    vgg_path, lin_path = saved_files
    bad = _rewrite(vgg_path, tmp_path / "no-conv.pth", lambda s: s.pop("features.28.weight"))

    with pytest.raises(WeightsError, match=r"missing keys: features\.28\.weight") as caught:
        PerceptualLoss.from_files(bad, lin_path)
    assert caught.value.path == bad


def test_files_given_in_the_wrong_order_are_refused(saved_files):
    vgg_path, lin_path = saved_files

    with pytest.raises(WeightsError, match="does not match the torchvision VGG16 backbone") as caught:
        PerceptualLoss.from_files(lin_path, vgg_path)
    assert caught.value.path == lin_path


def test_lin_weights_of_the_wrong_shape_or_sign_are_refused(saved_files, tmp_path):
    vgg_path, lin_path = saved_files
    shape = _rewrite(
        lin_path, tmp_path / "shape.pth", lambda s: s.update({"lin2.model.1.weight": torch.ones(1, 64, 1, 1)})
    )
    sign = _rewrite(lin_path, tmp_path / "sign.pth", lambda s: s["lin3.model.1.weight"].mul_(-1))

    with pytest.raises(WeightsError, match=r"lin2\.model\.1\.weight \(1, 64, 1, 1\) != \(1, 256, 1, 1\)"):
        PerceptualLoss.from_files(vgg_path, shape)
    with pytest.raises(WeightsError, match=r"must be non-negative, but lin3 \(relu4_3\) has") as caught:
        PerceptualLoss.from_files(vgg_path, sign)
    assert caught.value.path == sign


# --- the weights files: find, download, import ----------------------------------------------------------------


def test_training_entries_are_not_in_the_app_registry():
    assert PERCEPTUAL_ENTRIES == (VGG16_IMAGENET, LPIPS_VGG_LIN)
    assert not {entry.name for entry in PERCEPTUAL_ENTRIES} & {entry.name for entry in DEFAULT_REGISTRY}
    assert not {entry.kind for entry in DEFAULT_REGISTRY} & {NetworkKind.VGG16_IMAGENET, NetworkKind.LPIPS_VGG_LIN}


def test_training_registers_its_files_next_to_the_apps():
    assert TRAINING_REGISTRY.entries == (*DEFAULT_REGISTRY.entries, *PERCEPTUAL_ENTRIES)
    assert all(entry.keep_original and entry.installed_name == entry.file_name for entry in PERCEPTUAL_ENTRIES)


def test_find_on_an_empty_folder_says_what_to_fetch_and_how(isolated_weights_dir, monkeypatch):
    monkeypatch.delenv(URL_BASE_ENV, raising=False)

    with pytest.raises(WeightsMissingError) as caught:
        find_perceptual_weights()

    message = str(caught.value)
    assert str(isolated_weights_dir) in message
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in message
    assert "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth" in message
    assert "`codeformer-train weights download`" in message
    assert "`codeformer-train weights import /path/to/vgg16-397923af.pth`" in message
    assert "`codeformer-train weights import /path/to/vgg.pth`" in message


def stand_in_entries(backbone: bytes, lin: bytes) -> tuple[WeightsEntry, WeightsEntry]:
    """Entries, kept as published like the official two, whose files are ``backbone`` and ``lin``."""
    return (
        entry_for(backbone, "vgg16-test.pth", kind=NetworkKind.VGG16_IMAGENET, keep_original=True),
        entry_for(lin, "lin-test.pth", kind=NetworkKind.LPIPS_VGG_LIN, keep_original=True),
    )


@pytest.fixture
def stand_ins() -> tuple[WeightsEntry, WeightsEntry]:
    """Entries for the generated payloads, in place of the official ones (see ``stand_in_registry``)."""
    return stand_in_entries(BACKBONE_BYTES, LIN_BYTES)


@pytest.fixture
def stand_in_registry(stand_ins) -> Registry:
    """The app's registry with the stand-ins registered as the perceptual loss's files."""
    return DEFAULT_REGISTRY.with_entries(*stand_ins)


@pytest.fixture
def server(monkeypatch, stand_ins):
    bypass_proxies(monkeypatch)
    with FileServer() as running:
        running.state.files.update({"vgg16-test.pth": BACKBONE_BYTES, "lin-test.pth": LIN_BYTES})
        yield running


def test_find_names_only_the_missing_file(stand_in_registry, stand_ins, tmp_path):
    backbone, lin = stand_ins
    download_path(backbone, tmp_path).write_bytes(BACKBONE_BYTES)

    with pytest.raises(WeightsMissingError) as caught:
        find_perceptual_weights(tmp_path, registry=stand_in_registry)

    assert caught.value.path == download_path(lin, tmp_path)
    assert lin.file_name in str(caught.value)
    assert f"missing {backbone.file_name}" not in str(caught.value)


def test_download_fetches_both_with_progress_and_find_returns_them(stand_in_registry, server, stand_ins, tmp_path):
    seen: dict[str, list[tuple[int, int]]] = {}

    paths = download_perceptual_weights(
        tmp_path,
        progress=lambda entry, done, total: seen.setdefault(entry.name, []).append((done, total)),
        url_base=server.url_base,
        registry=stand_in_registry,
    )

    assert paths == tuple(download_path(entry, tmp_path) for entry in stand_ins)
    assert [path.read_bytes() for path in paths] == [BACKBONE_BYTES, LIN_BYTES]
    assert {name: events[-1] for name, events in seen.items()} == {
        entry.name: (entry.size, entry.size) for entry in stand_ins
    }
    assert find_perceptual_weights(tmp_path, registry=stand_in_registry) == paths
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(entry.file_name for entry in stand_ins)

    download_perceptual_weights(tmp_path, url_base=server.url_base, registry=stand_in_registry)
    assert len(server.state.requests) == 2  # nothing fetched again


def test_download_resumes_a_partial_file(stand_in_registry, server, stand_ins, tmp_path):
    backbone, _ = stand_ins
    kept = 123_456
    partial_path(backbone, tmp_path).write_bytes(BACKBONE_BYTES[:kept])

    backbone_path, _ = download_perceptual_weights(tmp_path, url_base=server.url_base, registry=stand_in_registry)

    assert backbone_path.read_bytes() == BACKBONE_BYTES
    assert [(r.path, r.range) for r in server.state.requests] == [
        ("/vgg16-test.pth", f"bytes={kept}-"),
        ("/lin-test.pth", None),
    ]
    assert not partial_path(backbone, tmp_path).exists()


def test_download_with_a_wrong_hash_is_refused_and_installs_nothing(stand_in_registry, server, stand_ins, tmp_path):
    server.state.corrupt = True

    with pytest.raises(WeightsError) as caught:
        download_perceptual_weights(tmp_path, url_base=server.url_base, registry=stand_in_registry)

    assert stand_ins[0].sha256 in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(WeightsMissingError):
        find_perceptual_weights(tmp_path, registry=stand_in_registry)


def test_import_identifies_each_file_and_leaves_the_source_alone(stand_in_registry, stand_ins, tmp_path):
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    (downloads / "a.bin").write_bytes(LIN_BYTES)
    (downloads / "b.bin").write_bytes(BACKBONE_BYTES)
    folder = tmp_path / "weights"

    lin_path = import_perceptual_weights_file(downloads / "a.bin", folder, registry=stand_in_registry)
    backbone_path = import_perceptual_weights_file(downloads / "b.bin", folder, registry=stand_in_registry)

    assert (backbone_path, lin_path) == tuple(download_path(entry, folder) for entry in stand_ins)
    assert lin_path.read_bytes() == LIN_BYTES and backbone_path.read_bytes() == BACKBONE_BYTES
    assert (downloads / "a.bin").read_bytes() == LIN_BYTES
    assert find_perceptual_weights(folder, registry=stand_in_registry) == (backbone_path, lin_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(entry.file_name for entry in stand_ins)


@pytest.mark.parametrize("content", [b"not a weights file", bytes(len(LIN_BYTES))], ids=["other-size", "same-size"])
def test_import_refuses_an_unknown_file(stand_in_registry, stand_ins, tmp_path, content):
    source = tmp_path / "mystery.pth"
    source.write_bytes(content)
    folder = tmp_path / "weights"

    with pytest.raises(WeightsError) as caught:
        import_perceptual_weights_file(source, folder, registry=stand_in_registry)

    message = str(caught.value)
    assert caught.value.path == source
    assert "matches neither official file" in message
    assert all(entry.sha256 in message for entry in stand_ins)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_find_refuses_a_file_that_changed(stand_in_registry, stand_ins, tmp_path):
    backbone, lin = stand_ins
    download_path(backbone, tmp_path).write_bytes(BACKBONE_BYTES)
    download_path(lin, tmp_path).write_bytes(bytes([LIN_BYTES[0] ^ 0xFF]) + LIN_BYTES[1:])

    with pytest.raises(WeightsError, match=r"not the official lin-test\.pth") as caught:
        find_perceptual_weights(tmp_path, registry=stand_in_registry)

    assert lin.sha256 in str(caught.value)
    assert "codeformer-train weights download" in str(caught.value)


def test_load_perceptual_loss_builds_the_loss_from_the_installed_files(seeded, saved_files, photo, tmp_path):
    vgg_path, lin_path = saved_files
    registry = DEFAULT_REGISTRY.with_entries(*stand_in_entries(vgg_path.read_bytes(), lin_path.read_bytes()))
    for source in saved_files:
        import_perceptual_weights_file(source, tmp_path, registry=registry)

    loss = load_perceptual_loss(tmp_path, weight=2.0, registry=registry)

    other = noisy(photo, 0.1)
    torch.testing.assert_close(loss(other, photo), 2.0 * seeded.distance(other, photo).mean(), rtol=0, atol=0)
