"""What a training run is: one frozen dataclass per stage, plus the engineering settings every stage shares.

The defaults are the official CodeFormer recipe (sczhou/CodeFormer ``options/VQGAN_512_ds32_nearest_stage1.yml``,
``CodeFormer_stage2.yml``, ``CodeFormer_stage3.yml``); ``tiny`` presets shrink the network and the
degradations so a run finishes in seconds on a CPU (the tests use them). Configurations round-trip through
JSON (``config.json`` of a run) and accept ``dotted.name=value`` overrides from the command line.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from codeformer_app.networks.codeformer import CodeFormerConfig

from .degradations import LARGE_DEGRADATION, SMALL_DEGRADATION, DegradationRanges
from .networks import VQGANConfig


class StageName(StrEnum):
    """The three stages, named by what they learn."""

    VQGAN = "vqgan"  # stage I: codebook, encoder and decoder on clean faces
    CODES = "codes"  # stage II: predict the clean face's codes from a degraded face
    FUSION = "fusion"  # stage III: the controllable feature transform (w = 1)


Schedule = Literal["constant", "cosine", "multistep"]


def _check_schedule(optimizer: OptimizerConfig) -> None:
    if optimizer.schedule not in typing.get_args(Schedule):
        raise ValueError(
            f"unknown learning-rate schedule {optimizer.schedule!r}; choose one of {typing.get_args(Schedule)}"
        )


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam and its learning-rate schedule."""

    lr: float
    betas: tuple[float, float] = (0.9, 0.99)
    schedule: Schedule = "constant"
    #: cosine: the rate falls from ``lr`` to ``eta_min`` over ``period`` steps (0: the whole run).
    eta_min: float = 0.0
    period: int = 0
    #: multistep: the rate is multiplied by ``gamma`` at each milestone step.
    milestones: tuple[int, ...] = ()
    gamma: float = 0.5

    def __post_init__(self) -> None:
        _check_schedule(self)


@dataclass(frozen=True)
class GANConfig:
    """PatchGAN discriminator, hinge loss and the adaptive weight of the generator's GAN term."""

    #: First step at which the discriminator trains and the GAN term enters the generator loss.
    start_step: int
    optimizer: OptimizerConfig
    #: Multiplies the adaptive weight (official: 0.8 in stage I, 0.1 in stage III).
    scale: float = 0.8
    delta: float = 1e-6
    max_weight: float = 1.0
    ndf: int = 64
    n_layers: int = 4


@dataclass(frozen=True)
class VQGANStage:
    """Stage I: reconstruction (L1 + perceptual) + codebook/commitment + adaptive hinge GAN, clean faces."""

    network: VQGANConfig = VQGANConfig()
    optimizer: OptimizerConfig = OptimizerConfig(lr=7e-5, schedule="cosine", eta_min=6e-5)
    gan: GANConfig = GANConfig(
        start_step=30_001, scale=0.8, optimizer=OptimizerConfig(lr=7e-5, schedule="cosine", eta_min=6e-5)
    )
    pixel_weight: float = 1.0
    perceptual_weight: float = 1.0
    codebook_weight: float = 1.0
    ema_decay: float = 0.995
    hflip: bool = True
    #: Optional weights to start from (a VQGAN export, the official vqgan_code1024.pth, or a CodeFormer file).
    init: str = ""
    name: typing.ClassVar[StageName] = StageName.VQGAN


@dataclass(frozen=True)
class CodesStage:
    """Stage II (w = 0): VQGAN decoder and codebook frozen; cross-entropy on the clean codes + latent L2."""

    network: CodeFormerConfig = CodeFormerConfig()
    optimizer: OptimizerConfig = OptimizerConfig(lr=1e-4, schedule="multistep", milestones=(400_000, 450_000))
    feature_weight: float = 1.0
    cross_entropy_weight: float = 0.5
    ema_decay: float = 0.995
    degradation: DegradationRanges = LARGE_DEGRADATION
    hflip: bool = True
    #: Required: the stage I export (or the official vqgan_code1024.pth). Its encoder defines the clean
    #: faces' target codes, and its codebook, decoder and (as a start) encoder go into the network.
    vqgan: str = ""
    #: Optional: a full CodeFormer file to continue from instead (its encoder and transformer).
    init: str = ""
    name: typing.ClassVar[StageName] = StageName.CODES


@dataclass(frozen=True)
class FusionStage:
    """Stage III (w = 1): fusion blocks trained, encoder and transformer fine-tuned; decoder and codebook frozen."""

    network: CodeFormerConfig = CodeFormerConfig()
    optimizer: OptimizerConfig = OptimizerConfig(lr=5e-5, schedule="cosine", eta_min=2e-5)
    gan: GANConfig = GANConfig(
        start_step=5_001, scale=0.1, optimizer=OptimizerConfig(lr=5e-5, schedule="cosine", eta_min=2e-5)
    )
    fidelity_weight: float = 1.0
    pixel_weight: float = 1.0
    perceptual_weight: float = 1.0
    feature_weight: float = 1.0
    cross_entropy_weight: float = 0.5
    #: The official training feeds the decoder un-normalised codes (AdaIN is an inference-time choice).
    adain: bool = False
    ema_decay: float = 0.997
    degradation: DegradationRanges = SMALL_DEGRADATION
    hflip: bool = True
    #: Required: the stage II export (or a full CodeFormer checkpoint, e.g. the official one, to fine-tune).
    init: str = ""
    #: The stage I VQGAN whose encoder gives the target codes; required while the code terms are on.
    vqgan: str = ""
    name: typing.ClassVar[StageName] = StageName.FUSION


StageConfig = VQGANStage | CodesStage | FusionStage
STAGE_CLASSES: dict[StageName, type[StageConfig]] = {cls.name: cls for cls in (VQGANStage, CodesStage, FusionStage)}


@dataclass(frozen=True)
class RunConfig:
    """Engineering settings: not part of what is learned, so they may change when a run is resumed."""

    steps: int
    batch_size: int = 4
    seed: int = 0
    #: "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N".
    device: str = "auto"
    #: bfloat16 autocast on CUDA devices that support it; ignored on CPU.
    amp: bool = True
    num_workers: int = 2
    log_every: int = 100
    checkpoint_every: int = 5_000
    tensorboard: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must not be negative, got {self.num_workers}")


# -- presets -----------------------------------------------------------------------------------------------
#: A network small enough to train in seconds on a CPU: 32x32 faces, 8x8 latent grid, 16 codes.
TINY_VQGAN = VQGANConfig(img_size=32, nf=32, ch_mult=(1, 1, 2), attn_resolutions=(8,), emb_dim=32, codebook_size=16)
TINY_CODEFORMER = CodeFormerConfig(
    dim_embd=32,
    n_head=8,
    n_layers=2,
    codebook_size=16,
    latent_size=64,
    connect_list=(16, 32),
    img_size=32,
    nf=32,
    ch_mult=(1, 1, 2),
    attn_resolutions=(8,),
    emb_dim=32,
)
#: Degradations scaled to 32 px faces (the official ranges would leave one or two pixels).
TINY_DEGRADATION = DegradationRanges(
    kernel_size=7, blur_sigma=(0.1, 1.5), downsample=(1.0, 4.0), noise=(0.0, 10.0), jpeg_quality=(60, 95)
)
TINY_OPTIMIZER = OptimizerConfig(lr=1e-3)
TINY_GAN = GANConfig(start_step=10, optimizer=OptimizerConfig(lr=1e-4), ndf=16, n_layers=2)


def preset(stage: StageName, name: str) -> StageConfig:
    """``full`` (the official recipe) or ``tiny`` (seconds on a CPU) configuration of a stage."""
    if name == "full":
        return STAGE_CLASSES[stage]()
    if name != "tiny":
        raise ValueError(f"unknown preset {name!r}; choose 'full' or 'tiny'")
    if stage is StageName.VQGAN:
        return VQGANStage(network=TINY_VQGAN, optimizer=TINY_OPTIMIZER, gan=TINY_GAN, ema_decay=0.9)
    if stage is StageName.CODES:
        return CodesStage(
            network=TINY_CODEFORMER, optimizer=TINY_OPTIMIZER, ema_decay=0.9, degradation=TINY_DEGRADATION
        )
    return FusionStage(
        network=TINY_CODEFORMER,
        optimizer=TINY_OPTIMIZER,
        gan=dataclasses.replace(TINY_GAN, scale=0.1),
        ema_decay=0.9,
        degradation=TINY_DEGRADATION,
    )


def with_fixed_periods(config: StageConfig, steps: int) -> StageConfig:
    """Pin cosine schedules whose period is "the whole run" (0) to ``steps``.

    Stored like this in the run folder, the learning-rate curve stays the same when the run is later resumed
    with a different number of steps.
    """

    def pinned(optimizer: OptimizerConfig) -> OptimizerConfig:
        if optimizer.schedule == "cosine" and optimizer.period == 0:
            return dataclasses.replace(optimizer, period=steps)
        return optimizer

    config = dataclasses.replace(config, optimizer=pinned(config.optimizer))
    if hasattr(config, "gan"):
        config = dataclasses.replace(
            config, gan=dataclasses.replace(config.gan, optimizer=pinned(config.gan.optimizer))
        )
    return config


# -- JSON and overrides ------------------------------------------------------------------------------------
def to_json_data(config: Any) -> Any:
    """A configuration as plain JSON data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


def from_json_data(cls: type, data: dict) -> Any:
    """Rebuild a configuration dataclass from :func:`to_json_data`'s output."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    return cls(**fields)


def _decode(kind: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(kind):
        return from_json_data(kind, value)
    if typing.get_origin(kind) is tuple:
        return tuple(value)
    return value


def with_overrides(config: Any, assignments: list[str]) -> Any:
    """Apply ``dotted.name=value`` assignments (``gan.start_step=1000``, ``optimizer.lr=2e-4``)."""
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep:
            raise ValueError(f"expected NAME=VALUE, got {assignment!r}")
        config = _replace_path(config, name.strip().split("."), text.strip(), name)
    return config


def _replace_path(config: Any, path: list[str], text: str, full_name: str) -> Any:
    names = {f.name for f in dataclasses.fields(config)}
    head = path[0]
    if head not in names:
        raise ValueError(f"{type(config).__name__} has no setting {full_name!r}; settings: {', '.join(sorted(names))}")
    current = getattr(config, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise ValueError(f"{full_name!r}: {head} is not a group of settings")
        return dataclasses.replace(config, **{head: _replace_path(current, path[1:], text, full_name)})
    if dataclasses.is_dataclass(current):
        raise ValueError(f"{full_name!r} is a group of settings; set one of its fields")
    return dataclasses.replace(config, **{head: _parse_like(current, text, full_name)})


def _parse_like(current: Any, text: str, name: str) -> Any:
    """Parse ``text`` as a value of the same type as ``current``."""
    try:
        if isinstance(current, bool):
            if text.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError("expected true or false")
            return text.lower() in {"true", "1", "yes"}
        if isinstance(current, tuple):
            parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
            element = type(current[0]) if current else float
            return tuple(element(p.strip()) for p in parts)
        if isinstance(current, int):
            return int(float(text)) if "e" in text.lower() else int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, Path):
            return Path(text)
        return text
    except ValueError as error:
        raise ValueError(f"{name}={text!r}: {error}") from None


@dataclass(frozen=True)
class RunRecord:
    """What ``config.json`` of a run holds: the stage, its configuration and the data folder."""

    stage: StageName
    config: StageConfig
    data: str
    run: RunConfig = field(default_factory=lambda: RunConfig(steps=0))

    def to_json(self) -> str:
        payload = {
            "stage": str(self.stage),
            "config": to_json_data(self.config),
            "data": self.data,
            "run": to_json_data(self.run),
        }
        return json.dumps(payload, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        payload = json.loads(text)
        stage = StageName(payload["stage"])
        return cls(
            stage=stage,
            config=from_json_data(STAGE_CLASSES[stage], payload["config"]),
            data=payload["data"],
            run=from_json_data(RunConfig, payload["run"]),
        )
