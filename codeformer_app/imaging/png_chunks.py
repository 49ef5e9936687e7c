"""PNG chunks: list them, build the metadata ones and put them into an encoded PNG.

No library writes iCCP, eXIf, pHYs and text chunks into a 16-bit colour PNG (Pillow cannot encode 16-bit
colour; OpenCV writes neither pHYs nor text), so PNG pixels are encoded by OpenCV or Pillow without
metadata and the metadata chunks are inserted here, one code path for every PNG we write. This is the
container only (length, type, data, CRC-32); the image data is never touched.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from .exif import without_exif_header
from .photo import PngChunk

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LENGTH_AND_TYPE = struct.Struct(">I4s")
_CRC = struct.Struct(">I")
_METRES_PER_INCH = 0.0254
_PHYS_UNIT_METRE = 1
#: iTXt keyword under which XMP lives in PNG (XMP specification part 3).
XMP_KEYWORD = b"XML:com.adobe.xmp"

#: Ancillary chunks copied from a PNG source to a PNG result: they describe colour, time or text and do not
#: depend on how the pixels are encoded. Left out: chunks that depend on bit depth or palette (tRNS, bKGD,
#: sBIT, hIST, sPLT), animation (acTL, fcTL, fdAT), and the ones rebuilt from PhotoInfo (iCCP, eXIf, pHYs,
#: the XMP iTXt).
CARRIED_CHUNK_TYPES = frozenset(
    {b"tEXt", b"zTXt", b"iTXt", b"gAMA", b"cHRM", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"tIME", b"sCAL", b"oFFs"}
)


class PngFormatError(ValueError):
    """The bytes are not a well-formed PNG chunk stream."""


class Ihdr(NamedTuple):
    width: int
    height: int
    bit_depth: int
    colour_type: int  #: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA


class _Span(NamedTuple):
    type: bytes
    start: int  #: offset of the length field
    data_start: int
    data_end: int  #: the CRC follows


def _spans(png: bytes) -> Iterator[_Span]:
    if not png.startswith(PNG_SIGNATURE):
        raise PngFormatError("not a PNG file (signature missing)")
    position = len(PNG_SIGNATURE)
    while position < len(png):
        if position + _LENGTH_AND_TYPE.size > len(png):
            raise PngFormatError("a chunk header is cut short")
        length, kind = _LENGTH_AND_TYPE.unpack_from(png, position)
        data_start = position + _LENGTH_AND_TYPE.size
        data_end = data_start + length
        if data_end + _CRC.size > len(png):
            raise PngFormatError(f"the {kind!r} chunk is cut short")
        yield _Span(kind, position, data_start, data_end)
        position = data_end + _CRC.size
        if kind == b"IEND":
            return
    raise PngFormatError("the IEND chunk is missing")


def read_ihdr(png: bytes) -> Ihdr:
    first = next(_spans(png))
    if first.type != b"IHDR" or first.data_end - first.data_start < 10:
        raise PngFormatError("the first chunk is not IHDR")
    return Ihdr(*struct.unpack_from(">IIBB", png, first.data_start))


def chunk_types(png: bytes) -> list[bytes]:
    return [span.type for span in _spans(png)]


def is_complete(png: bytes) -> bool:
    """True when the chunk stream runs whole up to IEND (False for a file cut short)."""
    try:
        return any(span.type == b"IEND" for span in _spans(png))
    except PngFormatError:
        return False


def first_chunk(png: bytes, kind: bytes) -> bytes | None:
    """The data of the first chunk of type ``kind``; None when there is none."""
    for span in _spans(png):
        if span.type == kind:
            return png[span.data_start : span.data_end]
    return None


def encode_chunk(kind: bytes, data: bytes) -> bytes:
    return _LENGTH_AND_TYPE.pack(len(data), kind) + data + _CRC.pack(zlib.crc32(kind + data))


def _text_keyword(span: _Span, png: bytes) -> bytes:
    end = png.find(b"\x00", span.data_start, span.data_end)
    return png[span.data_start : end if end >= 0 else span.data_end]


def carried_chunks(png: bytes) -> tuple[PngChunk, ...]:
    """The chunks of ``png`` that a PNG result should copy unchanged (see CARRIED_CHUNK_TYPES)."""
    kept = []
    for span in _spans(png):
        if span.type not in CARRIED_CHUNK_TYPES:
            continue
        if span.type == b"iTXt" and _text_keyword(span, png) == XMP_KEYWORD:
            continue
        kept.append(PngChunk(span.type, png[span.data_start : span.data_end]))
    return tuple(kept)


def xmp_from_chunks(png: bytes) -> bytes | None:
    """The XMP packet of an iTXt chunk (compressed or not); None when there is none."""
    for span in _spans(png):
        if span.type != b"iTXt" or _text_keyword(span, png) != XMP_KEYWORD:
            continue
        rest = png[span.data_start + len(XMP_KEYWORD) + 1 : span.data_end]
        compressed = rest[0] == 1
        language_end = rest.index(b"\x00", 2)
        translated_end = rest.index(b"\x00", language_end + 1)
        text = rest[translated_end + 1 :]
        return zlib.decompress(text) if compressed else text
    return None


def without_chunks(png: bytes, types: Iterable[bytes]) -> bytes:
    """``png`` with every chunk of the given types removed (the rest byte for byte)."""
    drop = set(types)
    parts = [png[: len(PNG_SIGNATURE)]]
    parts += [png[span.start : span.data_end + _CRC.size] for span in _spans(png) if span.type not in drop]
    return b"".join(parts)


def insert_after_ihdr(png: bytes, chunks: Sequence[PngChunk]) -> bytes:
    """``png`` with ``chunks`` placed right after IHDR: before PLTE and IDAT, where every one of them may go."""
    if not chunks:
        return png
    ihdr = next(_spans(png))
    if ihdr.type != b"IHDR":
        raise PngFormatError("the first chunk is not IHDR")
    cut = ihdr.data_end + _CRC.size
    return b"".join([png[:cut], *(encode_chunk(chunk.type, chunk.data) for chunk in chunks), png[cut:]])


def iccp_chunk(profile: bytes) -> PngChunk:
    return PngChunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(profile))


def exif_chunk(exif: bytes) -> PngChunk:
    return PngChunk(b"eXIf", without_exif_header(exif))


def phys_chunk(dpi: tuple[float, float]) -> PngChunk:
    per_metre = [round(value / _METRES_PER_INCH) for value in dpi]
    return PngChunk(b"pHYs", struct.pack(">IIB", *per_metre, _PHYS_UNIT_METRE))


def xmp_chunk(xmp: bytes) -> PngChunk:
    """iTXt, uncompressed, no language: how Adobe software stores XMP in PNG."""
    return PngChunk(b"iTXt", XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp)
