"""The two files the LPIPS perceptual loss needs, registered with the app's weights machinery.

They are for training only, so they are not in the app's ``DEFAULT_REGISTRY`` (the model manager lists what
restoring photos needs, nothing else): training works on :data:`TRAINING_REGISTRY`, the app's registry with
these two entries added. Unlike the app's files they are kept as the original ``.pth`` (``keep_original``: no
``.safetensors`` conversion, no index record), verified by size and SHA-256 whenever they are looked up, and
read only with ``torch.load(weights_only=True)``. They live in the app's weights folder by default, under
their official names. Downloading, importing and checking are the app's (``download.py``, ``originals.py``);
this module describes the files and words the training CLI's messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from codeformer_app.errors import WeightsError
from codeformer_app.weights.download import CancelCheck, download
from codeformer_app.weights.originals import import_original, original_problem
from codeformer_app.weights.paths import ensure_folder, installed_path, weights_dir
from codeformer_app.weights.registry import DEFAULT_REGISTRY, License, NetworkKind, Registry, WeightsEntry
from codeformer_app.weights.resolve import WeightsMissingError

from .perceptual import PerceptualLoss

#: Command name shown in instructions (the training CLI).
PROGRAM = "codeformer-train"
#: What an imported file must be, in the words of the refusal.
IMPORT_WHAT = "perceptual loss weights file"
#: The networks of the two files, in the order every function here returns paths: backbone, then lin layers.
PERCEPTUAL_KINDS = (NetworkKind.VGG16_IMAGENET, NetworkKind.LPIPS_VGG_LIN)

#: Progress of one file of a download of several: ``(entry, done_bytes, total_bytes)``.
EntryProgress = Callable[[WeightsEntry, int, int], None]

TORCHVISION_LICENSE = License(
    name="BSD-3-Clause",
    url="https://github.com/pytorch/vision/blob/main/LICENSE",
    summary="published with torchvision",
    notice=(
        "Published by the PyTorch project with torchvision, which is under the BSD 3-Clause license. "
        "torchvision notes that pre-trained weights may carry terms of the data they were trained on "
        "(here ImageNet); check that they fit your use."
    ),
)
LPIPS_LICENSE = License(
    name="BSD-2-Clause",
    url="https://github.com/richzhang/PerceptualSimilarity/blob/master/LICENSE",
    summary="published with LPIPS",
    notice="Published with LPIPS (PerceptualSimilarity), which is under the BSD 2-Clause license.",
)

VGG16_IMAGENET = WeightsEntry(
    name="vgg16-imagenet",
    file_name="vgg16-397923af.pth",
    url_base="https://download.pytorch.org/models/",
    size=553_433_881,
    sha256="397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
    kind=NetworkKind.VGG16_IMAGENET,
    license=TORCHVISION_LICENSE,
    description="the perceptual loss's VGG16 backbone, trained on ImageNet by torchvision",
    required=True,
    keep_original=True,
)
LPIPS_VGG_LIN = WeightsEntry(
    name="lpips-vgg-lin",
    file_name="vgg.pth",
    url_base="https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/",
    size=7_289,
    sha256="a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868",
    kind=NetworkKind.LPIPS_VGG_LIN,
    license=LPIPS_LICENSE,
    description="the perceptual loss's LPIPS v0.1 layer weights",
    required=True,
    keep_original=True,
)

#: The perceptual loss's files: the backbone first, then the lin layers.
PERCEPTUAL_ENTRIES: tuple[WeightsEntry, ...] = (VGG16_IMAGENET, LPIPS_VGG_LIN)
#: What training works on: the app's files plus the perceptual loss's.
TRAINING_REGISTRY = DEFAULT_REGISTRY.with_entries(*PERCEPTUAL_ENTRIES)


def perceptual_entries(registry: Registry) -> tuple[WeightsEntry, WeightsEntry]:
    """The backbone and lin entries of ``registry`` (found by network, so a test can register stand-ins)."""
    backbone, lin = (registry.only_of_kind(kind) for kind in PERCEPTUAL_KINDS)
    return backbone, lin


def download_command() -> str:
    """The exact command that downloads every missing training weights file."""
    return f"{PROGRAM} weights download"


def import_command(entry: WeightsEntry) -> str:
    """The exact command that installs a copy of ``entry`` the user already has."""
    return f"{PROGRAM} weights import /path/to/{entry.file_name}"


def missing_message(missing: Sequence[WeightsEntry], folder: Path) -> str:
    """What is missing from ``folder``, where each file comes from, and the commands that install it."""
    files = " and ".join(
        f"{entry.file_name} ({entry.description}, {entry.size:,} bytes, license {entry.license.name}: "
        f"{entry.license.url}) from {entry.url()}"
        for entry in missing
    )
    imports = " and ".join(f"`{import_command(entry)}`" for entry in missing)
    by_hand = "it" if len(missing) == 1 else "them"
    return (
        f"the perceptual loss weights are not installed in {folder}: missing {files}. "
        f"To install them run `{download_command()}`, or download {by_hand} by hand and run {imports}"
    )


def find_perceptual_weights(folder: Path | None = None, registry: Registry = TRAINING_REGISTRY) -> tuple[Path, Path]:
    """The installed backbone and lin files, verified by size and SHA-256.

    ``WeightsMissingError`` says which are missing and how to get them; a file that is there but not the
    official one is a ``WeightsError`` saying how to replace it.
    """
    base = weights_dir(folder)
    entries = perceptual_entries(registry)
    missing = [entry for entry in entries if not installed_path(entry, base).is_file()]
    if missing:
        where = installed_path(missing[0], base) if len(missing) == 1 else base
        raise WeightsMissingError(where, missing_message(missing, base))
    for entry in entries:
        problem = original_problem(entry, installed_path(entry, base))
        if problem is not None:
            raise WeightsError(
                installed_path(entry, base),
                f"this is not the official {entry.file_name} ({problem}); run `{download_command()}` to replace "
                f"it, or `{import_command(entry)}` with the official file",
            )
    backbone, lin = (installed_path(entry, base) for entry in entries)
    return backbone, lin


def download_perceptual_weights(
    folder: Path | None = None,
    progress: EntryProgress | None = None,
    cancelled: CancelCheck | None = None,
    url_base: str | None = None,
    registry: Registry = TRAINING_REGISTRY,
) -> tuple[Path, Path]:
    """Download whatever is missing (resuming a ``.part``, checking SHA-256) and return both paths.

    A file already there and intact is not fetched again. ``url_base`` (or the app's URL environment
    variable) replaces both official addresses, for a mirror holding both files.
    """
    base = ensure_folder(weights_dir(folder))
    backbone, lin = (
        download(entry, base, url_base=url_base, progress=_progress_of(entry, progress), cancelled=cancelled)
        for entry in perceptual_entries(registry)
    )
    return backbone, lin


def import_perceptual_weights_file(
    source: Path, folder: Path | None = None, registry: Registry = TRAINING_REGISTRY
) -> Path:
    """Identify ``source`` by size and SHA-256 and copy it into the weights folder atomically.

    The user's file is only read. A file that is neither official file is refused.
    """
    _, target = import_original(source, weights_dir(folder), perceptual_entries(registry), what=IMPORT_WHAT)
    return target


def load_perceptual_loss(
    folder: Path | None = None, weight: float = 1.0, registry: Registry = TRAINING_REGISTRY
) -> PerceptualLoss:
    """The LPIPS loss built from the installed, verified files (on the CPU; move it with ``.to``)."""
    backbone, lin = find_perceptual_weights(folder, registry)
    return PerceptualLoss.from_files(backbone, lin, weight)


def _progress_of(entry: WeightsEntry, progress: EntryProgress | None) -> Callable[[int, int], None] | None:
    return None if progress is None else lambda done, total: progress(entry, done, total)
