"""Every user-facing default and choice in one place, for the command line, the window and the core alike.

Plain Python only (no numpy, PyTorch or Qt): the command line parses its options, and the window builds its
settings, from here before anything heavy is imported.
"""

from __future__ import annotations

from pathlib import Path

#: Fidelity weight w: 0 restores most strongly, 1 stays closest to the input.
DEFAULT_FIDELITY = 0.5
FIDELITY_RANGE = (0.0, 1.0)

#: Output size factors; 1 keeps every pixel away from the faces exactly as it was.
UPSCALE_FACTORS = (1, 2, 3, 4)
DEFAULT_UPSCALE = 1

#: How much of a restored face shows when pasted back: 1 all of it, 0 none (the photo as it was).
DEFAULT_BLEND = 1.0

#: Soft edge of the paste mask as a fraction of the face's size (the official 1/20).
DEFAULT_FEATHER = 1.0 / 20.0

#: Face detectors, the offline default first (its weights ship inside facenet-pytorch); then RetinaFace
#: ResNet-50 (the official CodeFormer detector) and RetinaFace MobileNet-0.25 (its light variant).
DETECTOR_NAMES = ("mtcnn", "retinaface", "retinaface-mobile")
DEFAULT_DETECTOR = DETECTOR_NAMES[0]

#: Where the networks run; ``auto`` prefers CUDA, then Apple MPS, then the CPU.
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_DEVICE = "auto"

#: What a CodeFormer network does (``model.variants.FaceTask``): its weights decide, ``--task`` checks.
TASK_CHOICES = ("restore", "colorize", "inpaint")

#: ``fast``: Winograd convolutions on the CPU (within 1e-3 of exact); ``exact``: direct convolutions only.
PRECISION_CHOICES = ("fast", "exact")
DEFAULT_PRECISION = PRECISION_CHOICES[0]

#: Pillow's names of the formats we read, and the file name endings that belong to each.
FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "PNG": (".png",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "BMP": (".bmp", ".dib"),
}
READ_FORMATS = tuple(FORMAT_SUFFIXES)
#: What ``--format`` accepts, and the Pillow format each name means.
OUTPUT_FORMATS = ("png", "jpg", "webp", "tif")
OUTPUT_FORMAT_NAMES = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF"}
#: File name endings taken as photos when a folder is given (case-insensitive).
PHOTO_SUFFIXES = frozenset(suffix for suffixes in FORMAT_SUFFIXES.values() for suffix in suffixes)

#: JPEG and WebP quality when the user asks for none and the source's own settings cannot be reused.
DEFAULT_JPEG_QUALITY = 95
DEFAULT_WEBP_QUALITY = 95
QUALITY_RANGE = range(1, 101)

#: What a result is called when the input's own name is taken (``photo-restored.png``, ``-restored-2`` ...).
RESTORED_TAG = "-restored"


def format_name(fmt: str) -> str:
    """The Pillow format name for an output format given by the user (``jpg`` -> ``JPEG``)."""
    try:
        return OUTPUT_FORMAT_NAMES[fmt.lower().lstrip(".")]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}") from None


def is_photo_name(path: Path) -> bool:
    """A file name we take for a photo when scanning folders (hidden files never are)."""
    return path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith(".")
