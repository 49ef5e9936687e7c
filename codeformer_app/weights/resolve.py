"""Find the weights file to load, or say exactly how to get it.

Its callers are the places that load a network (the pipeline, the detectors, ``restore``), which only ever
want the app's own files, so ``registry`` defaults to :data:`DEFAULT_REGISTRY` here.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import WeightsError
from .paths import installed_path, weights_dir
from .registry import DEFAULT_REGISTRY, Registry, WeightsEntry

#: Command name shown in instructions.
PROGRAM = "codeformer-app"


class WeightsMissingError(WeightsError):
    """The weights a command needs are not installed; the message tells how to install them."""


def find_installed(name: str, folder: Path | None = None, *, registry: Registry = DEFAULT_REGISTRY) -> Path | None:
    """The installed ``.safetensors`` of ``name``, or None (for optional weights such as ParseNet)."""
    path = installed_path(registry.find(name), weights_dir(folder))
    return path if path.is_file() else None


def resolve_weights(
    name: str, explicit: Path | None = None, folder: Path | None = None, *, registry: Registry = DEFAULT_REGISTRY
) -> Path:
    """``explicit`` if given (must exist), else the installed file of ``name``, else WeightsMissingError."""
    if explicit is not None:
        explicit = Path(explicit)
        if not explicit.is_file():
            raise WeightsError(explicit, "weights file not found")
        return explicit
    entry = registry.find(name)
    base = weights_dir(folder)
    path = installed_path(entry, base)
    if not path.is_file():
        raise WeightsMissingError(path, missing_message(entry, base))
    return path


def resolve_codeformer_weights(
    explicit: Path | None = None,
    folder: Path | None = None,
    task: str | None = None,
    *,
    registry: Registry = DEFAULT_REGISTRY,
) -> Path:
    """The CodeFormer weights to load: ``--weights FILE`` if given, else the installed file for ``task``
    (restore, colorize, inpaint; None: restore)."""
    return resolve_weights(registry.for_task(task).name, explicit, folder, registry=registry)


def download_command(entry: WeightsEntry) -> str:
    """The exact command that installs ``entry``."""
    accept = " --accept-license" if entry.license.requires_acceptance else ""
    return f"{PROGRAM} weights download {entry.name}{accept}"


def missing_message(entry: WeightsEntry, folder: Path) -> str:
    """One line: what is missing, how to download or import it, where from, under which license."""
    return (
        f"the {entry.name} weights are not installed in {folder}. "
        f"To install them run `{download_command(entry)}`, "
        f"or download {entry.url()} by hand and run "
        f"`{PROGRAM} weights import /path/to/{entry.file_name}`. "
        f"License: {entry.license.name} ({entry.license.summary}), {entry.license.url}"
    )
