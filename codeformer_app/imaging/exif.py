"""The Orientation tag and the thumbnail link inside EXIF blocks and TIFF files, read and reset in place.

EXIF is a TIFF structure. Changing it by overwriting a value field, instead of re-serialising the whole block
(as Pillow's ``Exif.tobytes`` does), keeps every other byte - maker notes with absolute offsets, unknown
tags - exactly as the camera wrote them.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .orientation import ORIENTATION_TAG, ORIENTATIONS, UPRIGHT

#: What JPEG's APP1 segment (and Pillow's ``info["exif"]``) puts in front of the TIFF structure.
EXIF_HEADER = b"Exif\x00\x00"
_CLASSIC_TIFF = 42
_BIG_TIFF = 43
_TYPE_SHORT = 3
_TYPE_LONG = 4
#: XMP can repeat the orientation (``tiff:Orientation``); Adobe software writes it as an attribute or an element.
_XMP_ORIENTATION = re.compile(rb'(tiff:Orientation\s*=\s*["\']|<tiff:Orientation>)\s*([1-8])')


class ExifFormatError(ValueError):
    """The bytes are not a well-formed TIFF structure."""


@dataclass(frozen=True)
class _Ifd0:
    """The layout of the first IFD: where its entries are, and where the link to the next IFD sits."""

    order: str  #: struct byte-order character
    entries: int  #: absolute offset of the first entry
    count: int
    entry_size: int  #: 12 (classic) or 20 (BigTIFF)
    value_size: int  #: 4 or 8: the value field ending each entry
    next_link: int  #: absolute offset of the offset of the next IFD (IFD1: the thumbnail, in EXIF)
    link_format: str  #: "I" or "Q"


def _ifd0(data: bytes | bytearray, start: int) -> _Ifd0:
    try:
        order = {b"II": "<", b"MM": ">"}[bytes(data[start : start + 2])]
        (magic,) = struct.unpack_from(order + "H", data, start + 2)
        if magic == _CLASSIC_TIFF:
            (offset,) = struct.unpack_from(order + "I", data, start + 4)
            count_format, link_format, entry_size, value_size = "H", "I", 12, 4
        elif magic == _BIG_TIFF:
            (offset,) = struct.unpack_from(order + "Q", data, start + 8)
            count_format, link_format, entry_size, value_size = "Q", "Q", 20, 8
        else:
            raise ExifFormatError(f"not a TIFF structure (magic number {magic})")
        (count,) = struct.unpack_from(order + count_format, data, start + offset)
    except KeyError:
        raise ExifFormatError("not a TIFF structure (no byte-order mark)") from None
    except struct.error as error:
        raise ExifFormatError(f"the TIFF structure is cut short ({error})") from None
    entries = start + offset + struct.calcsize(count_format)
    next_link = entries + count * entry_size
    if next_link + struct.calcsize(link_format) > len(data):
        raise ExifFormatError("the first IFD runs past the end of the data")
    return _Ifd0(order, entries, count, entry_size, value_size, next_link, link_format)


def _orientation_value_field(data: bytes | bytearray, ifd: _Ifd0) -> tuple[int, str] | None:
    """(absolute offset, struct format) of the Orientation value; None when the tag is absent."""
    entry_format = ifd.order + ("HHI" if ifd.value_size == 4 else "HHQ")
    for index in range(ifd.count):
        entry = ifd.entries + index * ifd.entry_size
        tag, kind, values = struct.unpack_from(entry_format, data, entry)
        if tag != ORIENTATION_TAG:
            continue
        if kind not in (_TYPE_SHORT, _TYPE_LONG) or values < 1:
            raise ExifFormatError(f"Orientation has type {kind} and count {values}")
        return entry + ifd.entry_size - ifd.value_size, ifd.order + ("H" if kind == _TYPE_SHORT else "I")
    return None


def with_exif_header(exif: bytes) -> bytes:
    """EXIF as JPEG carries it: WebP and PNG store the TIFF structure without the ``Exif\\0\\0`` header."""
    return exif if exif.startswith(EXIF_HEADER) else EXIF_HEADER + exif


def without_exif_header(exif: bytes) -> bytes:
    return exif[len(EXIF_HEADER) :] if exif.startswith(EXIF_HEADER) else exif


def tiff_orientation(data: bytes | bytearray, start: int = 0) -> int | None:
    """The raw Orientation value of the TIFF structure at ``start`` (None when absent); may be out of range."""
    field = _orientation_value_field(data, _ifd0(data, start))
    return None if field is None else struct.unpack_from(field[1], data, field[0])[0]


def reset_tiff_orientation(data: bytearray, start: int = 0) -> int | None:
    """Set Orientation to 1 in place; return the value it had (None when there is no such tag)."""
    field = _orientation_value_field(data, _ifd0(data, start))
    if field is None:
        return None
    (old,) = struct.unpack_from(field[1], data, field[0])
    struct.pack_into(field[1], data, field[0], UPRIGHT)
    return old


def exif_orientation(exif: bytes) -> int:
    """The orientation an EXIF block asks for: 1 when absent or out of range. Raises ExifFormatError."""
    value = tiff_orientation(exif, _structure_start(exif))
    return value if value in ORIENTATIONS else UPRIGHT


def exif_for_result(exif: bytes) -> bytes:
    """A copy of the EXIF block (with header) fit for the upright, restored result; raises ExifFormatError.

    Orientation becomes 1, and IFD0's link to IFD1 - the embedded thumbnail, a small copy of the old picture
    that file browsers show instead of the result - is cut (its bytes stay, unreachable). Nothing else changes.
    """
    data = bytearray(with_exif_header(exif))
    start = len(EXIF_HEADER)
    reset_tiff_orientation(data, start)
    ifd = _ifd0(data, start)
    struct.pack_into(ifd.order + ifd.link_format, data, ifd.next_link, 0)
    return bytes(data)


def xmp_with_upright_orientation(xmp: bytes) -> bytes:
    """XMP with ``tiff:Orientation`` set to 1, so that no viewer turns the upright pixels a second time."""
    return _XMP_ORIENTATION.sub(rb"\g<1>1", xmp)


def _structure_start(exif: bytes) -> int:
    return len(EXIF_HEADER) if exif.startswith(EXIF_HEADER) else 0
