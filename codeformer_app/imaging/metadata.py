"""Metadata helpers shared by reading and writing: colour profiles, TIFF tags, JPEG quality."""

from __future__ import annotations

from PIL import Image

#: IFD0 tags that describe a photo rather than its pixel layout: copied between EXIF and TIFF.
#: DocumentName, ImageDescription, Make, Model, PageName, Software, DateTime, Artist, HostComputer,
#: Copyright, and the Windows XP title/comment/author/keywords/subject fields.
DESCRIPTIVE_TAGS = (269, 270, 271, 272, 285, 305, 306, 315, 316, 33432, 40091, 40092, 40093, 40094, 40095)
EXIF_IFD_TAG = 0x8769
GPS_IFD_TAG = 0x8825
#: Tags that point elsewhere in the block they came from: meaningless once the tags are re-serialised.
_POINTER_TAGS = frozenset({0xA005, 0x927C})  # Interoperability IFD, MakerNote (offsets into the old block)
TIFF_XMP_TAG = 700
TIFF_IPTC_TAG = 33723

#: Byte offset and length of the colour space signature in an ICC profile header.
_ICC_COLOUR_SPACE = slice(16, 20)

#: The IJG (libjpeg) luminance quantization table in natural order: the base that ``quality`` scales.
_IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_BASELINE_MAX_Q = 255


def icc_colour_space(profile: bytes) -> str | None:
    """The data colour space an ICC profile describes ("RGB", "GRAY", "CMYK", ...); None if unreadable."""
    if len(profile) < _ICC_COLOUR_SPACE.stop:
        return None
    return profile[_ICC_COLOUR_SPACE].decode("ascii", errors="replace").strip()


def _ijg_table(quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((q * scale + 50) // 100, 1), _BASELINE_MAX_Q) for q in _IJG_LUMINANCE]


def estimate_jpeg_quality(luminance_table: list[int] | tuple[int, ...]) -> int:
    """The IJG quality (1..100) whose luminance table is closest to the given one: exact for libjpeg files."""
    table = list(luminance_table)
    return min(range(1, 101), key=lambda q: sum(abs(a - b) for a, b in zip(_ijg_table(q), table, strict=True)))


def descriptive_exif(source: Image.Exif) -> Image.Exif | None:
    """A new EXIF holding only what describes the photo: the descriptive IFD0 tags, the EXIF and GPS IFDs.

    Used where tags must be re-serialised (TIFF in, or TIFF out): layout tags, Orientation and pointers into
    the old block are left behind. None when nothing is left.
    """
    result = Image.Exif()
    for tag in DESCRIPTIVE_TAGS:
        if tag in source:
            result[tag] = source[tag]
    has_sub_ifd = False
    for pointer in (EXIF_IFD_TAG, GPS_IFD_TAG):
        values = {tag: value for tag, value in source.get_ifd(pointer).items() if tag not in _POINTER_TAGS}
        if values:
            result.get_ifd(pointer).update(values)  # creates the sub-IFD only when it has something
            has_sub_ifd = True
    return result if len(result) or has_sub_ifd else None
