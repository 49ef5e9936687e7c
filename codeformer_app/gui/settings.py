"""The user's choices, kept between runs with QSettings (per user, per platform's convention)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from PySide6.QtCore import QSettings

from ..defaults import DEFAULT_DETECTOR, DEFAULT_JPEG_QUALITY, DETECTOR_NAMES, DEVICE_CHOICES, OUTPUT_FORMATS

ORGANIZATION = "CodeFormerApp"
APPLICATION = "CodeFormer App"
#: Files kept in File > Open Recent.
RECENT_LIMIT = 10
#: "Same as the input" in the output-format choice.
SAME_FORMAT = ""
#: Step of the fidelity boxes (batch options, per-face fidelity, settings).
FIDELITY_STEP = 0.05
#: Upscale factors offered (the core accepts 1-4).
UPSCALE_CHOICES = (1, 2, 3, 4)


#: The fields the Settings dialog edits (the others are remembered as the app is used).
DIALOG_FIELDS = (
    "device",
    "threads",
    "detector",
    "fidelity",
    "upscale",
    "parsing",
    "output_format",
    "quality",
    "inpainting_weights",
)


def default_threads() -> int:
    """All cores but one, so the window stays responsive while the network runs."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class AppSettings:
    device: str = "auto"
    threads: int = 0
    """CPU threads for the networks; 0 means :func:`default_threads`."""
    detector: str = DEFAULT_DETECTOR
    fidelity: float = 0.5
    upscale: int = 1
    parsing: bool = True
    output_format: str = SAME_FORMAT
    quality: int = DEFAULT_JPEG_QUALITY
    inpainting_weights: str = ""
    """``codeformer_inpainting.pth`` for Faces ▸ Repair scratches; empty: not available."""
    open_folder: str = ""
    save_folder: str = ""
    batch_input: str = ""
    batch_output: str = ""
    recent_files: tuple[str, ...] = field(default_factory=tuple)

    def thread_count(self) -> int:
        return self.threads if self.threads > 0 else default_threads()

    def with_recent(self, path: Path) -> AppSettings:
        """``path`` first in the recent list, without duplicates, at most :data:`RECENT_LIMIT`."""
        name = str(path)
        recent = (name, *(p for p in self.recent_files if p != name))[:RECENT_LIMIT]
        return replace(self, recent_files=recent)

    def checked(self) -> AppSettings:
        """Values from an older version or a hand-edited file, put back into range."""
        return replace(
            self,
            device=self.device if self.device in DEVICE_CHOICES else "auto",
            threads=max(0, min(self.threads, 256)),
            detector=self.detector if self.detector in DETECTOR_NAMES else DEFAULT_DETECTOR,
            fidelity=min(1.0, max(0.0, self.fidelity)),
            upscale=self.upscale if self.upscale in UPSCALE_CHOICES else 1,
            output_format=self.output_format if self.output_format in OUTPUT_FORMATS else SAME_FORMAT,
            quality=min(100, max(1, self.quality)),
        )


def _qsettings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def load_settings(store: QSettings | None = None) -> AppSettings:
    store = store or _qsettings()
    defaults = AppSettings()
    values = {}
    for f in fields(AppSettings):
        default = getattr(defaults, f.name)
        raw = store.value(f.name, None)
        if raw is None:
            continue
        try:
            if isinstance(default, bool):
                values[f.name] = raw if isinstance(raw, bool) else str(raw).lower() == "true"
            elif isinstance(default, tuple):
                items = raw if isinstance(raw, list) else [raw] if raw else []
                values[f.name] = tuple(str(item) for item in items)
            else:
                values[f.name] = type(default)(raw)
        except (TypeError, ValueError):
            continue  # a damaged value falls back to the default
    return AppSettings(**values).checked()


def save_settings(settings: AppSettings, store: QSettings | None = None) -> None:
    store = store or _qsettings()
    for f in fields(AppSettings):
        value = getattr(settings, f.name)
        store.setValue(f.name, list(value) if isinstance(value, tuple) else value)
    store.sync()


def update_settings(**changes: object) -> AppSettings:
    """Change some fields of the stored settings, keeping what other panels stored meanwhile."""
    settings = replace(load_settings(), **changes).checked()
    save_settings(settings)
    return settings
