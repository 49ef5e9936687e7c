"""Loading weights: official layout, safetensors round trip, and clear refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from model_helpers import SMALL_CONFIG, TINY_CONFIG, make_model, random_faces, save_official_style

from codeformer_app.errors import WeightsError
from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig
from codeformer_app.networks.codeformer.load import describe_codeformer
from codeformer_app.weights.safe_load import load_codeformer, read_state_dict, save_codeformer_safetensors


def test_hyperparameters_are_read_off_the_official_state_dict_shapes() -> None:
    assert describe_codeformer(CodeFormer().state_dict()) == CodeFormerConfig()


@pytest.mark.parametrize("config", [TINY_CONFIG, SMALL_CONFIG], ids=["tiny", "small"])
def test_official_style_pth_loads_into_an_identical_network(tmp_path: Path, config: dict) -> None:
    original = make_model(config, seed=3)
    loaded = load_codeformer(save_official_style(original, tmp_path / "net.pth"))
    faces = random_faces(1, config["img_size"], seed=4)
    assert torch.equal(loaded(faces, 0.5), original(faces, 0.5))


def test_safetensors_keeps_the_config_including_what_shapes_cannot_tell(tmp_path: Path) -> None:
    original = make_model({**TINY_CONFIG, "n_head": 4}, seed=5)
    path = tmp_path / "net.safetensors"
    save_codeformer_safetensors(original.state_dict(), path, original.config)
    loaded = load_codeformer(path)
    assert loaded.config.n_head == 4
    faces = random_faces(1, 32, seed=6)
    assert torch.equal(loaded(faces, 0.5), original(faces, 0.5))


def test_missing_keys_are_listed(tmp_path: Path) -> None:
    state = make_model(TINY_CONFIG).state_dict()
    del state["fuse_convs_dict.16.scale.0.weight"], state["ft_layers.1.linear1.bias"]
    torch.save({"params_ema": state}, tmp_path / "partial.pth")
    with pytest.raises(WeightsError) as caught:
        load_codeformer(tmp_path / "partial.pth")
    message = str(caught.value)
    assert "partial.pth" in message and "missing keys" in message
    assert "ft_layers.1.linear1.bias" in message


def test_other_networks_are_named_as_such(tmp_path: Path) -> None:
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="not a CodeFormer checkpoint"):
        load_codeformer(tmp_path / "other.pth")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"], ids=["empty", "text"])
def test_unreadable_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=r"broken\.pth"):
        load_codeformer(path)


def test_truncated_checkpoint(tmp_path: Path, tiny_weights: Path) -> None:
    data = tiny_weights.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated"):
        load_codeformer(cut)


class _RunsCode:
    """Unpickling this would create a file: the classic pickle attack, made harmless and observable."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"params_ema": {"position_emb": torch.zeros(1)}, "payload": _RunsCode(marker)}, path)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused"):
        load_codeformer(path)
    assert not marker.exists(), "the pickle payload ran"
    # the payload is real: an unsafe loader does run it
    torch.load(path, weights_only=False)
    assert marker.is_dir()


@pytest.mark.parametrize("content", [b"these are not weights\n", b"", b"PK\x03\x04 truncated zip", b"\x80\x02junk"])
def test_junk_pth_is_a_weights_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    junk = tmp_path / "notes.pth"
    junk.write_bytes(content)
    with pytest.raises(WeightsError, match=r"notes\.pth"):
        read_state_dict(junk)
