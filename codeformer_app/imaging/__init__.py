"""Image I/O that loses nothing: pixels upright for the pipeline, and everything else written back.

- ``read_photo`` -> ``Photo`` (BGR colour, alpha, ``PhotoInfo``: format, bit depth, grey, EXIF, ICC, DPI ...)
- ``photo_8bit_bgr`` -> what face detection and the network take
- ``write_photo`` -> the result in the source's format (or ``png|jpg|webp|tif``), atomically
- ``output_path`` -> where a result goes

Module by module: ``photo`` (types), ``read``, ``write``, ``orientation``, ``exif`` (Orientation inside EXIF
and TIFF), ``png_chunks``, ``metadata``, ``atomic`` (crash-safe writes), ``errors``.
Importing this package switches off Pillow's global decompression-bomb limit; ``read_photo(max_pixels=...)``
is the one limit (see ``read.py``).
"""

from __future__ import annotations

from ..durable import write_bytes_atomic
from .errors import ImageError, ImageReadError, ImageWriteError
from .photo import (
    FORMAT_SUFFIXES,
    OUTPUT_FORMATS,
    READ_FORMATS,
    JpegDetails,
    Photo,
    PhotoInfo,
    PngChunk,
    TiffDetails,
    format_name,
    photo_8bit_bgr,
    photo_from_pixels,
    to_8bit,
)
from .read import DEFAULT_MAX_PIXELS, MIN_SIDE, read_photo
from .write import DEFAULT_JPEG_QUALITY, DEFAULT_WEBP_QUALITY, WriteResult, output_path, write_photo

__all__ = [
    "DEFAULT_JPEG_QUALITY",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_WEBP_QUALITY",
    "FORMAT_SUFFIXES",
    "MIN_SIDE",
    "OUTPUT_FORMATS",
    "READ_FORMATS",
    "ImageError",
    "ImageReadError",
    "ImageWriteError",
    "JpegDetails",
    "Photo",
    "PhotoInfo",
    "PngChunk",
    "TiffDetails",
    "WriteResult",
    "format_name",
    "output_path",
    "photo_8bit_bgr",
    "photo_from_pixels",
    "read_photo",
    "to_8bit",
    "write_bytes_atomic",
    "write_photo",
]
