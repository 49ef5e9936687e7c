"""What one engine-benchmark run times: each measurement's worker arguments and environment.

Ours runs as the app runs (allocator tuned, OpenMP's wait policy PASSIVE); the reference runs as its users run
it, with nothing of ours in its environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codeformer_app import OMP_WAIT_POLICY, OMP_WAIT_POLICY_ENV
from codeformer_app.networks.codeformer.runtime import KEEP_ALLOCATOR_ENV

REFERENCE = "reference"


@dataclass(frozen=True)
class Measurement:
    """One thing to time, in its own worker."""

    key: str
    label: str
    worker_args: tuple[str, ...]
    env: dict[str, str | None] = field(default_factory=dict)

    @property
    def is_full_restore(self) -> bool:
        return "slider" not in self.worker_args


def _ours(path: str, precision: str, autocast: str = "none") -> tuple[str, ...]:
    return ("--impl", "ours", "--path", path, "--precision", precision, "--autocast", autocast)


#: How the app runs: allocator tuned (the switch never inherited by accident) and OpenMP's wait policy PASSIVE,
#: which ``codeformer_app/__init__.py`` sets before PyTorch loads. libgomp reads the policy only when PyTorch is
#: imported, and a worker imports torch first, so each worker gets it through its environment.
_ALLOCATOR_TUNED: dict[str, str | None] = {KEEP_ALLOCATOR_ENV: None, OMP_WAIT_POLICY_ENV: OMP_WAIT_POLICY}
_ALLOCATOR_UNTOUCHED: dict[str, str | None] = {KEEP_ALLOCATOR_ENV: "1", OMP_WAIT_POLICY_ENV: OMP_WAIT_POLICY}
#: The reference runs as its users run it: nothing of ours, OpenMP's own default (this parent process has the
#: app's policy in its environment, since it imported ``codeformer_app``).
_PLAIN: dict[str, str | None] = {KEEP_ALLOCATOR_ENV: None, OMP_WAIT_POLICY_ENV: None}
#: ``--omp-default``: ours with OpenMP's default wait policy (spin, then sleep), to show what the setting gives.
_OMP_DEFAULT: dict[str, str | None] = {KEEP_ALLOCATOR_ENV: None, OMP_WAIT_POLICY_ENV: None}


def measurements(device: str, ablation: bool, omp_default: bool = False) -> list[Measurement]:
    """What one run times, in the order the parent asks the workers (reference first)."""
    reference = Measurement(REFERENCE, "reference, plain process", ("--impl", "reference"), _PLAIN)
    if device == "cuda":
        return [
            reference,
            Measurement("ours_full", "ours fp32, full restore", _ours("full", "fast")),
            Measurement("ours_slider", "ours fp32, slider (decode)", _ours("slider", "fast")),
            Measurement("ours_full_fp16", "ours fp16 autocast, full restore", _ours("full", "fast", "fp16")),
            Measurement("ours_slider_fp16", "ours fp16 autocast, slider", _ours("slider", "fast", "fp16")),
        ]
    chosen = [
        reference,
        Measurement("ours_full", "ours, full restore (fast)", _ours("full", "fast"), _ALLOCATOR_TUNED),
        Measurement("ours_slider", "ours, slider: decode only (fast)", _ours("slider", "fast"), _ALLOCATOR_TUNED),
        Measurement("ours_exact", "ours, full restore (exact)", _ours("full", "exact"), _ALLOCATOR_TUNED),
    ]
    if omp_default:
        chosen += [
            Measurement(
                "ours_full_omp_default", "ours, full (fast), OpenMP default wait", _ours("full", "fast"), _OMP_DEFAULT
            ),
            Measurement(
                "ours_slider_omp_default",
                "ours, slider (fast), OpenMP default wait",
                _ours("slider", "fast"),
                _OMP_DEFAULT,
            ),
        ]
    if ablation:
        chosen += [
            Measurement(
                "ours_full_plain_alloc",
                "ours, full (fast), allocator untouched",
                _ours("full", "fast"),
                _ALLOCATOR_UNTOUCHED,
            ),
            Measurement(
                "ours_exact_plain_alloc",
                "ours, full (exact), allocator untouched",
                _ours("full", "exact"),
                _ALLOCATOR_UNTOUCHED,
            ),
        ]
    return chosen
