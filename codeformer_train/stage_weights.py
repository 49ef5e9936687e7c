"""Reading the weights a stage starts from, and exporting the EMA weights a stage ends with.

Reading goes through the app's safe reader (``weights_only`` for ``.pth``, safetensors otherwise), so the
official ``vqgan_code1024.pth`` and ``codeformer.pth`` work as starting points for fine-tuning. Stage II and
III exports are ordinary CodeFormer safetensors files: the app loads them like the official weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from codeformer_app.networks.codeformer import CodeFormer
from codeformer_app.networks.state_dict import StateDict, load_strict
from codeformer_app.weights.files import write_atomically
from codeformer_app.weights.safe_load import read_state_dict, save_codeformer_safetensors

#: The VQGAN's parts, by state-dict prefix (the same in a VQGAN and in a CodeFormer checkpoint).
VQGAN_PARTS = ("encoder", "quantize", "generator")
#: safetensors metadata of our exports.
VQGAN_CONFIG_KEY = "codeformer_train.vqgan_config"
STAGE_KEY = "codeformer_train.stage"
STEP_KEY = "codeformer_train.step"


def read_weights(path: Path | str) -> StateDict:
    """Tensors of a weights file (``WeightsError`` naming the file on any problem)."""
    state_dict, _ = read_state_dict(Path(path))
    return state_dict


def part(state_dict: StateDict, prefix: str) -> StateDict:
    """The entries under ``prefix.``, with the prefix removed."""
    head = prefix + "."
    return {key[len(head) :]: value for key, value in state_dict.items() if key.startswith(head)}


def load_vqgan_parts(network: torch.nn.Module, path: Path | str) -> None:
    """Load encoder, quantizer and generator of ``network`` (a VQGAN or a CodeFormer) from ``path``, strictly."""
    state_dict = read_weights(path)
    for name in VQGAN_PARTS:
        load_strict(getattr(network, name), part(state_dict, name), Path(path), f"VQGAN {name}")


def load_codeformer_weights(model: CodeFormer, path: Path | str) -> None:
    """Load a full CodeFormer checkpoint into ``model``, strictly."""
    load_strict(model, read_weights(path), Path(path), "CodeFormer")


#: A key only a full CodeFormer (with its transformer) has, not a bare VQGAN.
TRANSFORMER_KEY = "idx_pred_layer.1.weight"


def export_vqgan(state_dict: StateDict, config_json: str, path: Path, step: int) -> Path:
    """Write stage I's VQGAN as safetensors, with its configuration in the metadata."""
    metadata = {VQGAN_CONFIG_KEY: config_json, STAGE_KEY: "vqgan", STEP_KEY: str(step)}
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    write_atomically(path, lambda temp: save_file(tensors, str(temp), metadata=metadata))
    return path


def export_codeformer(model: CodeFormer, state_dict: StateDict, path: Path, stage: str, step: int) -> Path:
    """Write a CodeFormer (stage II or III) as safetensors the app loads directly."""
    tensors = {k: v.detach().cpu() for k, v in state_dict.items()}
    extra = {STAGE_KEY: stage, STEP_KEY: str(step)}
    write_atomically(path, lambda temp: save_codeformer_safetensors(tensors, temp, model.config, extra))
    return path
