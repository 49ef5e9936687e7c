"""Benchmark worker: one long-lived process that runs one implementation and times it on request.

Each implementation gets its own process so that process-wide state (our allocator tuning, NNPACK, caches) can
neither help nor hurt the others, and so that the reference process stays exactly what its users run.

Protocol: the worker loads its model, answers ``{"ok": true, "ready": true, ...}`` and then reads one JSON
request per line on stdin, answering one JSON line each on stdout:

* ``{"op": "run", "w": 0.7, "save": "/tmp/x.npy" | null}`` -> ``{"ok": true, "seconds": 4.2, "page_faults": n}``
* ``{"op": "stats"}`` -> ``{"ok": true, "peak_rss_kib": ..., "cuda_peak_bytes": ...}``
* ``{"op": "quit"}`` -> the process exits.

A failed request is answered with ``{"ok": false, "error": "<traceback>"}``. Everything else the process prints
(warnings, C libraries) goes to stderr, which is why fd 1 is moved aside first.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import torch

IMPLEMENTATIONS = ("reference", "ours")
PATHS = ("full", "slider")
PRECISIONS = ("fast", "exact")
AUTOCAST_CHOICES = ("none", "fp16")
#: prctl option: signal this process when its parent dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


@dataclass
class Runner:
    """What a worker times: ``prepare`` runs untimed before each request, ``run(w)`` is the timed call."""

    run: Callable[[float], torch.Tensor]
    prepare: Callable[[], None] = lambda: None


def _die_with_parent() -> None:
    """An orphaned worker must not keep computing (and holding gigabytes) after the parent is gone.

    Without this it would only notice at its next read of stdin, after finishing the pass it is in.
    """
    if not sys.platform.startswith("linux"):
        return
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for protocol lines only; anything else written to fd 1 goes to stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(protocol_fd, "w", buffering=1)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _load_state_dict(path: str) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True, mmap=True)


def _build_reference(args: argparse.Namespace, device: torch.device) -> Runner:
    """The reference as its users run it: a plain ``model(x, weight=w)[0]`` in eval and inference mode."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's code uses the deprecated torch.jit.script
        from spandrel_extra_arches.architectures.CodeFormer import CodeFormer as ReferenceCodeFormer

    model = ReferenceCodeFormer()
    model.load_state_dict(_load_state_dict(args.weights), strict=True)
    model = model.eval().to(device)
    x = torch.load(args.input, weights_only=True).to(device)
    return Runner(run=lambda w: model(x, weight=w)[0])


def _build_ours(args: argparse.Namespace, device: torch.device) -> Runner:
    """Our network: a full restore (encode + decode) or the slider path (decode of a cached encoding)."""
    from codeformer_app.networks.codeformer import CodeFormer, Encoded
    from codeformer_app.networks.codeformer.runtime import Precision

    model = CodeFormer()
    model.load_state_dict(_load_state_dict(args.weights), strict=True)
    model = model.eval().to(device)
    model.precision = Precision(args.precision)
    x = torch.load(args.input, weights_only=True).to(device)

    def autocast() -> AbstractContextManager[Any]:
        if args.autocast == "fp16":
            return torch.autocast(device.type, dtype=torch.float16)
        return nullcontext()

    if args.path == "full":

        def full(w: float) -> torch.Tensor:
            with autocast():
                return model.decode(model.encode(x), w)

        return Runner(run=full)

    cache: list[Encoded] = []

    def encode_once() -> None:
        if not cache:
            with autocast():
                # as the window's encodings do (``EncodingCache`` with ``rerender``)
                cache.append(model.encode(x, keep_fusion_terms=True))

    def slider(w: float) -> torch.Tensor:
        with autocast():
            return model.decode(cache[0], w)

    return Runner(run=slider, prepare=encode_once)


def _peak_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def _current_rss_kib() -> int | None:
    """Resident memory right now (Linux); tells how much of a peak is just ``import torch``."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next((ln for ln in status if ln.startswith("VmRSS:")), None)
    except OSError:
        return None
    return int(line.split()[1]) if line else None


def _peak_stats(device: torch.device) -> dict[str, Any]:
    peak_kib = _peak_rss_kib()
    cuda_peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {"peak_rss_kib": peak_kib, "cuda_peak_bytes": cuda_peak}


def _handle(request: dict[str, Any], runner: Runner, device: torch.device) -> dict[str, Any]:
    op = request.get("op")
    if op == "stats":
        return {"ok": True, **_peak_stats(device)}
    if op != "run":
        raise ValueError(f"unknown op {op!r}")
    w = float(request["w"])
    with torch.inference_mode():
        runner.prepare()
        _synchronize(device)
        faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        out = runner.run(w)
        _synchronize(device)
        seconds = time.perf_counter() - start
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
    if request.get("save"):
        np.save(request["save"], out.detach().float().cpu().numpy())
    # Page faults show what the allocator costs: memory given back and mapped again on every pass.
    return {"ok": True, "seconds": seconds, "page_faults": faults}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=IMPLEMENTATIONS, required=True)
    parser.add_argument("--path", choices=PATHS, default="full")
    parser.add_argument("--precision", choices=PRECISIONS, default="fast")
    parser.add_argument("--autocast", choices=AUTOCAST_CHOICES, default="none")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--weights", required=True, help="state dict saved with torch.save")
    parser.add_argument("--input", required=True, help="input batch saved with torch.save")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    _die_with_parent()
    protocol = _protocol_stream()

    def answer(message: dict[str, Any]) -> None:
        protocol.write(json.dumps(message) + "\n")

    rss_after_imports = _current_rss_kib()
    try:
        args = _parse_args(argv)
        torch.set_num_threads(args.threads)
        device = torch.device(args.device)
        started = time.perf_counter()
        runner = (_build_reference if args.impl == "reference" else _build_ours)(args, device)
        load_seconds = time.perf_counter() - started
    except BaseException:
        answer({"ok": False, "error": traceback.format_exc()})
        return 1
    answer(
        {
            "ok": True,
            "ready": True,
            "pid": os.getpid(),
            "load_seconds": load_seconds,
            "rss_after_imports_kib": rss_after_imports,
            "peak_rss_after_load_kib": _peak_rss_kib(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
        }
    )
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request.get("op") == "quit":
                break
            answer(_handle(request, runner, device))
        except Exception:
            answer({"ok": False, "error": traceback.format_exc()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
