"""A folder of aligned faces, served as one batch per training step, reproducible from the seed and the step.

Every random choice for step ``s`` (which faces, which are flipped, how each is degraded) is drawn from
``numpy.random.default_rng([seed, s])``. A run resumed at step ``s`` therefore sees exactly the batches an
uninterrupted run would, with any number of loader workers, and no worker seeding is involved. The price:
faces are drawn per step rather than in shuffled epochs, so over a short run some faces are seen more often
than others (over many steps the counts even out).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

from .degradations import DegradationRanges, degrade, sample_degradation
from .errors import TrainingError

#: File types read as training faces (compared case-insensitively).
log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
#: An error lists at most this many bad files by name, then how many more there are.
MAX_LISTED_FILES = 10
#: Horizontal flips happen with this probability (the official ``use_hflip``).
FLIP_PROBABILITY = 0.5
#: How many unreadable faces in a row one batch slot may replace before the run stops.
MAX_REPLACEMENTS = 8
#: Largest value of each integer pixel type, to bring pixels to [0, 1].
_PIXEL_MAXIMA = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_GREY_CHANNELS = 1
_COLOUR_CHANNELS = 3
_COLOUR_ALPHA_CHANNELS = 4
#: What Pillow raises for a file it cannot identify or whose header is damaged.
_HEADER_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


class TrainingDataError(TrainingError):
    """A training folder or face file is missing, unreadable, or not an aligned (square) face."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(path, reason)


def _is_face_file(path: Path) -> bool:
    # Hidden files are skipped: macOS writes "._name.png" companions that are not images.
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()


def _header_problem(path: Path) -> str | None:
    """Why the file cannot be a training face, judged from its header alone, or None if it looks fine."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except _HEADER_ERRORS as error:
        return f"not a readable image ({error})"
    if width != height:
        return f"{width}x{height} is not square (aligned faces are square)"
    return None


def list_faces(folder: Path) -> list[Path]:
    """The face images under ``folder`` (sub-folders included, like FFHQ's ``00000/`` chunks), sorted.

    Sorted by the path inside ``folder`` as text, so the order (and so every batch) is the same on every
    system. Every file's header is checked here, so a broken or non-square file stops training before it starts,
    not hours in; all such files are reported in one error.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(folder, "the training folder does not exist (or is not a folder)")
    files = sorted(
        (path for path in folder.rglob("*") if _is_face_file(path)), key=lambda p: p.relative_to(folder).as_posix()
    )
    if not files:
        raise TrainingDataError(folder, f"holds no face images (looked for {', '.join(IMAGE_SUFFIXES)})")
    problems = [(path, reason) for path in files if (reason := _header_problem(path)) is not None]
    if problems:
        lines = [f"  {path.relative_to(folder)}: {reason}" for path, reason in problems[:MAX_LISTED_FILES]]
        if len(problems) > MAX_LISTED_FILES:
            lines.append(f"  ... and {len(problems) - MAX_LISTED_FILES} more")
        count = f"{len(problems)} of {len(files)} image files"
        raise TrainingDataError(folder, f"{count} cannot be used as training faces:\n" + "\n".join(lines))
    return files


def _as_bgr(pixels: np.ndarray, path: Path) -> np.ndarray:
    """Greyscale becomes three equal channels; alpha is dropped (aligned faces are opaque crops)."""
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels == _GREY_CHANNELS:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    if channels == _COLOUR_CHANNELS:
        return pixels
    if channels == _COLOUR_ALPHA_CHANNELS:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    raise TrainingDataError(path, f"has {channels} channels; a face needs 1 (grey), 3 (colour) or 4 (with alpha)")


def read_face(path: Path, size: int) -> np.ndarray:
    """The face in ``path`` as float32 BGR ``size`` x ``size`` x 3 in [0, 1].

    Shrinking averages areas (no aliasing); enlarging is bilinear. 8- and 16-bit files are accepted. EXIF
    orientation is not applied: aligned faces are stored upright, as FFHQ's are.
    """
    path = Path(path)
    try:
        encoded = np.fromfile(path, dtype=np.uint8)  # cv2.imread cannot open non-ASCII paths on Windows
    except OSError as error:
        raise TrainingDataError(path, f"cannot be read ({error.strerror or error})") from error
    pixels = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED) if encoded.size else None
    if pixels is None:
        raise TrainingDataError(path, "is not an image OpenCV can decode (empty, damaged, or another format)")
    maximum = _PIXEL_MAXIMA.get(pixels.dtype)
    if maximum is None:
        raise TrainingDataError(path, f"has {pixels.dtype} pixels; training faces must be 8- or 16-bit")
    height, width = pixels.shape[:2]
    if height != width:
        raise TrainingDataError(path, f"is {width}x{height}, not square; training faces must be aligned square crops")
    face = _as_bgr(pixels, path).astype(np.float32) / np.float32(maximum)
    if height != size:
        interpolation = cv2.INTER_AREA if height > size else cv2.INTER_LINEAR
        face = cv2.resize(face, (size, size), interpolation=interpolation)
    return np.ascontiguousarray(face)


@dataclass(frozen=True)
class Batch:
    """The faces for one training step: RGB, ``(B, 3, S, S)`` float32 in [-1, 1] (the official mean/std 0.5)."""

    gt: torch.Tensor
    #: The degraded inputs, or None when the stage trains on clean faces (stage I).
    lq: torch.Tensor | None
    step: int


def _to_network(faces: list[np.ndarray]) -> torch.Tensor:
    """BGR ``S x S x 3`` faces in [0, 1] -> one RGB ``(B, 3, S, S)`` tensor in [-1, 1]."""
    stacked = np.stack(faces)[..., ::-1].transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(stacked) * np.float32(2.0) - np.float32(1.0))


class StepBatches(Dataset):
    """Item ``k`` is the batch of training step ``first_step + k``; ``len`` is ``last_step - first_step``."""

    def __init__(
        self,
        files: Sequence[Path],
        img_size: int,
        batch_size: int,
        seed: int,
        degradation: DegradationRanges | None,
        *,
        last_step: int,
        hflip: bool = True,
        first_step: int = 0,
    ) -> None:
        if not files:
            raise ValueError("StepBatches needs at least one face file")
        for name, value, minimum in (("img_size", img_size, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
            if value < minimum:
                raise ValueError(f"{name} must be at least {minimum}, got {value}")
        if not 0 <= first_step <= last_step:
            raise ValueError(f"need 0 <= first_step <= last_step, got first_step={first_step}, last_step={last_step}")
        self.files = tuple(Path(path) for path in files)
        self.img_size = img_size
        self.batch_size = batch_size
        self.seed = seed
        self.degradation = degradation
        self.hflip = hflip
        self.first_step = first_step
        self.last_step = last_step

    def __len__(self) -> int:
        return self.last_step - self.first_step

    def __getitem__(self, index: int) -> Batch:
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} is outside steps {self.first_step}..{self.last_step - 1}")
        return self.batch_for_step(self.first_step + index)

    def batch_for_step(self, step: int) -> Batch:
        """The batch of ``step``: a function of the files, the settings, the seed and the step, nothing else."""
        rng = np.random.default_rng([self.seed, step])
        # Without replacement whenever possible, so no face appears twice in one batch.
        chosen = rng.choice(len(self.files), size=self.batch_size, replace=len(self.files) < self.batch_size)
        slots = rng.spawn(self.batch_size)  # one child generator per slot: slots do not shift each other's draws
        clean: list[np.ndarray] = []
        degraded: list[np.ndarray] = []
        for index, slot in zip(chosen, slots, strict=True):
            face = self._read_or_replace(int(index), slot)
            flip = slot.random() < FLIP_PROBABILITY  # drawn even without hflip: switching it keeps the degradations
            if self.hflip and flip:
                face = np.ascontiguousarray(face[:, ::-1])
            clean.append(face)
            if self.degradation is not None:
                params = sample_degradation(self.degradation, slot)
                degraded.append(degrade(face, params, self.degradation.kernel_size))
        lq = _to_network(degraded) if self.degradation is not None else None
        return Batch(gt=_to_network(clean), lq=lq, step=step)

    def _read_or_replace(self, index: int, slot: np.random.Generator) -> np.ndarray:
        """Read face ``index``; a file that fails now (damaged after its header) is logged and replaced by
        another drawn from the slot's generator, so a resumed run does not fail at the same step forever."""
        for _ in range(MAX_REPLACEMENTS):
            try:
                return read_face(self.files[index], self.img_size)
            except TrainingDataError as error:
                log.warning("skipping a face that cannot be read: %s", error)
                index = int(slot.integers(len(self.files)))
        raise TrainingDataError(self.files[index], f"{MAX_REPLACEMENTS} faces in a row could not be read")


def batch_loader(dataset: StepBatches, num_workers: int) -> DataLoader:
    """Batches in step order, prepared by ``num_workers`` background processes (0: in this process).

    No ``worker_init_fn`` limits OpenCV's threads: ``cv2.setNumThreads`` in a forked worker waits forever on
    the thread pool inherited from the parent (seen with OpenCV 5.0 on Linux).
    """
    if num_workers < 0:
        raise ValueError(f"num_workers must not be negative, got {num_workers}")
    return DataLoader(
        dataset,
        batch_size=None,  # each item is already a batch
        shuffle=False,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        pin_memory=False,
    )
