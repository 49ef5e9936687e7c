"""Turning the benchmark's numbers into goal verdicts and a plain-text table.

Everything here works on the JSON-ready result dict, so the printed table and ``--json`` always agree.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Signal range of images in [-1, 1], for PSNR.
SIGNAL_RANGE = 2.0
BYTES_PER_GB = 1e9


@dataclass(frozen=True)
class Goal:
    """One target from PRODUCT.md "Speed", checked against a value of the result."""

    name: str
    op: str  # "<=" or ">="
    target: float
    unit: str
    spec: str
    """Format spec for values and the target."""

    def show(self, value: float) -> str:
        space = "" if self.unit == "x" else " "
        return f"{value:{self.spec}}{space}{self.unit}"

    def check(self, value: float | None) -> bool | None:
        if value is None:
            return None
        compare: Callable[[float, float], bool] = operator.le if self.op == "<=" else operator.ge
        return compare(value, self.target)


FULL_RATIO = Goal("full restore time vs reference", "<=", 0.33, "x", ".2f")
SLIDER_RATIO = Goal("slider change time vs reference full restore", "<=", 0.20, "x", ".2f")
MIN_PSNR = Goal("output PSNR vs reference", ">=", 60.0, "dB", ".0f")
MAX_PEAK = Goal("peak memory, one face, fresh process", "<=", 2.5, "GB", ".2f")


def psnr_and_max_diff(got: np.ndarray, expected: np.ndarray) -> tuple[float, float]:
    """PSNR in dB (``inf`` when identical) and the largest absolute difference, both in float64."""
    diff = got.astype(np.float64) - expected.astype(np.float64)
    mse = float(np.mean(diff**2))
    psnr = math.inf if mse == 0 else 10 * math.log10(SIGNAL_RANGE**2 / mse)
    return psnr, float(np.max(np.abs(diff)))


def goal_entry(goal: Goal, subject: str, value: float | None) -> dict[str, Any]:
    return {
        "goal": goal.name,
        "subject": subject,
        "op": goal.op,
        "target": goal.target,
        "unit": goal.unit,
        "value": value,
        "passed": goal.check(value),
    }


def _verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "MISS", None: "n/a"}[passed]


def _fmt(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _gb(num_bytes: int | None) -> str:
    return "-" if num_bytes is None else f"{num_bytes / BYTES_PER_GB:.2f} GB"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def format_report(result: dict[str, Any]) -> str:
    """The human-readable summary printed at the end of a run."""
    cfg, machine = result["config"], result["machine"]
    goals_by_subject: dict[tuple[str, str], dict[str, Any]] = {(g["goal"], g["subject"]): g for g in result["goals"]}

    def goal_cell(goal: Goal, subject: str) -> str:
        entry = goals_by_subject.get((goal.name, subject))
        if entry is None:
            return ""
        return f"{goal.op} {goal.show(entry['target'])} {_verdict(entry['passed'])}"

    out = [
        f"CodeFormer engine benchmark, {result['date']}",
        f"  one {cfg['face_size']}x{cfg['face_size']} face, {cfg['dtype']}, {cfg['threads']} threads, "
        f"device {cfg['device']}, w = {cfg['w']}, median of {cfg['rounds']} rounds (alternating workers)",
        f"  machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs ({machine['usable_cpus']} usable), "
        f"torch {machine['torch']}, Python {machine['python']}, NNPACK {'yes' if machine['nnpack'] else 'no'}"
        + (f", GPU {machine['gpu']}" if machine.get("gpu") else ""),
        "",
    ]

    time_rows = []
    for key, t in result["timings"].items():
        goal = {"ours_full": FULL_RATIO, "ours_slider": SLIDER_RATIO}.get(key)
        time_rows.append(
            [
                t["label"],
                _fmt(t["median"], ".2f"),
                _fmt(t["min"], ".2f"),
                _fmt(t["first_call"], ".2f"),
                _fmt(t["ratio_vs_reference"], ".3f") + "x",
                _fmt(t.get("page_faults_median"), ",.0f"),
                goal_cell(goal, key) if goal else "",
            ]
        )
    out += _table(["seconds per face", "median", "min", "1st call", "vs ref", "page faults", "goal"], time_rows)
    out.append(
        "  (vs ref = median / reference median; 1st call = warm-up pass in the same worker, not counted;"
        "\n   page faults = minor page faults during one timed pass, median)"
    )
    out.append("")

    quality_rows = [
        [
            result["timings"][key]["label"],
            "inf (identical)" if q["psnr_db"] is None else f"{q['psnr_db']:.1f}",
            f"{q['max_abs_diff']:.2e}",
            goal_cell(MIN_PSNR, key),
        ]
        for key, q in result["quality"].items()
    ]
    out += _table(["output vs reference (clamped to [-1, 1])", "PSNR dB", "max |diff|", "goal"], quality_rows)
    out.append("")

    cuda = cfg["device"] == "cuda"
    memory_rows = []
    for key, m in result["memory"].items():
        row = [
            result["timings"][key]["label"],
            _gb(m.get("fresh_peak_rss_bytes")),
            _gb(m.get("fresh_peak_rss_bytes_median")),
            _gb(m.get("fresh_rss_after_imports_bytes")),
            _gb(m.get("fresh_peak_rss_after_load_bytes")),
            _fmt(m.get("fresh_seconds"), ".2f"),
            _gb(m.get("worker_peak_rss_bytes")),
        ]
        if cuda:
            row += [_gb(m.get("fresh_cuda_peak_bytes")), _gb(m.get("worker_cuda_peak_bytes"))]
        row.append(goal_cell(MAX_PEAK, key))
        memory_rows.append(row)
    header = ["peak RSS (GB = 1e9 bytes)", "one face", "median", "torch imported", "loaded", "face s", "worker"]
    if cuda:
        header += ["GPU one face", "GPU worker"]
    out += _table([*header, "goal"], memory_rows)
    runs = cfg.get("fresh_runs", 1)
    out.append(
        f"  (one face: largest peak of {runs} fresh process{'' if runs == 1 else 'es'} loading the model and restoring"
        " one face, nothing else;\n   median: their median peak; torch imported / loaded: RSS at those points"
        " (largest); face s: that face's time, cold (median);\n   worker: peak of the timing process after"
        " all its runs)"
    )
    out.append("")

    verdicts = [g for g in result["goals"] if g["passed"] is not None]
    missed = [g for g in verdicts if not g["passed"]]
    out.append(f"goals: {len(verdicts) - len(missed)}/{len(verdicts)} met")
    all_goals = {goal.name: goal for goal in (FULL_RATIO, SLIDER_RATIO, MIN_PSNR, MAX_PEAK)}
    for g in missed:
        goal = all_goals[g["goal"]]
        out.append(
            f"  MISS {g['goal']} ({g['subject']}): {goal.show(g['value'])}, target {g['op']} {goal.show(g['target'])}"
        )
    for note in result.get("notes", []):
        out.append(f"note: {note}")
    return "\n".join(out)
