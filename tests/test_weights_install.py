"""Import and conversion to safetensors, the index, verify, lookup, and the committed manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors import safe_open
from weights_helpers import (
    FileServer,
    bypass_proxies,
    codeformer_entry_for,
    entry_for,
    registry_with,
    save_tiny_pth,
    sha256_bytes,
    tiny_state_dict,
    use_weights_folder,
)

from codeformer_app.errors import WeightsError
from codeformer_app.networks.codeformer.load import CONFIG_METADATA_KEY
from codeformer_app.weights import (
    DEFAULT_REGISTRY,
    WeightsMissingError,
    find_installed,
    import_weights,
    install_official,
    load_index,
    resolve_codeformer_weights,
    verify_installed,
    weights_dir,
)
from codeformer_app.weights.install import META_OFFICIAL, META_SOURCE_FILE, META_SOURCE_SHA256
from codeformer_app.weights.manifest import manifest_json
from codeformer_app.weights.paths import index_path
from codeformer_app.weights.registry import CODEFORMER, PARSENET, NetworkKind
from codeformer_app.weights.safe_load import load_codeformer

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    return use_weights_folder(tmp_path / "weights", monkeypatch)


@pytest.fixture
def tiny_pth(tmp_path) -> Path:
    return save_tiny_pth(tmp_path / "codeformer.pth")


class WritesMarker:
    """Pickles to a call of ``exec`` that creates a marker file: what a malicious checkpoint could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


def folder_contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def metadata_of(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata())


def test_codeformer_pth_is_converted_once_and_loaded_from_safetensors(folder, tiny_pth):
    original = tiny_pth.read_bytes()
    original_mtime = tiny_pth.stat().st_mtime_ns

    record = import_weights(tiny_pth, folder, registry=DEFAULT_REGISTRY)

    assert tiny_pth.read_bytes() == original
    assert tiny_pth.stat().st_mtime_ns == original_mtime
    assert folder_contents(folder) == ["codeformer.safetensors", "installed.json"]
    assert record.name == "codeformer"
    assert record.official is False  # a tiny test checkpoint is not the official file
    assert record.source_sha256 == sha256_bytes(original)
    resolved = resolve_codeformer_weights()
    assert resolved == folder / "codeformer.safetensors"
    meta = metadata_of(resolved)
    assert meta[META_SOURCE_FILE] == "codeformer.pth"
    assert meta[META_SOURCE_SHA256] == record.source_sha256
    assert meta[META_OFFICIAL] == "false"
    assert json.loads(meta[CONFIG_METADATA_KEY])["dim_embd"] == 32
    tiny_pth.unlink()  # the app needs only the safetensors from now on
    model = load_codeformer(resolved)
    expected = tiny_state_dict()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in expected.items())


def test_file_with_the_official_hash_is_recorded_as_official(folder, tmp_path, monkeypatch):
    source = save_tiny_pth(tmp_path / "downloaded-by-hand.bin")
    registry = registry_with(codeformer_entry_for(source.read_bytes()))

    record = import_weights(source, folder, registry=registry)

    assert (record.name, record.official) == ("codeformer", True)
    assert load_index(folder)["codeformer"].official is True
    assert [r.message for r in verify_installed(folder, registry)] == ["official"]


def test_codeformer_is_recognised_by_its_keys_whatever_the_file_name(folder, tmp_path):
    source = save_tiny_pth(tmp_path / "my-finetune-epoch12.pth", seed=3)

    assert import_weights(source, folder, registry=DEFAULT_REGISTRY).name == "codeformer"


def test_index_records_hashes_and_verify_catches_changes(folder, tiny_pth):
    record = import_weights(tiny_pth, folder, registry=DEFAULT_REGISTRY)
    installed = folder / record.file
    assert record.sha256 == sha256_bytes(installed.read_bytes())
    assert record.bytes == installed.stat().st_size
    [result] = verify_installed(folder, DEFAULT_REGISTRY)
    assert result.ok and result.message == "custom (not the official file)"

    data = bytearray(installed.read_bytes())
    data[-10] ^= 0xFF
    installed.write_bytes(bytes(data))
    [result] = verify_installed(folder, DEFAULT_REGISTRY)
    assert not result.ok
    assert f"SHA-256 expected {record.sha256}" in result.message

    installed.unlink()
    [result] = verify_installed(folder, DEFAULT_REGISTRY, "codeformer")
    assert not result.ok and "gone" in result.message


def test_verify_of_a_name_that_is_not_installed_fails(folder):
    [result] = verify_installed(folder, DEFAULT_REGISTRY, "parsenet")
    assert not result.ok and result.message == "not installed"
    assert verify_installed(folder, DEFAULT_REGISTRY) == []


def test_malicious_pickle_is_refused_and_never_runs(folder, tmp_path):
    marker = tmp_path / "marker.txt"
    source = tmp_path / "codeformer.pth"
    torch.save({"params_ema": {"weight": WritesMarker(marker)}}, source)

    with pytest.raises(WeightsError, match="refused to load") as caught:
        import_weights(source, folder, registry=DEFAULT_REGISTRY)

    assert str(source) in str(caught.value)
    assert not marker.exists()
    assert folder_contents(folder) == []
    # Control: an unsafe load of the same file does run the code, so the refusal above mattered.
    torch.load(source, weights_only=False)
    assert marker.read_text() == "code ran"


def test_zero_byte_file_is_refused(folder, tmp_path):
    source = tmp_path / "codeformer.pth"
    source.write_bytes(b"")

    with pytest.raises(WeightsError, match=r"empty \(0 bytes\)"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY)
    assert folder_contents(folder) == []


def test_truncated_file_is_refused(folder, tiny_pth):
    data = tiny_pth.read_bytes()
    tiny_pth.write_bytes(data[: len(data) // 2])

    with pytest.raises(WeightsError, match="truncated") as caught:
        import_weights(tiny_pth, folder, registry=DEFAULT_REGISTRY)
    assert str(caught.value).startswith(str(tiny_pth))
    assert folder_contents(folder) == []


def test_other_network_is_not_taken_for_codeformer(folder, tmp_path):
    source = tmp_path / "codeformer.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), source)

    with pytest.raises(WeightsError, match=r"not a CodeFormer checkpoint \(missing keys: position_emb"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY)
    assert folder_contents(folder) == []


def test_codeformer_with_missing_keys_lists_them(folder, tmp_path):
    state_dict = tiny_state_dict()
    del state_dict["ft_layers.0.norm1.weight"]
    del state_dict["idx_pred_layer.0.bias"]
    source = tmp_path / "codeformer.pth"
    torch.save({"params_ema": state_dict}, source)

    with pytest.raises(WeightsError) as caught:
        import_weights(source, folder, registry=DEFAULT_REGISTRY)

    message = str(caught.value)
    assert "2 missing keys: ft_layers.0.norm1.weight, idx_pred_layer.0.bias" in message
    assert folder_contents(folder) == []


def test_unrecognised_file_asks_for_a_name(folder, tmp_path):
    source = tmp_path / "weights.pth"
    torch.save({"layer.weight": torch.ones(3)}, source)

    with pytest.raises(WeightsError, match="pass --name with one of: codeformer, retinaface"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY)


def test_unknown_name_is_refused_before_reading(folder, tiny_pth):
    with pytest.raises(WeightsError, match="unknown weights name 'gfpgan'"):
        import_weights(tiny_pth, folder, registry=DEFAULT_REGISTRY, name="gfpgan")


def test_other_networks_need_the_official_hash_or_force(folder, tmp_path):
    source = tmp_path / PARSENET.file_name
    torch.save({"params": {"conv.weight": torch.randn(4, 3, 3, 3)}}, source)

    with pytest.raises(WeightsError, match=f"not the official {PARSENET.file_name}.*--force"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY)
    assert folder_contents(folder) == []

    record = import_weights(source, folder, registry=DEFAULT_REGISTRY, force=True)

    assert (record.name, record.official) == ("parsenet", False)
    [result] = verify_installed(folder, DEFAULT_REGISTRY)
    assert result.ok and "custom" in result.message


def test_other_network_with_the_official_hash_is_converted_flat(folder, tmp_path, monkeypatch):
    tensors = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.zeros(4)}
    source = tmp_path / "renamed.pth"
    torch.save({"params_ema": tensors}, source)
    entry = entry_for(source.read_bytes(), "parsing_parsenet.pth", name="parsenet", kind=NetworkKind.PARSENET)
    registry = registry_with(entry)

    record = import_weights(source, folder, registry=registry)

    assert (record.name, record.official) == ("parsenet", True)
    installed = find_installed("parsenet", registry=registry)
    assert installed == folder / "parsing_parsenet.safetensors"
    with safe_open(str(installed), framework="pt") as f:
        assert sorted(f.keys()) == ["conv.bias", "conv.weight"]
        assert torch.equal(f.get_tensor("conv.weight"), tensors["conv.weight"])
        assert f.metadata()[META_SOURCE_SHA256] == entry.sha256


def test_official_file_under_the_wrong_name_is_refused(folder, tmp_path, monkeypatch):
    source = save_tiny_pth(tmp_path / "codeformer.pth")
    registry = registry_with(codeformer_entry_for(source.read_bytes()))

    with pytest.raises(WeightsError, match=r"this is the official codeformer\.pth"):
        import_weights(source, folder, registry=registry, name="parsenet")


def test_shared_tensors_are_stored(folder, tmp_path):
    shared = torch.randn(4, 3, 3, 3)
    source = tmp_path / PARSENET.file_name
    torch.save({"a.weight": shared, "b.weight": shared, "c.weight": shared[:2]}, source)

    import_weights(source, folder, registry=DEFAULT_REGISTRY, force=True)

    with safe_open(str(folder / "parsing_parsenet.safetensors"), framework="pt") as f:
        assert torch.equal(f.get_tensor("b.weight"), shared)
        assert torch.equal(f.get_tensor("c.weight"), shared[:2])


def test_install_official_downloads_converts_and_removes_the_pth(folder, tmp_path, monkeypatch):
    data = save_tiny_pth(tmp_path / "source.pth").read_bytes()
    entry = codeformer_entry_for(data)
    registry = registry_with(entry)
    bypass_proxies(monkeypatch)
    with FileServer() as server:
        server.state.files["codeformer.pth"] = data
        record = install_official(entry, folder, registry=registry, url_base=server.url_base)

    assert record.official is True
    assert folder_contents(folder) == ["codeformer.safetensors", "installed.json"]
    assert verify_installed(folder, registry)[0].ok


def test_missing_codeformer_says_what_to_do(folder):
    with pytest.raises(WeightsMissingError) as caught:
        resolve_codeformer_weights(None)

    message = str(caught.value)
    assert "\n" not in message
    assert str(folder) in message
    assert "codeformer-app weights download codeformer --accept-license" in message
    assert "codeformer-app weights import /path/to/codeformer.pth" in message
    assert CODEFORMER.url() in message
    assert "S-Lab License 1.0" in message and "non-commercial" in message


def test_explicit_weights_file_wins(folder, tiny_pth, tmp_path):
    assert resolve_codeformer_weights(tiny_pth) == tiny_pth
    with pytest.raises(WeightsError, match="not found"):
        resolve_codeformer_weights(tmp_path / "nope.pth")


def test_unreadable_index_is_a_clear_error(folder, tiny_pth):
    import_weights(tiny_pth, folder, registry=DEFAULT_REGISTRY)
    index_path(folder).write_text("{not json", encoding="utf-8")

    with pytest.raises(WeightsError, match=r"installed\.json: the record of installed weights is unreadable"):
        verify_installed(folder, DEFAULT_REGISTRY)


def test_weights_folder_comes_from_the_environment_or_the_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEFORMER_APP_WEIGHTS_DIR", str(tmp_path / "mine"))
    assert weights_dir() == tmp_path / "mine"
    assert weights_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("CODEFORMER_APP_WEIGHTS_DIR")
    default = weights_dir()
    assert default.name == "weights" and "CodeFormerApp" in default.parts
    assert tmp_path not in default.parents


def test_registry_names_and_aliases():
    for alias in ("codeformer", "codeformer.pth", "CodeFormer.pth", "codeformer.safetensors"):
        assert DEFAULT_REGISTRY.lookup(alias) is CODEFORMER
    assert DEFAULT_REGISTRY.lookup("detection_Resnet50_Final.pth").name == "retinaface"
    assert DEFAULT_REGISTRY.lookup("RealESRGAN_x2plus").name == "realesrgan-x2"
    assert DEFAULT_REGISTRY.lookup("nope") is None


def test_committed_manifest_matches_the_registry():
    committed = (REPO_ROOT / "weights" / "manifest.json").read_text(encoding="utf-8")
    assert committed == manifest_json(DEFAULT_REGISTRY), (
        "weights/manifest.json is out of date: run `python -m codeformer_app.weights.manifest > weights/manifest.json`"
    )


def _tiny_variant_pth(path: Path, **shape) -> Path:
    from model_helpers import SMALL_CONFIG, make_model, save_official_style

    return save_official_style(make_model({**SMALL_CONFIG, **shape}, seed=4), path)


def test_variant_without_a_published_hash_records_it_at_first_download_and_checks_it_after(
    folder, tmp_path, monkeypatch
):
    """codeformer_inpainting.pth has no published SHA-256: the first official download's hash is pinned."""
    bypass_proxies(monkeypatch)
    entry = DEFAULT_REGISTRY.lookup("codeformer-inpainting")
    assert entry is not None and not entry.pinned and entry.size is None
    official = _tiny_variant_pth(tmp_path / "first.pth", connect_list=(16,), codebook_size=512).read_bytes()
    with FileServer() as server:
        server.state.files[entry.file_name] = official
        record = install_official(entry, folder, registry=DEFAULT_REGISTRY, url_base=server.url_base)
        assert record.official is True and record.source_sha256 == sha256_bytes(official)
        assert resolve_codeformer_weights(None, folder, "inpaint") == folder / record.file

        # Later the server sends another file under the same name: refused, the installed one stays.
        (folder / record.file).unlink()
        server.state.files[entry.file_name] = _tiny_variant_pth(
            tmp_path / "other.pth", connect_list=(16,), codebook_size=512
        ).read_bytes()
        with pytest.raises(WeightsError, match=sha256_bytes(official)):
            install_official(entry, folder, registry=DEFAULT_REGISTRY, url_base=server.url_base)


def test_importing_a_variant_picks_its_entry_by_shape(folder, tmp_path):
    colorize = _tiny_variant_pth(tmp_path / "my_colour_model.pth", connect_list=(16,))
    record = import_weights(colorize, folder, registry=DEFAULT_REGISTRY)
    assert record.name == "codeformer-colorization" and record.official is False
    restore = save_tiny_pth(tmp_path / "restore.pth")
    with pytest.raises(WeightsError, match=r"holds codeformer weights .* not codeformer-inpainting"):
        import_weights(restore, folder, registry=DEFAULT_REGISTRY, name="codeformer-inpainting")


def test_a_resaved_file_that_builds_its_network_installs_without_force(folder, tmp_path):
    """Not the official bytes, but a strict fit: accepted and recorded as custom; the detector then loads it."""
    from codeformer_app.detection.retinaface import MOBILENET, RetinaFaceDetector
    from codeformer_app.networks.retinaface.load import DATA_PARALLEL_PREFIX, build_network
    from codeformer_app.weights.registry import RETINAFACE, RETINAFACE_MOBILE

    torch.manual_seed(3)
    tensors = {DATA_PARALLEL_PREFIX + k: v for k, v in build_network(MOBILENET.network_name).state_dict().items()}
    source = tmp_path / "retinaface-mobile-converted.pth"
    torch.save(tensors, source)

    with pytest.raises(WeightsError, match=r"does not fit: does not match the RetinaFace ResNet-50 network.*--force"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY, name=RETINAFACE.name)
    assert folder_contents(folder) == []

    record = import_weights(source, folder, registry=DEFAULT_REGISTRY, name=RETINAFACE_MOBILE.name)
    assert (record.name, record.official) == (RETINAFACE_MOBILE.name, False)
    detector = RetinaFaceDetector.from_installed(weights_folder=folder, variant=MOBILENET)
    loaded = detector._network.state_dict()
    assert all(torch.equal(loaded[k.removeprefix(DATA_PARALLEL_PREFIX)], v) for k, v in tensors.items())


def test_a_file_of_another_network_says_what_does_not_fit(folder, tmp_path):
    source = save_tiny_pth(tmp_path / PARSENET.file_name)  # a CodeFormer under ParseNet's file name
    with pytest.raises(WeightsError, match=r"holds CodeFormer weights \(by its keys\), not parsenet"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY, name="parsenet")
    torch.save({"params": {"encoder.0.conv2d.weight": torch.zeros(8, 3, 3, 3)}}, source)
    with pytest.raises(WeightsError, match=r"does not fit: does not match the ParseNet network: \d+ missing keys"):
        import_weights(source, folder, registry=DEFAULT_REGISTRY)
