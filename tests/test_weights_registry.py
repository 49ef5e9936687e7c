"""The Registry object: lookups, a new registry with extra entries, and no way to change one in place."""

from __future__ import annotations

import dataclasses

import pytest
from weights_helpers import entry_for

from codeformer_app.errors import WeightsError
from codeformer_app.weights.inventory import verify_installed, weights_status
from codeformer_app.weights.registry import CODEFORMER, DEFAULT_REGISTRY, PARSENET, NetworkKind, Registry


def test_with_entries_replaces_by_name_and_appends_the_rest_leaving_the_original_alone():
    parsenet = entry_for(b"parse", "parsing_parsenet.pth", name="parsenet")
    extra = entry_for(b"extra", "extra.pth", kind=NetworkKind.LPIPS_VGG_LIN)

    changed = DEFAULT_REGISTRY.with_entries(parsenet, extra)

    assert changed.names() == [*DEFAULT_REGISTRY.names(), "extra"]
    assert changed.find("parsenet") is parsenet and DEFAULT_REGISTRY.find("parsenet") is PARSENET
    assert changed.of_kind(NetworkKind.LPIPS_VGG_LIN) == (extra,)
    assert changed.by_sha256(parsenet.sha256) is parsenet
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_REGISTRY.entries = ()  # type: ignore[misc]


def test_lookups_by_task_and_kind_and_unknown_names():
    assert DEFAULT_REGISTRY.for_task(None) is CODEFORMER
    assert DEFAULT_REGISTRY.for_task("inpaint").name == "codeformer-inpainting"
    assert len(DEFAULT_REGISTRY.of_kind(NetworkKind.CODEFORMER)) == 3
    with pytest.raises(WeightsError, match="expected one codeformer weights entry, the registry has 3"):
        DEFAULT_REGISTRY.only_of_kind(NetworkKind.CODEFORMER)
    with pytest.raises(WeightsError, match=r"unknown weights name 'gfpgan'; known names: codeformer, retinaface"):
        DEFAULT_REGISTRY.find("gfpgan")


def test_names_must_be_unique_and_kept_files_pinned():
    with pytest.raises(ValueError, match="repeated: codeformer"):
        Registry((CODEFORMER, CODEFORMER))
    with pytest.raises(ValueError, match="needs its size and SHA-256"):
        dataclasses.replace(CODEFORMER, sha256=None, keep_original=True)


def test_a_file_kept_as_published_is_listed_and_verified_by_its_hash(tmp_path):
    kept = entry_for(b"published bytes", "kept.pth", keep_original=True)
    registry = Registry((kept,))
    path = tmp_path / "kept.pth"

    assert weights_status(tmp_path, registry)[0].path == path
    path.write_bytes(b"published bytes")
    [result] = verify_installed(tmp_path, registry)
    assert (result.ok, result.message) == (True, "official")

    path.write_bytes(b"published bytez")
    [result] = verify_installed(tmp_path, registry)
    assert not result.ok and kept.sha256 in result.message
