"""Decoding each photo format into BGR pixels and the metadata to carry over (``read.py`` checks the file
and the size first, and turns the result upright).

Pillow decodes 8-bit images and reads the tags; OpenCV decodes 16-bit PNG and TIFF, which Pillow would cut to
8 bits. TIFF is decoded from a copy whose Orientation tag says "upright", so that every decoder gives the stored
pixels.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import BinaryIO

import cv2
import numpy as np
import tifffile
from PIL import Image, JpegImagePlugin

from . import png_chunks
from .exif import ExifFormatError, reset_tiff_orientation, with_exif_header
from .metadata import TIFF_IPTC_TAG, TIFF_XMP_TAG, descriptive_exif, estimate_jpeg_quality
from .orientation import ORIENTATION_TAG, UPRIGHT
from .photo import JpegDetails, PngChunk, TiffDetails

#: What Pillow raises for damaged data (besides its own subclasses of these).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)
#: Where a TIFF's pixel data lives: strips or tiles, offsets and byte counts.
_TIFF_DATA_TAGS = ((273, 279), (324, 325))
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both byte orders
_TIFF_PHOTOMETRIC_TAG = 262
_TIFF_BITS_TAG = 258
_TIFF_SAMPLE_FORMAT_TAG = 339
_TIFF_GREY_PHOTOMETRICS = (0, 1)  # WhiteIsZero, BlackIsZero
_TIFF_SEPARATED = 5  # CMYK
_TIFF_UINT_FORMAT = 1
_PNG_GREY_TYPES = (0, 4)
#: JFIF density units (1 inch, 2 cm) and EXIF ResolutionUnit values (2 inch, 3 cm) as inches per unit.
_UNIT_TO_INCH = {1: 1.0, 2: 2.54}
_EXIF_UNIT_TO_INCH = {2: 1.0, 3: 2.54}
_X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 0x011A, 0x011B, 0x0128
_SIXTEEN = 16
#: Pillow modes converted before use, with the mode they become.
_PILLOW_CONVERSIONS = {"1": "L", "RGBX": "RGB", "YCbCr": "RGB", "CMYK": "RGB", "RGBa": "RGBA", "La": "LA", "PA": "RGBA"}
_GREY_16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


@dataclass
class Pixels:
    """Decoded pixels before orientation: BGR (or grey) colour and optional alpha."""

    color: np.ndarray  # (H, W, 3) BGR
    alpha: np.ndarray | None
    grey: bool
    cmyk: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Meta:
    """Metadata gathered from the file, before orientation is reset."""

    exif: bytes | None = None
    orientation_from_tags: int | None = None  # TIFF: the file's own Orientation tag
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    xmp: bytes | None = None
    jpeg: JpegDetails | None = None
    tiff: TiffDetails | None = None
    png_chunks: tuple[PngChunk, ...] = ()
    webp_lossless: bool = False
    notes: list[str] = field(default_factory=list)


class Unsupported(Exception):
    """A well-formed file of a kind we do not handle (32-bit float TIFF, 16-bit CMYK ...)."""


class Truncated(Exception):
    """The file ends before its image data does."""


# --- pixels -------------------------------------------------------------------------------------------------


def _pixels_from_pillow(image: Image.Image) -> Pixels:
    """Decode with Pillow and split into BGR colour and alpha (palettes, 1-bit and CMYK converted)."""
    image.load()
    notes = []
    source_mode = image.mode
    cmyk = source_mode == "CMYK"
    if source_mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
        notes.append(f"palette colours expanded: written back as {target}")
        image = image.convert(target)
    elif source_mode in _PILLOW_CONVERSIONS:
        image = image.convert(_PILLOW_CONVERSIONS[source_mode])
        if source_mode in ("RGBa", "La"):
            notes.append("premultiplied alpha converted to straight alpha")
    mode = image.mode
    array = np.asarray(image)
    if mode in _GREY_16_MODES:
        grey = array.astype(np.uint16)
        return Pixels(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), None, grey=True, notes=notes)
    if mode == "L":
        return Pixels(cv2.cvtColor(array, cv2.COLOR_GRAY2BGR), None, grey=True, notes=notes)
    if mode == "LA":
        alpha = np.ascontiguousarray(array[..., 1])
        return Pixels(cv2.cvtColor(array[..., 0], cv2.COLOR_GRAY2BGR), alpha, grey=True, notes=notes)
    if mode == "RGB":
        return Pixels(cv2.cvtColor(array, cv2.COLOR_RGB2BGR), None, grey=False, cmyk=cmyk, notes=notes)
    if mode == "RGBA":
        alpha = np.ascontiguousarray(array[..., 3])
        return Pixels(cv2.cvtColor(array, cv2.COLOR_RGBA2BGR), alpha, grey=False, notes=notes)
    raise Unsupported(f"images in Pillow mode {source_mode!r} are not supported")


def _pixels_from_opencv(data: bytes | bytearray, grey: bool, size: tuple[int, int]) -> Pixels:
    """Decode 16-bit PNG/TIFF with OpenCV (the caller removed what OpenCV would use to turn them)."""
    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ValueError("OpenCV could not decode it")
    if array.shape[1::-1] != size:
        raise ValueError(f"decoded {array.shape[1]} x {array.shape[0]} pixels; the header says {size[0]} x {size[1]}")
    if array.dtype != np.uint16:
        raise Unsupported(f"{array.dtype} samples are not supported")
    if array.ndim == 2:
        return Pixels(cv2.cvtColor(array, cv2.COLOR_GRAY2BGR), None, grey=True)
    if array.shape[2] == 3:
        return Pixels(array, None, grey=grey)
    if array.shape[2] == 4:
        return Pixels(np.ascontiguousarray(array[..., :3]), np.ascontiguousarray(array[..., 3]), grey=grey)
    raise Unsupported(f"images with {array.shape[2]} channels are not supported")


# --- per format -----------------------------------------------------------------------------------------------


def _read_all(file: BinaryIO) -> bytes:
    file.seek(0)
    return file.read()


def _decode_jpeg(file: BinaryIO, image: Image.Image) -> tuple[Pixels, Meta]:
    quantization = getattr(image, "quantization", None) or {}
    qtables = tuple(tuple(quantization[key]) for key in sorted(quantization))
    app13 = tuple(
        b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload
        for marker, payload in getattr(image, "applist", [])
        if marker == "APP13"
    )
    meta = Meta(
        exif=image.info.get("exif"),
        icc_profile=image.info.get("icc_profile"),
        dpi=_jpeg_dpi(image),
        xmp=image.info.get("xmp"),
        jpeg=JpegDetails(
            quality=estimate_jpeg_quality(qtables[0]) if qtables else None,
            qtables=qtables,
            subsampling=JpegImagePlugin.get_sampling(image),
            progressive=bool(image.info.get("progressive") or image.info.get("progression")),
            comment=image.info.get("comment"),
            app13=app13,
        ),
    )
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        meta.notes.append(f"the file holds {frames} images (MPO); only the first is kept")
    return _pixels_from_pillow(image), meta


def _decode_png(file: BinaryIO, image: Image.Image) -> tuple[Pixels, Meta]:
    data = _read_all(file)
    ihdr = png_chunks.read_ihdr(data)
    if ihdr.bit_depth == _SIXTEEN:
        if not png_chunks.is_complete(data):
            raise Truncated()
        # OpenCV ignores eXIf when decoding today; removing it makes sure it never turns the pixels itself.
        pixels = _pixels_from_opencv(
            png_chunks.without_chunks(data, {b"eXIf"}), ihdr.colour_type in _PNG_GREY_TYPES, (ihdr.width, ihdr.height)
        )
    else:
        pixels = _pixels_from_pillow(image)
    try:
        chunks = png_chunks.carried_chunks(data)
        exif = png_chunks.first_chunk(data, b"eXIf")
    except png_chunks.PngFormatError as error:
        raise ValueError(f"its chunk list is damaged: {error}") from None
    notes = []
    try:
        xmp = png_chunks.xmp_from_chunks(data)
    except (ValueError, IndexError, zlib.error) as error:
        notes.append(f"the XMP chunk is damaged ({error or type(error).__name__}); not kept")
        xmp = None
    frames = getattr(image, "n_frames", 1)
    meta = Meta(
        notes=notes,
        exif=exif,
        icc_profile=image.info.get("icc_profile"),
        dpi=_dpi(image),
        xmp=xmp,
        png_chunks=chunks,
    )
    if frames > 1:
        meta.notes.append(f"the file is an animation of {frames} frames; only the first is kept")
    return pixels, meta


def _decode_webp(file: BinaryIO, image: Image.Image) -> tuple[Pixels, Meta]:
    data = _read_all(file)
    meta = Meta(
        exif=image.info.get("exif"),
        icc_profile=image.info.get("icc_profile"),
        xmp=image.info.get("xmp"),
        webp_lossless=_webp_is_lossless(data),
    )
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        meta.notes.append(f"the file is an animation of {frames} frames; only the first is kept")
    return _pixels_from_pillow(image), meta


def _webp_is_lossless(data: bytes) -> bool:
    """True when the (first) image of a WebP file is VP8L, the lossless codec (RIFF chunk walk)."""
    position = 12  # "RIFF", size, "WEBP"
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        (size,) = struct.unpack_from("<I", data, position + 4)
        if kind == b"VP8L":
            return True
        if kind in (b"VP8 ", b"ANMF"):
            return False
        position += 8 + size + (size & 1)
    return False


def _decode_tiff(file: BinaryIO, image: Image.Image) -> tuple[Pixels, Meta]:
    """TIFF pixels are decoded from a copy whose Orientation tag says "upright", then turned here.

    Decoders disagree about TIFF orientation: OpenCV turns the pixels by the tag even when told not to, and
    Pillow 13 does it on load while older Pillow did not. With the tag neutralised every decoder gives the
    stored pixels, and they are turned the same way as every other format's.
    """
    orientation = image.tag_v2.get(ORIENTATION_TAG, UPRIGHT)  # read at open, before any decoder acts on it
    data = bytearray(_read_all(file))
    _reset_tiff_orientation_for_decoder(data)
    with Image.open(io.BytesIO(data)) as stored:
        pixels, meta = _decode_stored_tiff(stored, data)
    meta.orientation_from_tags = orientation
    return pixels, meta


def _decode_stored_tiff(image: Image.Image, data: bytearray) -> tuple[Pixels, Meta]:
    tags = image.tag_v2
    bits = tags.get(_TIFF_BITS_TAG, (1,))
    bits = (bits,) if isinstance(bits, int) else tuple(bits)
    sample_format = tags.get(_TIFF_SAMPLE_FORMAT_TAG, (_TIFF_UINT_FORMAT,))
    sample_format = (sample_format,) if isinstance(sample_format, int) else tuple(sample_format)
    if any(value != _TIFF_UINT_FORMAT for value in sample_format) or max(bits) > _SIXTEEN:
        raise Unsupported(f"{max(bits)}-bit signed or floating-point TIFF images are not supported")
    photometric = tags.get(_TIFF_PHOTOMETRIC_TAG)
    if _tiff_data_end(tags) > len(data):
        raise Truncated()
    if max(bits) == _SIXTEEN:
        if photometric == _TIFF_SEPARATED:
            raise Unsupported("16-bit CMYK TIFF images are not supported")
        pixels = _pixels_from_opencv(data, photometric in _TIFF_GREY_PHOTOMETRICS, image.size)
    else:
        pixels = _pixels_from_pillow(image)
    notes = []
    iptc = None
    if TIFF_IPTC_TAG in tags:
        try:
            iptc = _tiff_iptc(data)
        except (ValueError, OSError, struct.error) as error:  # tifffile.TiffFileError is a ValueError
            notes.append(f"the IPTC block could not be read ({error}); not kept")
    xmp = tags.get(TIFF_XMP_TAG)
    meta = Meta(
        notes=notes,
        exif=_tiff_exif(image),
        icc_profile=image.info.get("icc_profile"),
        dpi=_dpi(image),
        xmp=bytes(xmp) if xmp is not None else None,
        tiff=TiffDetails(compression=image.info.get("compression", "raw"), iptc=iptc),
    )
    pages = getattr(image, "n_frames", 1)
    if pages > 1:
        meta.notes.append(f"the file holds {pages} pages; only the first is kept")
    return pixels, meta


def _tiff_iptc(data: bytearray) -> bytes | None:
    """The IPTC block as stored. Photoshop types the tag LONG, and Pillow then gives only its first number;
    tifffile returns the bytes whatever the type."""
    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        tag = tiff.pages.first.tags.get(TIFF_IPTC_TAG)
        return None if tag is None else bytes(tag.value)


def _tiff_data_end(tags) -> int:
    """Where the last strip or tile of the first page ends: past the end of the file means it was cut short."""
    end = 0
    for offsets_tag, counts_tag in _TIFF_DATA_TAGS:
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = (offsets,) if isinstance(offsets, int) else offsets
        counts = (counts,) if isinstance(counts, int) else counts
        end = max([end, *(offset + count for offset, count in zip(offsets, counts, strict=False))])
    return end


def _reset_tiff_orientation_for_decoder(data: bytearray) -> None:
    try:
        reset_tiff_orientation(data)
    except ExifFormatError as error:
        raise ValueError(f"its header is damaged: {error}") from None


def _tiff_exif(image: Image.Image) -> bytes | None:
    """The TIFF's descriptive tags, EXIF and GPS IFDs as an EXIF block for other formats (no layout tags)."""
    exif = descriptive_exif(image.getexif())
    return None if exif is None else with_exif_header(exif.tobytes())


def _decode_bmp(file: BinaryIO, image: Image.Image) -> tuple[Pixels, Meta]:
    return _pixels_from_pillow(image), Meta(dpi=_dpi(image))


DECODERS = {
    "JPEG": _decode_jpeg,
    "PNG": _decode_png,
    "WEBP": _decode_webp,
    "TIFF": _decode_tiff,
    "BMP": _decode_bmp,
}


def _jpeg_dpi(image: Image.Image) -> tuple[float, float] | None:
    """DPI the JPEG really declares: JFIF density in inches or centimetres, else EXIF X/YResolution.

    Not Pillow's ``info["dpi"]``, which says 72 for a file with EXIF but no resolution anywhere.
    """
    unit, density = image.info.get("jfif_unit"), image.info.get("jfif_density")
    if unit in _UNIT_TO_INCH and density and all(density):
        return density[0] * _UNIT_TO_INCH[unit], density[1] * _UNIT_TO_INCH[unit]
    try:
        exif = image.getexif()
        x, y, exif_unit = exif.get(_X_RESOLUTION), exif.get(_Y_RESOLUTION), exif.get(_RESOLUTION_UNIT, 2)
        if not x or exif_unit not in _EXIF_UNIT_TO_INCH:
            return None
        y = y or x
        return float(x) * _EXIF_UNIT_TO_INCH[exif_unit], float(y) * _EXIF_UNIT_TO_INCH[exif_unit]
    except (*DECODE_ERRORS, TypeError, ZeroDivisionError):
        return None  # damaged EXIF: no resolution to trust


def _dpi(image: Image.Image) -> tuple[float, float] | None:
    dpi = image.info.get("dpi")
    if not dpi or not all(float(value) > 0 for value in dpi):
        return None
    return float(dpi[0]), float(dpi[1])
