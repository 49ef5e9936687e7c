"""Writing a result in the source's format (or the one asked for) with its metadata, atomically.

Encoders: OpenCV for PNG pixels (fast, 8 and 16 bit), Pillow for JPEG, WebP, BMP and 8-bit grey + alpha
PNG, tifffile for TIFF (Pillow cannot write 16-bit colour). Everything is encoded in
memory first, so a failure to encode never leaves a file behind.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

from ..defaults import DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY, QUALITY_RANGE
from ..durable import describe_write_error, write_bytes_atomic
from ..output_names import output_path
from . import png_chunks
from .errors import ImageWriteError
from .exif import without_exif_header
from .metadata import DESCRIPTIVE_TAGS, EXIF_IFD_TAG, GPS_IFD_TAG, TIFF_IPTC_TAG, TIFF_XMP_TAG, icc_colour_space
from .photo import FORMAT_SUFFIXES, PhotoInfo, format_name, to_8bit

__all__ = ["DEFAULT_JPEG_QUALITY", "DEFAULT_WEBP_QUALITY", "WriteResult", "output_path", "write_photo"]

#: libwebp effort 0..6: 4 is libwebp's own default, a fair trade of size against time.
WEBP_METHOD = 4
#: Pillow's subsampling codes.
SUBSAMPLING_444 = 0
#: PNG: zlib level 1 with the RLE strategy and the Sub filter. Measured on 12 MP photos (2 cores): about
#: 0.5 s for 8-bit and 1.2-1.5 s for 16-bit, files within ~10% of level 6, which takes 7-10 s.
PNG_ENCODE_PARAMS = (
    cv2.IMWRITE_PNG_COMPRESSION,
    1,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_RLE,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_SUB,
)
PNG_PILLOW_COMPRESS_LEVEL = 1
#: TIFF: uncompressed stays uncompressed; anything else becomes Deflate (zlib level 1) with the horizontal
#: predictor: lossless, read by every TIFF reader, 12 MP in ~1 s (8-bit) / ~2.5-3.5 s (16-bit) on 2 cores, and
#: half the size of LZW for 8-bit photos. (LZW itself would need the imagecodecs package to write.)
TIFF_UNCOMPRESSED = "raw"
TIFF_ZLIB_LEVEL = 1
TIFF_WORKERS = 2
#: JPEG markers hold at most this many bytes (Pillow refuses longer EXIF / XMP / comments).
JPEG_MARKER_MAX_BYTES = 65533
_JPEG_XMP_OVERHEAD = 29
_TIFF_ASCII = 2
_TIFF_BYTE = 1
_TIFF_UNDEFINED = 7


@dataclass(frozen=True)
class WriteResult:
    """What was written, and what the report should say about it (metadata a format cannot hold ...)."""

    path: Path
    format: str
    notes: tuple[str, ...]


def write_photo(
    path: Path | str,
    color: np.ndarray,
    alpha: np.ndarray | None,
    info: PhotoInfo,
    fmt: str | None = None,
    quality: int | None = None,
    replace: bool = True,
) -> WriteResult:
    """Encode ``color`` (H, W, 3 BGR) and ``alpha`` with the metadata of ``info`` and write them atomically.

    The format is ``fmt`` if given (``png|jpg|webp|tif``; ``path``'s extension must then match it, see
    :func:`output_path`), else the source's content format, whatever the extension says. ``quality`` applies
    to JPEG and WebP. With ``replace=False`` an existing file at ``path`` is never replaced (ImageWriteError).
    The folder must exist. Raises ImageWriteError naming the file and the reason;
    ValueError for arguments that cannot be right.
    """
    path = Path(path)
    target = format_name(fmt) if fmt else info.format
    if target not in _ENCODERS:
        raise ValueError(f"cannot write {target} images")
    notes: list[str] = []
    if path.suffix.lower() not in FORMAT_SUFFIXES[target]:
        if fmt:
            raise ValueError(f"{path}: the extension does not match the {target} format; use output_path()")
        # A misnamed source (a PNG called .jpg): keep its content format, as the file name already lied.
        notes.append(f"written as {target} like the source, although the name ends in {path.suffix or 'nothing'}")
    if quality is not None and quality not in QUALITY_RANGE:
        raise ValueError(f"quality must be 1..100, got {quality}")
    _check_arrays(color, alpha)
    if _is_same_file(path, info.path):
        raise ImageWriteError(path, "cannot be written: it is the input file, which is never overwritten")
    try:
        data = _ENCODERS[target](color, alpha, info, quality, notes)
    except (OSError, ValueError, tifffile.TiffFileError) as error:
        raise ImageWriteError(path, f"cannot be encoded as {target}: {error}") from None
    notes += _unkept_metadata(info, target)
    try:
        write_bytes_atomic(path, data, replace=replace)
    except OSError as error:
        raise ImageWriteError(path, describe_write_error(error)) from None
    return WriteResult(path=path, format=target, notes=tuple(notes))


def _check_arrays(color: np.ndarray, alpha: np.ndarray | None) -> None:
    if color.ndim != 3 or color.shape[2] != 3 or color.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"color must be (H, W, 3) uint8 or uint16, got {color.shape} {color.dtype}")
    if alpha is not None and (alpha.shape != color.shape[:2] or alpha.dtype != color.dtype):
        raise ValueError(f"alpha must be {color.shape[:2]} {color.dtype}, got {alpha.shape} {alpha.dtype}")


def _is_same_file(path: Path, source: Path) -> bool:
    try:
        return path.exists() and source.exists() and os.path.samefile(path, source)
    except OSError:
        return False


# --- shared pieces ------------------------------------------------------------------------------------------


def _grey(color: np.ndarray) -> np.ndarray:
    """One channel from BGR: the Rec. 601 luma OpenCV computes in fixed point, exact where B = G = R.

    Away from faces the three channels of a grey source are still equal, so those pixels come back
    unchanged; in restored faces any colour the network added becomes its luminance.
    """
    return cv2.cvtColor(color, cv2.COLOR_BGR2GRAY)


def _profile(info: PhotoInfo, space: str, notes: list[str]) -> bytes | None:
    """The source's ICC profile if it describes data of ``space`` ("RGB" / "GRAY"); never a mismatched one."""
    profile = info.icc_profile
    if not profile:
        return None
    found = icc_colour_space(profile)
    if found != space:
        notes.append(f"the colour profile ({found}) does not fit the {space} data written; left out")
        return None
    return profile


def _as_8bit(color: np.ndarray, alpha: np.ndarray | None, target: str, notes: list[str]):
    if color.dtype == np.uint8:
        return color, alpha
    notes.append(f"16-bit samples reduced to 8 bits ({target} holds 8)")
    return to_8bit(color), None if alpha is None else to_8bit(alpha)


def _rgb_image(color: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    if alpha is None:
        return Image.fromarray(cv2.cvtColor(color, cv2.COLOR_BGR2RGB))
    return Image.fromarray(cv2.cvtColor(np.dstack([color, alpha]), cv2.COLOR_BGRA2RGBA))


def _unkept_metadata(info: PhotoInfo, target: str) -> list[str]:
    """What the source had that the target format has no place for."""
    lost = []
    if target == "BMP":
        lost += [
            name
            for name, value in (("EXIF", info.exif), ("XMP", info.xmp), ("colour profile", info.icc_profile))
            if value
        ]
    if target == "WEBP" and info.dpi:
        lost.append("DPI")
    if target != "JPEG" and info.jpeg and info.jpeg.app13:
        lost.append("IPTC/Photoshop block (kept only in JPEG output)")
    if target != "JPEG" and info.jpeg and info.jpeg.comment:
        lost.append("JPEG comment")
    if target != "TIFF" and info.tiff and info.tiff.iptc:
        lost.append("IPTC block (kept only in TIFF output)")
    if target != "PNG" and info.png_chunks:
        lost.append(
            "PNG text and colour chunks (" + ", ".join(sorted({c.type.decode() for c in info.png_chunks})) + ")"
        )
    return [f"{target} cannot hold the source's {item}; not kept" for item in lost]


# --- encoders -------------------------------------------------------------------------------------------------


def _encode_jpeg(
    color: np.ndarray, alpha: np.ndarray | None, info: PhotoInfo, quality: int | None, notes: list[str]
) -> bytes:
    if alpha is not None:
        notes.append("JPEG has no transparency: the alpha channel was dropped")
    color, _ = _as_8bit(color, None, "JPEG", notes)
    if info.grey:
        image, space = Image.fromarray(_grey(color)), "GRAY"
    else:
        image, space = _rgb_image(color, None), "RGB"
    params: dict = {}
    source = info.jpeg
    if quality is None and source is not None and source.qtables:
        # The source's own tables: the closest re-encoding there is (same quality, same rounding of coefficients).
        params["qtables"] = [list(table) for table in source.qtables]
    else:
        params["quality"] = quality or DEFAULT_JPEG_QUALITY
    params["subsampling"] = source.subsampling if source is not None and source.subsampling >= 0 else SUBSAMPLING_444
    if source is not None:
        params["progressive"] = source.progressive
        if source.comment:
            params["comment"] = source.comment
        if source.app13:
            params["extra"] = b"".join(source.app13)
    if info.exif:
        if len(info.exif) <= JPEG_MARKER_MAX_BYTES:
            params["exif"] = info.exif
        else:
            notes.append("the EXIF block is larger than a JPEG marker holds; not kept")
    if info.xmp:
        if len(info.xmp) <= JPEG_MARKER_MAX_BYTES - _JPEG_XMP_OVERHEAD:
            params["xmp"] = info.xmp
        else:
            notes.append("the XMP packet is larger than a JPEG marker holds; not kept")
    if profile := _profile(info, space, notes):
        params["icc_profile"] = profile
    if info.dpi:
        params["dpi"] = info.dpi
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **params)
    return buffer.getvalue()


def _encode_png(
    color: np.ndarray, alpha: np.ndarray | None, info: PhotoInfo, quality: int | None, notes: list[str]
) -> bytes:
    grey = info.grey
    if grey and alpha is not None and color.dtype == np.uint16:
        notes.append("16-bit grey + alpha written as 16-bit RGBA (no encoder here writes 16-bit grey + alpha PNG)")
        grey = False
    if grey and alpha is not None:
        buffer = io.BytesIO()
        Image.fromarray(np.dstack([_grey(color), alpha]), "LA").save(
            buffer, "PNG", compress_level=PNG_PILLOW_COMPRESS_LEVEL
        )
        encoded = buffer.getvalue()
    else:
        pixels = _grey(color) if grey else color if alpha is None else np.dstack([color, alpha])
        ok, array = cv2.imencode(".png", pixels, list(PNG_ENCODE_PARAMS))
        if not ok:
            raise ValueError("OpenCV could not encode the pixels")
        encoded = array.tobytes()
    chunks = []
    if profile := _profile(info, "GRAY" if grey else "RGB", notes):
        chunks.append(png_chunks.iccp_chunk(profile))
    if info.dpi:
        chunks.append(png_chunks.phys_chunk(info.dpi))
    if info.exif:
        chunks.append(png_chunks.exif_chunk(info.exif))
    if info.xmp:
        chunks.append(png_chunks.xmp_chunk(info.xmp))
    chunks += info.png_chunks
    return png_chunks.insert_after_ihdr(encoded, chunks)


def _encode_webp(
    color: np.ndarray, alpha: np.ndarray | None, info: PhotoInfo, quality: int | None, notes: list[str]
) -> bytes:
    color, alpha = _as_8bit(color, alpha, "WebP", notes)
    if info.grey:
        notes.append("WebP has no greyscale: written as RGB with three equal channels")
        color = cv2.cvtColor(_grey(color), cv2.COLOR_GRAY2BGR)
    image = _rgb_image(color, alpha)
    if quality is None and info.webp_lossless:
        params: dict = {"lossless": True, "quality": 100, "method": WEBP_METHOD}
    else:
        # exact: keep the colour under fully transparent pixels instead of letting the encoder change it.
        params = {"quality": quality or DEFAULT_WEBP_QUALITY, "method": WEBP_METHOD, "exact": True}
    if info.exif:
        params["exif"] = without_exif_header(info.exif)
    if info.xmp:
        params["xmp"] = info.xmp
    if profile := _profile(info, "RGB", notes):
        params["icc_profile"] = profile
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **params)
    return buffer.getvalue()


def _encode_bmp(
    color: np.ndarray, alpha: np.ndarray | None, info: PhotoInfo, quality: int | None, notes: list[str]
) -> bytes:
    color, alpha = _as_8bit(color, alpha, "BMP", notes)
    image = Image.fromarray(_grey(color)) if info.grey and alpha is None else _rgb_image(color, alpha)
    buffer = io.BytesIO()
    image.save(buffer, "BMP", **({"dpi": info.dpi} if info.dpi else {}))
    return buffer.getvalue()


def _encode_tiff(
    color: np.ndarray, alpha: np.ndarray | None, info: PhotoInfo, quality: int | None, notes: list[str]
) -> bytes:
    """tifffile for every TIFF: 8 and 16 bit, grey or colour, with alpha, one set of tags.

    Neither tifffile nor Pillow's libtiff writer can write an EXIF sub-IFD, so the descriptive IFD0 tags
    (make, model, artist, copyright, date ...) are kept, XMP and IPTC too, and the camera details are not.
    """
    exif = _parsed_exif(info.exif, notes)
    grey = info.grey
    if grey and alpha is not None and color.dtype == np.uint16:
        notes.append("16-bit grey + alpha written as 16-bit RGBA (Pillow cannot read 16-bit grey + alpha TIFF)")
        grey = False
    if grey:
        pixels = _grey(color) if alpha is None else np.dstack([_grey(color), alpha])
        photometric = "minisblack"
    else:
        pixels = (
            cv2.cvtColor(color, cv2.COLOR_BGR2RGB)
            if alpha is None
            else cv2.cvtColor(np.dstack([color, alpha]), cv2.COLOR_BGRA2RGBA)
        )
        photometric = "rgb"
    extratags = []
    for tag in DESCRIPTIVE_TAGS:
        value = exif.get(tag)
        if isinstance(value, str):
            extratags.append((tag, _TIFF_ASCII, 0, value.encode("utf-8"), True))
        elif isinstance(value, bytes):
            extratags.append((tag, _TIFF_BYTE, len(value), value, True))
    if any(exif.get_ifd(pointer) for pointer in (EXIF_IFD_TAG, GPS_IFD_TAG)):
        notes.append("TIFF output keeps the EXIF description tags, not the camera details (exposure, date taken, GPS)")
    if info.xmp:
        extratags.append((TIFF_XMP_TAG, _TIFF_BYTE, len(info.xmp), info.xmp, True))
    if info.tiff and info.tiff.iptc:
        extratags.append((TIFF_IPTC_TAG, _TIFF_UNDEFINED, len(info.tiff.iptc), info.tiff.iptc, True))
    raw = info.tiff is not None and info.tiff.compression == TIFF_UNCOMPRESSED
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        pixels,
        photometric=photometric,
        extrasamples=("unassalpha",) if alpha is not None else None,
        compression=None if raw else "zlib",
        compressionargs=None if raw else {"level": TIFF_ZLIB_LEVEL},
        predictor=None if raw else True,
        iccprofile=_profile(info, "GRAY" if grey else "RGB", notes),
        resolution=info.dpi,
        resolutionunit="INCH" if info.dpi else None,
        software=False,
        metadata=None,
        extratags=extratags,
        maxworkers=TIFF_WORKERS,
    )
    return buffer.getvalue()


def _parsed_exif(exif: bytes | None, notes: list[str]) -> Image.Exif:
    """The EXIF block as tags (empty when there is none, or when it is too damaged to read)."""
    parsed = Image.Exif()
    if exif:
        try:
            parsed.load(exif)
        except (SyntaxError, ValueError, struct.error, OSError) as error:
            notes.append(f"the EXIF block is too damaged to turn into TIFF tags ({error}); not kept")
            return Image.Exif()
    return parsed


_Encoder = Callable[[np.ndarray, np.ndarray | None, PhotoInfo, int | None, list[str]], bytes]
_ENCODERS: dict[str, _Encoder] = {
    "JPEG": _encode_jpeg,
    "PNG": _encode_png,
    "WEBP": _encode_webp,
    "TIFF": _encode_tiff,
    "BMP": _encode_bmp,
}
