"""Builds the image files the imaging tests read: every case makes its own, in tmp_path, from skimage's
astronaut photo (a real face) or from arrays, with the metadata or damage the case needs."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageCms
from skimage import data as skimage_data

ORIENTATION = 0x0112
MAKE = 0x010F
ARTIST = 0x013B
COPYRIGHT = 0x8298
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATE_TAKEN = 0x9003
EXPOSURE_TIME = 0x829A
GPS_LATITUDE_REF = 1
#: An XMP packet as Adobe software writes it, with the orientation repeated in the tiff namespace.
XMP_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    'tiff:Orientation="{orientation}"><dc:title>Grandma 1952</dc:title></rdf:Description></rdf:RDF>'
    '</x:xmpmeta><?xpacket end="w"?>'
)


def astronaut(width: int = 96, height: int = 64) -> np.ndarray:
    """RGB uint8 crop of skimage's astronaut around her face, resized to (height, width); not square by default,
    so that a wrong rotation changes the shape."""
    face = skimage_data.astronaut()[0:300, 100:400]
    return cv2.resize(face, (width, height), interpolation=cv2.INTER_AREA)


def to16(rgb8: np.ndarray, seed: int = 0) -> np.ndarray:
    """16-bit version whose low bytes are not a copy of the high ones, so that a cut to 8 bits shows."""
    noise = np.random.default_rng(seed).integers(0, 256, rgb8.shape, dtype=np.uint16)
    return rgb8.astype(np.uint16) * 256 + noise


def alpha_ramp(height: int, width: int, dtype: type = np.uint8) -> np.ndarray:
    """An alpha with every level from clear to opaque (and a fully clear corner)."""
    top = np.iinfo(dtype).max
    ramp = np.linspace(0, top, width, dtype=np.float64)[None, :].repeat(height, axis=0)
    ramp[: height // 4, : width // 4] = 0
    return np.round(ramp).astype(dtype)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def cmyk_like_profile() -> bytes:
    """The sRGB profile relabelled as CMYK in its header: enough to test that a CMYK profile is dropped."""
    profile = bytearray(srgb_profile())
    profile[16:20] = b"CMYK"
    return bytes(profile)


def grey_like_profile() -> bytes:
    """The sRGB profile relabelled as GRAY: tests that a grey profile goes only with grey data."""
    profile = bytearray(srgb_profile())
    profile[16:20] = b"GRAY"
    return bytes(profile)


def xmp(orientation: int = 1) -> bytes:
    return XMP_TEMPLATE.format(orientation=orientation).encode("utf-8")


def exif(orientation: int | None = None, make: str = "Kodak", with_camera_details: bool = True) -> Image.Exif:
    """EXIF as cameras write it: IFD0 description tags, an EXIF IFD (date taken, exposure) and GPS."""
    block = Image.Exif()
    block[MAKE] = make
    block[ARTIST] = "Grandpa"
    block[COPYRIGHT] = "Family archive"
    if orientation is not None:
        block[ORIENTATION] = orientation
    if with_camera_details:
        block.get_ifd(EXIF_IFD)[DATE_TAKEN] = "1952:07:14 15:30:00"
        block.get_ifd(GPS_IFD)[GPS_LATITUDE_REF] = "N"
    return block


def exif_bytes(orientation: int | None = None, **kwargs) -> bytes:
    return exif(orientation, **kwargs).tobytes()


def exif_bytes_with_thumbnail(orientation: int | None = None) -> bytes:
    """EXIF whose IFD0 links to an IFD1 describing a (fake) JPEG thumbnail, as cameras write it."""
    block = bytearray(exif_bytes(orientation, with_camera_details=False))
    tiff = 6  # after b"Exif\0\0"; Pillow writes big-endian ("MM")
    (ifd0,) = struct.unpack_from(">I", block, tiff + 4)
    (count,) = struct.unpack_from(">H", block, tiff + ifd0)
    link = tiff + ifd0 + 2 + 12 * count
    thumbnail = b"\xff\xd8" + b"\x00" * 60 + b"\xff\xd9"
    ifd1 = len(block) - tiff
    data_offset = ifd1 + 2 + 2 * 12 + 4
    block[link : link + 4] = struct.pack(">I", ifd1)
    block += struct.pack(">H", 2)
    block += struct.pack(">HHII", 0x0201, 4, 1, data_offset)  # JPEGInterchangeFormat
    block += struct.pack(">HHII", 0x0202, 4, 1, len(thumbnail))  # JPEGInterchangeFormatLength
    block += b"\x00\x00\x00\x00" + thumbnail
    return bytes(block)


def save_pillow(path: Path, image: np.ndarray | Image.Image, fmt: str | None = None, **params) -> Path:
    """Save with Pillow (arrays are RGB/RGBA/L order as Pillow expects)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, **params)
    return path


def save_png_opencv(path: Path, rgb: np.ndarray, exif: bytes | None = None) -> Path:
    """PNG through OpenCV, the only way here to make 16-bit colour PNG; ``rgb`` in RGB(A) or grey order."""
    pixels = rgb
    if rgb.ndim == 3:
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR if rgb.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(".png", pixels)
    assert ok
    data = encoded.tobytes()
    if exif is not None:
        data = insert_png_chunk(data, b"eXIf", exif.removeprefix(b"Exif\x00\x00"))
    return write_bytes(path, data)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def insert_png_chunk(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """Put a chunk right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    cut = 8 + 25
    return png[:cut] + png_chunk(kind, payload) + png[cut:]


def png_grey_alpha_16(path: Path, grey: np.ndarray, alpha: np.ndarray) -> Path:
    """A 16-bit grey + alpha PNG (colour type 4), written chunk by chunk: no library here writes one."""
    height, width = grey.shape
    pairs = np.dstack([grey, alpha]).astype(">u2")
    raw = b"".join(b"\x00" + pairs[row].tobytes() for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 16, 4, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(raw))
    return write_bytes(path, data + png_chunk(b"IEND", b""))


def save_tiff(path: Path, pixels: np.ndarray, photometric: str = "rgb", **params) -> Path:
    """TIFF through tifffile; ``orientation=`` adds the Orientation tag."""
    orientation = params.pop("orientation", None)
    extratags = list(params.pop("extratags", []))
    if orientation is not None:
        extratags.append((ORIENTATION, 3, 1, orientation, True))
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, photometric=photometric, extratags=extratags, metadata=None, **params)
    return write_bytes(path, buffer.getvalue())


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def bomb_png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width x height but whose body is a few bytes: a decompression bomb's head."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")
    return write_bytes(path, data)


def bomb_jpeg(path: Path, width: int, height: int) -> Path:
    """A small real JPEG whose frame header (SOF0) is changed to declare width x height."""
    buffer = io.BytesIO()
    Image.fromarray(astronaut(32, 32)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return write_bytes(path, bytes(data))


def bomb_tiff(path: Path, width: int, height: int) -> Path:
    """A classic TIFF with one IFD declaring width x height 8-bit grey and a 16-byte strip."""
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # BlackIsZero
        (273, 4, 1, 0),  # StripOffsets: patched below
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, 16),  # StripByteCounts
    ]
    ifd_offset = 8
    strip_offset = ifd_offset + 2 + 12 * len(entries) + 4
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = strip_offset if tag == 273 else value
        packed = struct.pack("<H", value) + b"\x00\x00" if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    data = b"II*\x00" + struct.pack("<I", ifd_offset) + ifd + b"\x00\x00\x00\x00" + b"\x80" * 16
    return write_bytes(path, data)


def truncated_copy(source: Path, target: Path, keep: float = 0.6) -> Path:
    """The first ``keep`` fraction of ``source``'s bytes: a download or copy cut short."""
    data = source.read_bytes()
    return write_bytes(target, data[: int(len(data) * keep)])


def cmyk_patches() -> Image.Image:
    """A CMYK image of four patches: pure cyan, magenta, yellow and black ink (each 16 x 32)."""
    image = Image.new("CMYK", (64, 32))
    for index, ink in enumerate([(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255)]):
        image.paste(ink, (index * 16, 0, index * 16 + 16, 32))
    return image
