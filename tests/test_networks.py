"""One home per network: every network folder recognises its own state dicts (and no other's), reads its
hyperparameters off the shapes, and builds a module that reproduces the tensors it was given."""

from __future__ import annotations

from dataclasses import asdict

import pytest
import torch
from model_helpers import TINY_CONFIG

from codeformer_app.compat import import_basicsr
from codeformer_app.errors import WeightsError
from codeformer_app.networks.catalogue import ARCHITECTURES, identify_network
from codeformer_app.networks.codeformer import CodeFormer, CodeFormerConfig
from codeformer_app.networks.codeformer.load import describe_codeformer
from codeformer_app.networks.mtcnn.load import Stage, describe_stage, packaged_weights
from codeformer_app.networks.parsenet.load import CELEBAMASK_HQ_LABELS, describe_parsenet
from codeformer_app.networks.realesrgan.load import RRDBNetConfig, describe_rrdbnet
from codeformer_app.networks.retinaface.load import (
    DATA_PARALLEL_PREFIX,
    MOBILENET,
    build_network,
    build_retinaface,
    describe_retinaface,
)
from codeformer_app.weights.safe_load import read_state_dict

TINY_CODEFORMER = CodeFormerConfig(**TINY_CONFIG)
SMALL_RRDBNET = RRDBNetConfig(num_feat=16, num_block=2, num_grow_ch=8)


def _seeded(factory):
    torch.manual_seed(0)
    return factory().state_dict()


@pytest.fixture(scope="module")
def state_dicts() -> dict[str, dict[str, torch.Tensor]]:
    """One seeded state dict per network, saved the way its official file is."""
    from facexlib.parsing.parsenet import ParseNet

    rrdbnet = import_basicsr("archs.rrdbnet_arch").RRDBNet
    dicts = {
        "CodeFormer": _seeded(lambda: CodeFormer(TINY_CODEFORMER)),
        "ParseNet": _seeded(lambda: ParseNet(in_size=512, out_size=512, parsing_ch=len(CELEBAMASK_HQ_LABELS))),
        "Real-ESRGAN x2": _seeded(lambda: rrdbnet(**asdict(SMALL_RRDBNET), scale=2)),
        "RetinaFace": {DATA_PARALLEL_PREFIX + k: v for k, v in _seeded(lambda: build_network(MOBILENET)).items()},
    }
    with packaged_weights(Stage.OUTPUT) as path:
        dicts["MTCNN"] = read_state_dict(path)[0]
    return dicts


def test_each_network_is_recognised_by_its_own_folder_only(state_dicts) -> None:
    for name, state_dict in state_dicts.items():
        assert identify_network(state_dict).name == name
        assert [arch.name for arch in ARCHITECTURES if arch.detect(state_dict)] == [name]
    assert identify_network({"weight": torch.zeros(3)}) is None


def test_hyperparameters_come_from_the_shapes(state_dicts) -> None:
    assert describe_codeformer(state_dicts["CodeFormer"]) == TINY_CODEFORMER
    assert describe_parsenet(state_dicts["ParseNet"]).classes == len(CELEBAMASK_HQ_LABELS)
    assert describe_rrdbnet(state_dicts["Real-ESRGAN x2"]) == SMALL_RRDBNET
    assert describe_retinaface(state_dicts["RetinaFace"]).backbone == MOBILENET
    assert describe_stage(state_dicts["MTCNN"]).stage is Stage.OUTPUT


def test_every_builder_loads_the_tensors_it_was_given(state_dicts) -> None:
    for arch in ARCHITECTURES:
        given = arch.keys_of(state_dicts[arch.name])
        built = arch.build(state_dicts[arch.name], None)
        assert not built.training
        loaded = built.state_dict()
        assert set(loaded) == set(given)
        assert all(torch.equal(loaded[key], given[key]) for key in given), arch.name


def test_a_file_of_another_network_is_refused_by_name(state_dicts, tmp_path) -> None:
    for arch in ARCHITECTURES:
        other = state_dicts["ParseNet" if arch.name != "ParseNet" else "CodeFormer"]
        with pytest.raises(WeightsError, match=r"not (a|an) "):
            arch.describe(other, tmp_path / "wrong.pth")


def test_retinaface_expecting_one_backbone_lists_what_does_not_fit(state_dicts) -> None:
    with pytest.raises(WeightsError, match="does not match the RetinaFace ResNet-50 network"):
        build_retinaface(state_dicts["RetinaFace"], None, backbone="resnet50")
