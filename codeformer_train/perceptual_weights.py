"""The two files the LPIPS perceptual loss needs, fetched, imported and checked with the app's weights machinery.

They are for training only, so they are not in the app's ``REGISTRY``: the app's model manager lists what
restoring photos needs, nothing else. Unlike the app's files they are kept as the original ``.pth`` (no
``.safetensors`` conversion): they are verified by size and SHA-256 whenever they are looked up, and read
only with ``torch.load(weights_only=True)``. They live in the app's weights folder by default, next to the
app's files, under their official names. The entries are plain data: nothing is fetched at import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

from codeformer_app.errors import WeightsError
from codeformer_app.weights.download import CancelCheck, download
from codeformer_app.weights.files import HASH_CHUNK_BYTES, sha256_file, write_atomically
from codeformer_app.weights.paths import download_path, ensure_folder, weights_dir
from codeformer_app.weights.registry import License, NetworkKind, WeightsEntry
from codeformer_app.weights.resolve import WeightsMissingError

from .perceptual import PerceptualLoss

#: Command name shown in instructions (the training CLI).
PROGRAM = "codeformer-train"

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
)

#: The perceptual loss's files: the backbone first, then the lin layers; every function here returns paths
#: in this order. Read at call time, so tests can swap in entries for small generated files.
TRAINING_WEIGHTS: tuple[WeightsEntry, ...] = (VGG16_IMAGENET, LPIPS_VGG_LIN)


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


def find_perceptual_weights(folder: Path | None = None) -> tuple[Path, Path]:
    """The installed backbone and lin files, verified by size and SHA-256.

    ``WeightsMissingError`` says which are missing and how to get them; a file that is there but not the
    official one is a ``WeightsError`` saying how to replace it.
    """
    base = weights_dir(folder)
    paths = [download_path(entry, base) for entry in TRAINING_WEIGHTS]
    missing = [entry for entry, path in zip(TRAINING_WEIGHTS, paths, strict=True) if not path.is_file()]
    if missing:
        where = download_path(missing[0], base) if len(missing) == 1 else base
        raise WeightsMissingError(where, missing_message(missing, base))
    for entry, path in zip(TRAINING_WEIGHTS, paths, strict=True):
        _verify(entry, path)
    backbone, lin = paths
    return backbone, lin


def download_perceptual_weights(
    folder: Path | None = None,
    progress: EntryProgress | None = None,
    cancelled: CancelCheck | None = None,
    url_base: str | None = None,
) -> tuple[Path, Path]:
    """Download whatever is missing (resuming a ``.part``, checking SHA-256) and return both paths.

    A file already there and intact is not fetched again. ``url_base`` (or the app's URL environment
    variable) replaces both official addresses, for a mirror holding both files.
    """
    base = ensure_folder(weights_dir(folder))
    paths = []
    for entry in TRAINING_WEIGHTS:
        report = None if progress is None else _progress_of(entry, progress)
        paths.append(download(entry, base, url_base=url_base, progress=report, cancelled=cancelled))
    backbone, lin = paths
    return backbone, lin


def import_perceptual_weights_file(source: Path, folder: Path | None = None) -> Path:
    """Identify ``source`` by size and SHA-256 and copy it into the weights folder atomically.

    The user's file is only read. A file that is neither official file is refused.
    """
    source = Path(source)
    if source.is_dir():
        raise WeightsError(source, "this is a folder, not a weights file")
    if not source.is_file():
        raise WeightsError(source, "file not found")
    size = source.stat().st_size
    same_size = [entry for entry in TRAINING_WEIGHTS if entry.size == size]
    if not same_size:
        raise WeightsError(source, _unknown_file_reason(f"its size ({size:,} bytes)"))
    digest = _read_sha256(source)
    entry = next((entry for entry in same_size if entry.sha256 == digest), None)
    if entry is None:
        raise WeightsError(source, _unknown_file_reason(f"its SHA-256 ({digest})"))
    base = ensure_folder(weights_dir(folder))
    target = download_path(entry, base)
    if target.is_file() and target.resolve() == source.resolve():
        return target
    try:
        write_atomically(target, lambda temp: _copy_checked(source, temp, entry))
    except OSError as error:
        raise WeightsError(target, f"could not copy {source} here ({error})") from None
    return target


def load_perceptual_loss(folder: Path | None = None, weight: float = 1.0) -> PerceptualLoss:
    """The LPIPS loss built from the installed, verified files (on the CPU; move it with ``.to``)."""
    backbone, lin = find_perceptual_weights(folder)
    return PerceptualLoss.from_files(backbone, lin, weight)


def _verify(entry: WeightsEntry, path: Path) -> None:
    size = path.stat().st_size
    if size != entry.size:
        found = f"{size:,} bytes, expected {entry.size:,}"
    else:
        digest = _read_sha256(path)
        if digest == entry.sha256:
            return
        found = f"SHA-256 {digest}, expected {entry.sha256}"
    raise WeightsError(
        path,
        f"this is not the official {entry.file_name} ({found}); run `{download_command()}` to replace it, "
        f"or `{import_command(entry)}` with the official file",
    )


def _read_sha256(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError as error:
        raise WeightsError(path, f"cannot read the file ({error.strerror or error})") from None


def _unknown_file_reason(what: str) -> str:
    expected = " or ".join(
        f"{entry.file_name} ({entry.size:,} bytes, SHA-256 {entry.sha256})" for entry in TRAINING_WEIGHTS
    )
    return f"not a perceptual loss weights file: {what} matches neither official file; expected {expected}"


def _copy_checked(source: Path, temp: Path, entry: WeightsEntry) -> None:
    """Copy while hashing what is written, so a file changed since it was identified is not installed."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(temp, "wb") as writer:
        while chunk := reader.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            writer.write(chunk)
    if digest.hexdigest() != entry.sha256:
        raise WeightsError(source, "the file changed while it was being copied; nothing was installed, try again")


def _progress_of(entry: WeightsEntry, progress: EntryProgress) -> Callable[[int, int], None]:
    return lambda done, total: progress(entry, done, total)
