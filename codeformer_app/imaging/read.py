"""Reading a photo file into upright BGR pixels, its alpha, and the metadata to write back.

Pillow identifies the file and reads the header (size, mode, tags, profiles); the size is checked from the
header before any pixel is decoded. Each format's decoder is in ``decode.py``; here the pixels are turned
upright and the metadata put together for writing back.
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from .decode import DECODE_ERRORS, DECODERS, TIFF_SIGNATURES, Meta, Pixels, Truncated, Unsupported
from .errors import ImageReadError
from .exif import (
    ExifFormatError,
    exif_for_result,
    exif_orientation,
    with_exif_header,
    xmp_with_upright_orientation,
)
from .orientation import ORIENTATIONS, SWAPS_AXES, UPRIGHT, apply_orientation
from .photo import READ_FORMATS, Photo, PhotoInfo

#: Refuse images with more pixels than this unless the caller allows more: 200 MP is beyond any camera
#: or A3 scan at 1200 dpi, and decoding it takes ~600 MB (8-bit) or ~1.2 GB (16-bit) before any processing.
DEFAULT_MAX_PIXELS = 200_000_000
#: Refuse images narrower or lower than this: no face in them could be found or restored.
MIN_SIDE = 16

# Pillow has its own process-wide decompression-bomb guard (a warning above 89 MP, an error above 179 MP,
# raised inside Image.open). ``read_photo`` is the one guard of this app: it applies ``max_pixels``, which
# the caller may set, to every format, from the header, before decoding. Pillow's guard would apply a
# different number and only on some paths, so it is switched off here, once, where the replacement lives.
Image.MAX_IMAGE_PIXELS = None

#: Pillow formats read as another one: MPO is a JPEG with extra images appended (phones, 3D cameras).
_FORMAT_ALIASES = {"MPO": "JPEG"}
_O_BINARY = getattr(os, "O_BINARY", 0)
_TRUNCATED = "the file is incomplete (truncated): the image data ends early"


def read_photo(path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = MIN_SIDE) -> Photo:
    """Read ``path``: upright pixels, alpha and metadata. Raises ImageReadError naming the file and the reason.

    The file is only ever opened for reading, once.
    """
    path = Path(path)
    _check_regular_file(path)
    try:
        fd = os.open(path, os.O_RDONLY | _O_BINARY)
    except OSError as error:
        raise ImageReadError(path, _describe_open_error(error)) from None
    with os.fdopen(fd, "rb") as file:
        try:
            image = Image.open(file)
        except UnidentifiedImageError:
            raise ImageReadError(path, _TRUNCATED if _riff_cut_short(file) else _unidentified_reason(file)) from None
        except DECODE_ERRORS as error:
            reason = _TRUNCATED if _riff_cut_short(file) else f"the image header is damaged ({error})"
            raise ImageReadError(path, reason) from None
        with image:
            return _read_opened(path, file, image, max_pixels, min_side)


def _check_regular_file(path: Path) -> None:
    try:
        status = path.stat()
    except OSError as error:
        raise ImageReadError(path, _describe_open_error(error)) from None
    if stat.S_ISDIR(status.st_mode):
        raise ImageReadError(path, "this is a folder, not an image file")
    if not stat.S_ISREG(status.st_mode):
        raise ImageReadError(path, "not a regular file (a device, pipe or socket)")
    if status.st_size == 0:
        raise ImageReadError(path, "the file is empty (0 bytes)")


def _riff_cut_short(file: BinaryIO) -> bool:
    """A RIFF file (WebP) shorter than its header says: Pillow cannot even open it, so tell why."""
    file.seek(0)
    head = file.read(8)
    if len(head) < 8 or not head.startswith(b"RIFF"):
        return False
    file.seek(0, os.SEEK_END)
    return file.tell() < 8 + struct.unpack_from("<I", head, 4)[0]


def _unidentified_reason(file: BinaryIO) -> str:
    file.seek(0)
    if file.read(4) in TIFF_SIGNATURES:
        return "a TIFF whose pixel layout this app cannot read (for example 16-bit grey with alpha)"
    return "not an image file, or an image format this app cannot read"


def _describe_open_error(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "the file does not exist"
    if isinstance(error, IsADirectoryError):
        return "this is a folder, not an image file"
    if isinstance(error, PermissionError):
        return "permission denied: the file cannot be read"
    return f"the file cannot be read ({error.strerror or error})"


def _read_opened(path: Path, file: BinaryIO, image: Image.Image, max_pixels: int, min_side: int) -> Photo:
    fmt = _FORMAT_ALIASES.get(image.format or "", image.format or "")
    if fmt not in READ_FORMATS:
        supported = ", ".join(READ_FORMATS)
        raise ImageReadError(path, f"{image.format} images are not supported (supported: {supported})")
    width, height = image.size
    if width * height > max_pixels:
        raise ImageReadError(
            path,
            f"too many pixels: {width} x {height} = {width * height:,} pixels, more than the limit of "
            f"{max_pixels:,} (a decompression bomb or a scan too large to process)",
        )
    if min(width, height) < min_side:
        raise ImageReadError(path, f"too small: {width} x {height} pixels; at least {min_side} on each side needed")
    try:
        pixels, meta = DECODERS[fmt](file, image)
    except MemoryError:
        raise ImageReadError(path, f"not enough memory to decode {width} x {height} pixels") from None
    except (Truncated, *DECODE_ERRORS) as error:
        raise ImageReadError(path, _describe_decode_error(error)) from None
    except Unsupported as error:
        raise ImageReadError(path, str(error)) from None
    return _assemble(path, fmt, pixels, meta)


def _describe_decode_error(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, Truncated) or "truncated" in text.lower():
        return _TRUNCATED
    return f"the image data is damaged ({text or type(error).__name__})"


# --- putting it together --------------------------------------------------------------------------------------


def _assemble(path: Path, fmt: str, pixels: Pixels, meta: Meta) -> Photo:
    notes = [*pixels.notes, *meta.notes]
    exif, orientation = _exif_and_orientation(meta, notes)
    xmp = meta.xmp
    if orientation != UPRIGHT and xmp:
        xmp = xmp_with_upright_orientation(xmp)
    icc_profile = meta.icc_profile
    if icc_profile and pixels.cmyk:
        notes.append("CMYK converted to RGB; its CMYK colour profile was dropped (it cannot describe RGB data)")
        icc_profile = None
    elif pixels.cmyk:
        notes.append("CMYK converted to RGB")
    color = _read_only(apply_orientation(pixels.color, orientation))
    alpha = None if pixels.alpha is None else _read_only(apply_orientation(pixels.alpha, orientation))
    height, width = color.shape[:2]
    info = PhotoInfo(
        path=path,
        format=fmt,
        width=width,
        height=height,
        bit_depth=8 if color.dtype == np.uint8 else 16,
        grey=pixels.grey,
        cmyk=pixels.cmyk,
        orientation=orientation,
        exif=exif,
        icc_profile=icc_profile or None,
        dpi=_upright_dpi(meta.dpi, orientation),
        xmp=xmp or None,
        jpeg=meta.jpeg,
        tiff=meta.tiff,
        png_chunks=meta.png_chunks,
        webp_lossless=meta.webp_lossless,
        notes=tuple(notes),
    )
    return Photo(color=color, alpha=alpha, info=info)


def _exif_and_orientation(meta: Meta, notes: list[str]) -> tuple[bytes | None, int]:
    """The EXIF to keep and the orientation to apply. Damaged EXIF is kept unchanged and not applied,
    so the result looks the way the source looked in viewers that could not read it either."""
    exif = with_exif_header(meta.exif) if meta.exif else None
    if meta.orientation_from_tags is not None:  # TIFF: the file's own tag; its EXIF has no Orientation
        orientation = meta.orientation_from_tags
    elif exif is None:
        return None, UPRIGHT
    else:
        try:
            orientation = exif_orientation(exif)
        except ExifFormatError as error:
            notes.append(f"the EXIF block is damaged ({error}); kept unchanged and its orientation not applied")
            return exif, UPRIGHT
    if orientation not in ORIENTATIONS:
        notes.append(f"unknown EXIF orientation {orientation} ignored")
        orientation = UPRIGHT
    if exif is not None and meta.orientation_from_tags is None:
        exif = exif_for_result(exif)
    return exif, orientation


def _upright_dpi(dpi: tuple[float, float] | None, orientation: int) -> tuple[float, float] | None:
    if dpi is None:
        return None
    return (dpi[1], dpi[0]) if orientation in SWAPS_AXES else dpi


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array
