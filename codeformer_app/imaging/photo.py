"""The types that carry a photo between reading and writing: its pixels and everything else worth keeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..defaults import FORMAT_SUFFIXES, OUTPUT_FORMATS, READ_FORMATS, format_name

__all__ = ["FORMAT_SUFFIXES", "OUTPUT_FORMATS", "READ_FORMATS", "format_name"]

#: Dividing a 16-bit sample by this maps 0..65535 onto 0..255 exactly (65535 = 255 * 257).
SCALE_16_TO_8 = 257


@dataclass(frozen=True)
class JpegDetails:
    """How a JPEG source was encoded, so that re-encoding it changes as little as possible."""

    #: Estimated IJG quality (1..100) of the luminance table; None when the tables are not IJG-scaled.
    quality: int | None
    #: The quantization tables themselves (natural order, as Pillow gives them): reused when no quality is asked.
    qtables: tuple[tuple[int, ...], ...]
    #: Pillow's subsampling code: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, -1 = unknown or greyscale.
    subsampling: int
    progressive: bool
    comment: bytes | None
    #: Raw APP13 (Photoshop / IPTC) segments, marker and length included: copied into JPEG output only.
    app13: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class TiffDetails:
    """TIFF specifics kept for TIFF output."""

    #: Pillow's compression name of the source ("raw", "tiff_lzw", "tiff_adobe_deflate", ...).
    compression: str
    #: IPTC-NAA block (tag 33723): captions and keywords of archives; copied into TIFF output only.
    iptc: bytes | None = None


@dataclass(frozen=True)
class PngChunk:
    """One ancillary PNG chunk copied byte for byte (text, gamma, chromaticities, time ...)."""

    type: bytes
    data: bytes


@dataclass(frozen=True)
class PhotoInfo:
    """Where a photo came from and what of it must survive the round trip."""

    path: Path
    format: str  #: Pillow-style name: JPEG, PNG, TIFF, WEBP, BMP
    width: int  #: upright size, after the EXIF orientation was applied
    height: int
    bit_depth: int  #: 8 or 16
    grey: bool  #: one colour channel in the source (L, I;16, LA): written back as one channel
    cmyk: bool  #: the source was CMYK and was converted to RGB
    #: The orientation the source declared (1..8); the pixels are already turned upright.
    orientation: int = 1
    #: EXIF block (``b"Exif\0\0"`` + TIFF structure) with Orientation reset to 1 and the stale thumbnail
    #: unlinked, every other byte as the camera wrote it; None if there was none.
    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None
    xmp: bytes | None = None
    jpeg: JpegDetails | None = None
    tiff: TiffDetails | None = None
    png_chunks: tuple[PngChunk, ...] = ()
    #: True when the source WebP was lossless: WebP output then stays lossless unless a quality is asked.
    webp_lossless: bool = False
    #: Things a report should tell the user about this file (a dropped profile, extra pages ignored ...).
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Photo:
    """Pixels ready for the pipeline plus what is needed to write them back.

    ``color`` is (H, W, 3) BGR, ``alpha`` (H, W) or None; both uint8 or both uint16, upright, and read-only so
    that nothing changes the source by accident: copy before editing.
    """

    color: np.ndarray
    alpha: np.ndarray | None
    info: PhotoInfo

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.info.width, self.info.height


def to_8bit(image: np.ndarray) -> np.ndarray:
    """A uint8 copy: 16-bit samples scaled by 1/257 and rounded (no ties exist, so rounding is exact)."""
    if image.dtype == np.uint8:
        return image.copy()
    if image.dtype != np.uint16:
        raise ValueError(f"expected uint8 or uint16 samples, got {image.dtype}")
    return cv2.convertScaleAbs(image, alpha=1.0 / SCALE_16_TO_8)


def photo_8bit_bgr(photo: Photo) -> np.ndarray:
    """An 8-bit BGR copy of the photo's colour for face detection and the network."""
    return to_8bit(photo.color)


def photo_from_pixels(color: np.ndarray, alpha: np.ndarray | None = None, name: str = "pasted.png") -> Photo:
    """A photo that never was a file (pasted from the clipboard): 8-bit BGR (+ alpha), written as PNG."""
    if color.dtype != np.uint8 or color.ndim != 3 or color.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8 BGR pixels, got {color.shape} {color.dtype}")
    height, width = color.shape[:2]
    info = PhotoInfo(path=Path(name), format="PNG", width=width, height=height, bit_depth=8, grey=False, cmyk=False)
    color = np.ascontiguousarray(color)
    color.flags.writeable = False
    if alpha is not None:
        alpha = np.ascontiguousarray(alpha)
        alpha.flags.writeable = False
    return Photo(color, alpha, info)
