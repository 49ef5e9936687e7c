"""The training loop shared by the three stages: resume, steps, logs, checkpoints, EMA export.

A run lives in one folder::

    OUT/config.json              what is being trained (refuses to resume with different settings)
    OUT/checkpoints/last.pt      resumable state, replaced atomically every ``checkpoint_every`` steps
    OUT/log.jsonl                one line of averaged scalars every ``log_every`` steps
    OUT/tensorboard/             the same scalars for TensorBoard (when the ``train`` extra is installed)
    OUT/<stage export>           the EMA weights as safetensors, refreshed with every checkpoint

Running the same command again continues from the last checkpoint; Ctrl-C saves one first.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from codeformer_app.device import pick_device
from codeformer_app.weights.files import write_atomically

from .checkpoints import load_checkpoint, save_checkpoint
from .config import RunConfig, RunRecord, StageConfig, to_json_data, with_fixed_periods
from .data import StepBatches, batch_loader, list_faces
from .errors import TrainingError
from .perceptual import PerceptualLoss
from .stages import EXPORT_NAMES, Stage, StepOutput, build_stage, needs_perceptual

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
CHECKPOINT_PATH = Path("checkpoints") / "last.pt"
LOG_NAME = "log.jsonl"
TENSORBOARD_NAME = "tensorboard"
#: The scalar each stage is judged by (shown in the progress bar).
MAIN_SCALAR = {"vqgan": "l1", "codes": "cross_entropy", "fusion": "l1"}


@dataclass(frozen=True)
class TrainResult:
    """Where a run ended: completed steps, the EMA export and the scalar log."""

    steps_done: int
    export: Path
    log: Path
    interrupted: bool = False


class TrainingInterrupted(TrainingError):
    """Ctrl-C: the state was saved; the same command continues."""


@dataclass
class LogWindow:
    """Scalars and code usage gathered between two log lines."""

    codebook_size: int
    sums: dict[str, float] = field(default_factory=dict)
    steps: int = 0
    started: float = field(default_factory=time.perf_counter)
    code_counts: torch.Tensor | None = None

    def add(self, output: StepOutput, rates: dict[str, float]) -> None:
        for name, value in {**output.scalars, **rates}.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        counts = torch.bincount(output.indices.reshape(-1).cpu(), minlength=self.codebook_size)
        self.code_counts = counts if self.code_counts is None else self.code_counts + counts
        self.steps += 1

    def summary(self, step: int) -> dict[str, float | int]:
        """Means over the window, plus codebook usage: codes used at least once and their perplexity."""
        elapsed = time.perf_counter() - self.started
        line: dict[str, float | int] = {"step": step}
        line |= {name: total / self.steps for name, total in sorted(self.sums.items())}
        counts = self.code_counts.double() if self.code_counts is not None else torch.zeros(1)
        frequencies = counts[counts > 0] / counts.sum()
        line["codes_used"] = int((counts > 0).sum())
        line["codebook_usage"] = line["codes_used"] / self.codebook_size
        line["code_perplexity"] = float((-(frequencies * frequencies.log()).sum()).exp())
        line["steps_per_s"] = self.steps / elapsed if elapsed > 0 else 0.0
        return line


def train(
    stage_config: StageConfig,
    run: RunConfig,
    data: Path,
    out: Path,
    *,
    perceptual: PerceptualLoss | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``stage_config`` on the faces in ``data`` until ``run.steps`` steps are done (resuming from ``out``).

    ``perceptual`` defaults to the LPIPS weights installed through the weights manager (stages I and III).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage_config = with_fixed_periods(stage_config, run.steps)
    checkpoint = out / CHECKPOINT_PATH
    if checkpoint.is_file():  # a folder whose first start failed before training holds nothing to protect
        _check_same_run(out, stage_config)
    device = _device(run)
    amp = run.amp and device.type == "cuda" and torch.cuda.is_bf16_supported()
    if needs_perceptual(stage_config) and perceptual is None:
        from .perceptual_weights import load_perceptual_loss  # the download/verify machinery only when needed

        perceptual = load_perceptual_loss()
    files = list_faces(Path(data))  # before building the networks: a bad data folder fails fast

    torch.manual_seed(run.seed)
    stage = build_stage(stage_config, device, run.steps, perceptual, amp)
    start = 0
    if checkpoint.is_file():
        start, state = load_checkpoint(checkpoint)
        stage.load_state_dict(state)
        log.info("resuming %s from step %d", stage_config.name, start)
    write_atomically(
        out / CONFIG_NAME,
        lambda temp: temp.write_text(RunRecord(stage_config.name, stage_config, str(data), run).to_json()),
    )

    export = _export_path(stage, out)
    if start >= run.steps:
        return TrainResult(start, stage.export(out, start) if not export.is_file() else export, out / LOG_NAME)

    dataset = StepBatches(
        files,
        img_size=stage_config.network.img_size,
        batch_size=run.batch_size,
        seed=run.seed,
        degradation=getattr(stage_config, "degradation", None),
        hflip=stage_config.hflip,
        first_step=start,
        last_step=run.steps,
    )
    writer = _tensorboard(out, run)
    done = start
    previous_sigterm = _stop_on_sigterm()
    try:
        for completed in _run_steps(stage, batch_loader(dataset, run.num_workers), run, out, writer, start, progress):
            done = completed
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM from a job scheduler
        _save(stage, out, done)
        raise TrainingInterrupted(
            checkpoint, f"stopped after step {done}; run the same command again to continue"
        ) from None
    except Exception:
        if done > start:  # keep what was learned since the last checkpoint, then report the error
            _save(stage, out, done)
        raise
    finally:
        if writer is not None:
            writer.close()
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    return TrainResult(done, _save(stage, out, done), out / LOG_NAME)


def _stop_on_sigterm():
    """Treat SIGTERM like Ctrl-C (save, then stop); returns the handler to restore, None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, signal.default_int_handler)


def _run_steps(stage: Stage, loader, run: RunConfig, out: Path, writer, start: int, progress: bool) -> Iterator[int]:
    """Train on each batch; yields the number of completed steps after each one."""
    codebook_size = stage.network.config.codebook_size
    window = LogWindow(codebook_size)
    main = MAIN_SCALAR[str(stage.config.name)]
    bar = tqdm(total=run.steps, initial=start, unit="step", disable=not progress, dynamic_ncols=True)
    with bar, (out / LOG_NAME).open("a", encoding="utf-8") as log_file:
        for batch in loader:
            rates = stage.set_step(batch.step)
            output = stage.train_step(batch, batch.step)
            window.add(output, rates)
            done = batch.step + 1
            bar.update(1)
            if main in output.scalars:
                bar.set_postfix({main: f"{output.scalars[main]:.4f}"}, refresh=False)
            if done % run.log_every == 0 or done == run.steps:
                line = window.summary(done)
                log_file.write(json.dumps(line) + "\n")
                log_file.flush()
                if writer is not None:
                    for name, value in line.items():
                        if name != "step":
                            writer.add_scalar(f"{stage.config.name}/{name}", value, done)
                window = LogWindow(codebook_size)
            if done % run.checkpoint_every == 0 and done != run.steps:
                _save(stage, out, done)
            yield done


def _save(stage: Stage, out: Path, step: int) -> Path:
    save_checkpoint(out / CHECKPOINT_PATH, step, stage.state_dict())
    return stage.export(out, step)


def _export_path(stage: Stage, out: Path) -> Path:
    return out / EXPORT_NAMES[str(stage.config.name)]


def _check_same_run(out: Path, stage_config: StageConfig) -> None:
    """Refuse to continue a run folder with different settings: the checkpoint would not match them."""
    path = out / CONFIG_NAME
    if not path.is_file():
        return
    try:
        stored = RunRecord.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as error:
        raise TrainingError(path, f"cannot be read ({error}); use a new output folder") from None
    if stored.stage != stage_config.name or stored.config != stage_config:
        old, new = _flatten(to_json_data(stored.config)), _flatten(to_json_data(stage_config))
        changed = [
            f"{k}: {old.get(k)} -> {new.get(k)}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
        ]
        what = f"stage {stored.stage} -> {stage_config.name}" if stored.stage != stage_config.name else ""
        raise TrainingError(
            out,
            "holds a run with other settings ("
            + "; ".join(filter(None, [what, *changed[:8]]))
            + "); resume it with the same settings (to train longer: codeformer-train resume FOLDER --steps N) "
            "or train into a new folder",
        )


def _flatten(data: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _device(run: RunConfig) -> torch.device:
    if run.device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise TrainingError(None, f"device {run.device!r} was asked for but CUDA is not available")
        return torch.device(run.device)
    try:
        return pick_device(run.device)
    except ValueError as error:
        raise TrainingError(None, str(error)) from None


def _tensorboard(out: Path, run: RunConfig):
    """A TensorBoard writer when asked for and installed (``pip install codeformer-app[train]``)."""
    if not run.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.info("TensorBoard is not installed; scalars go to %s only", LOG_NAME)
        return None
    return SummaryWriter(log_dir=str(out / TENSORBOARD_NAME))
