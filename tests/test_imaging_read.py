"""Reading photos: pixels upright and in BGR order, bit depth, grey, alpha, CMYK, and the metadata kept."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import image_factory as factory
import numpy as np
import pytest
from PIL import ExifTags, Image, ImageOps

from codeformer_app.imaging import Photo, photo_8bit_bgr, read_photo, to_8bit
from codeformer_app.imaging.exif import (
    ExifFormatError,
    exif_for_result,
    exif_orientation,
    reset_tiff_orientation,
    tiff_orientation,
    xmp_with_upright_orientation,
)
from codeformer_app.imaging.orientation import apply_orientation

ALL_ORIENTATIONS = range(1, 9)


def bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[..., ::-1])


def pillow_upright_bgr(path: Path) -> np.ndarray:
    """Pillow's own reading of the same file, turned upright by Pillow: the reference for orientation."""
    with Image.open(path) as image:
        return bgr(np.asarray(ImageOps.exif_transpose(image).convert("RGB")))


# --- plain reading -----------------------------------------------------------------------------------------


def test_jpeg_is_read_as_bgr_with_its_quality_and_sampling(tmp_path: Path) -> None:
    path = factory.save_pillow(tmp_path / "a.jpg", factory.astronaut(), quality=83, subsampling=2)
    photo = read_photo(path)
    with Image.open(path) as image:
        expected = bgr(np.asarray(image))
    assert isinstance(photo, Photo)
    assert photo.color.dtype == np.uint8 and photo.color.shape == (64, 96, 3)
    np.testing.assert_array_equal(photo.color, expected)
    info = photo.info
    assert (info.format, info.bit_depth, info.grey, info.cmyk, info.width, info.height) == (
        "JPEG",
        8,
        False,
        False,
        96,
        64,
    )
    assert photo.alpha is None
    assert info.jpeg is not None and info.jpeg.quality == 83 and info.jpeg.subsampling == 2
    assert len(info.jpeg.qtables) == 2


def test_pixels_are_read_only_so_the_source_cannot_be_changed_by_accident(tmp_path: Path) -> None:
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", factory.astronaut()))
    with pytest.raises(ValueError):
        photo.color[0, 0, 0] = 1


@pytest.mark.parametrize("name", ["grandmère.png", "фото 1952.png", "祖母.jpg"])
def test_non_ascii_names_are_read(tmp_path: Path, name: str) -> None:
    path = factory.save_pillow(tmp_path / "Ünïcode folder" / name, factory.astronaut())
    assert read_photo(path).info.path == path


def test_bmp_is_read(tmp_path: Path) -> None:
    rgb = factory.astronaut()
    photo = read_photo(factory.save_pillow(tmp_path / "a.bmp", rgb, dpi=(200, 200)))
    np.testing.assert_array_equal(photo.color, bgr(rgb))
    assert photo.info.format == "BMP" and photo.info.dpi == pytest.approx((200, 200), abs=0.5)


# --- 16 bit ---------------------------------------------------------------------------------------------------


def test_16bit_png_keeps_all_16_bits(tmp_path: Path) -> None:
    rgb16 = factory.to16(factory.astronaut())
    photo = read_photo(factory.save_png_opencv(tmp_path / "a.png", rgb16))
    assert photo.color.dtype == np.uint16 and photo.info.bit_depth == 16 and not photo.info.grey
    np.testing.assert_array_equal(photo.color, bgr(rgb16))


def test_16bit_rgba_png_and_tiff_keep_alpha(tmp_path: Path) -> None:
    rgb16 = factory.to16(factory.astronaut())
    alpha = factory.alpha_ramp(64, 96, np.uint16)
    rgba = np.dstack([rgb16, alpha])
    for path in (
        factory.save_png_opencv(tmp_path / "a.png", rgba),
        factory.save_tiff(tmp_path / "a.tif", rgba, extrasamples=["unassalpha"], compression="zlib"),
    ):
        photo = read_photo(path)
        np.testing.assert_array_equal(photo.color, bgr(rgb16))
        np.testing.assert_array_equal(photo.alpha, alpha)


def test_16bit_grey_png_and_tiff(tmp_path: Path) -> None:
    grey = factory.to16(cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY))
    for path in (
        factory.save_png_opencv(tmp_path / "g.png", grey),
        factory.save_tiff(tmp_path / "g.tif", grey, photometric="minisblack"),
    ):
        photo = read_photo(path)
        assert photo.info.grey and photo.info.bit_depth == 16
        for channel in range(3):
            np.testing.assert_array_equal(photo.color[..., channel], grey)


def test_16bit_grey_alpha_png(tmp_path: Path) -> None:
    grey = factory.to16(cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY))
    alpha = factory.alpha_ramp(64, 96, np.uint16)
    photo = read_photo(factory.png_grey_alpha_16(tmp_path / "ga.png", grey, alpha))
    assert photo.info.grey and photo.info.bit_depth == 16
    np.testing.assert_array_equal(photo.color[..., 1], grey)
    np.testing.assert_array_equal(photo.alpha, alpha)


def test_8bit_copy_for_the_network_is_rounded() -> None:
    samples = np.array([[[0, 128, 129], [65535, 32896, 385]]], dtype=np.uint16)
    # 128/257 = 0.498 -> 0; 129/257 = 0.502 -> 1; 32896/257 = 128; 385/257 = 1.498 -> 1
    np.testing.assert_array_equal(to_8bit(samples), [[[0, 0, 1], [255, 128, 1]]])
    every = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(to_8bit(every), np.round(every / 257).astype(np.uint8))


def test_photo_8bit_bgr_is_a_copy(tmp_path: Path) -> None:
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", factory.astronaut()))
    copy = photo_8bit_bgr(photo)
    copy[:] = 0  # writable, and the photo is untouched
    assert photo.color.any()


# --- grey, alpha, palette, CMYK ----------------------------------------------------------------------------


def test_grey_png_and_jpeg_have_three_equal_channels(tmp_path: Path) -> None:
    grey = cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY)
    for path in (factory.save_pillow(tmp_path / "g.png", grey), factory.save_pillow(tmp_path / "g.jpg", grey)):
        photo = read_photo(path)
        assert photo.info.grey
        assert (photo.color[..., 0] == photo.color[..., 1]).all() and (photo.color[..., 1] == photo.color[..., 2]).all()
    np.testing.assert_array_equal(read_photo(tmp_path / "g.png").color[..., 0], grey)


def test_alpha_is_kept_for_rgba_png_la_png_rgba_tiff_and_rgba_webp(tmp_path: Path) -> None:
    rgb = factory.astronaut()
    alpha = factory.alpha_ramp(64, 96)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    cases = {
        "rgba.png": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
        "la.png": Image.fromarray(np.dstack([grey, alpha]), "LA"),
        "rgba.tif": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
        "rgba.webp": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
    }
    for name, image in cases.items():
        params = {"lossless": True} if name.endswith(".webp") else {}
        photo = read_photo(factory.save_pillow(tmp_path / name, image, **params))
        np.testing.assert_array_equal(photo.alpha, alpha, err_msg=name)
        assert photo.info.grey == name.startswith("la")


def test_palette_png_with_transparency_becomes_rgba(tmp_path: Path) -> None:
    image = Image.fromarray(factory.astronaut()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    image.info["transparency"] = 0
    path = factory.save_pillow(tmp_path / "p.png", image, transparency=0)
    photo = read_photo(path)
    with Image.open(path) as reference:
        expected = np.asarray(reference.convert("RGBA"))
    np.testing.assert_array_equal(photo.alpha, expected[..., 3])
    np.testing.assert_array_equal(photo.color, bgr(expected[..., :3]))
    assert any("palette" in note for note in photo.info.notes)


def test_cmyk_jpeg_is_converted_to_rgb_and_its_profile_dropped(tmp_path: Path) -> None:
    path = factory.save_pillow(
        tmp_path / "cmyk.jpg", factory.cmyk_patches(), quality=100, icc_profile=factory.cmyk_like_profile()
    )
    photo = read_photo(path)
    assert photo.info.cmyk and not photo.info.grey
    assert photo.info.icc_profile is None
    assert any("CMYK" in note and "profile" in note for note in photo.info.notes)
    # Pure inks: cyan, magenta, yellow, black (BGR order); JPEG may be off by a few levels.
    expected = [(255, 255, 0), (255, 0, 255), (0, 255, 255), (0, 0, 0)]
    for index, colour in enumerate(expected):
        np.testing.assert_allclose(photo.color[16, index * 16 + 8], colour, atol=6)


def test_adobe_inverted_cmyk_is_not_read_as_a_negative(tmp_path: Path) -> None:
    """Photoshop stores CMYK JPEGs inverted and says so in an Adobe APP14 marker; Pillow writes them the same
    way, so a white page must come back white, not black."""
    white = Image.new("CMYK", (32, 32), (0, 0, 0, 0))
    path = factory.save_pillow(tmp_path / "white.jpg", white, quality=100)
    assert b"Adobe" in path.read_bytes()[:200]
    assert read_photo(path).color.min() >= 250


# --- orientation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", ALL_ORIENTATIONS)
def test_exif_orientation_of_jpeg_is_applied_like_pillow_does(tmp_path: Path, orientation: int) -> None:
    path = factory.save_pillow(
        tmp_path / "o.jpg", factory.astronaut(), exif=factory.exif_bytes(orientation), quality=95, dpi=(300, 150)
    )
    photo = read_photo(path)
    np.testing.assert_array_equal(photo.color, pillow_upright_bgr(path))
    assert photo.info.orientation == orientation
    assert exif_orientation(photo.info.exif) == 1
    upright_width = 64 if orientation >= 5 else 96
    assert (photo.info.width, photo.info.height) == (upright_width, 160 - upright_width)
    assert photo.info.dpi == ((150, 300) if orientation >= 5 else (300, 150))


@pytest.mark.parametrize("orientation", ALL_ORIENTATIONS)
def test_orientation_of_16bit_png_and_tiff_and_8bit_tiff(tmp_path: Path, orientation: int) -> None:
    rgb8 = factory.astronaut()
    rgb16 = factory.to16(rgb8)
    reference = Image.fromarray(rgb8)
    reference_exif = reference.getexif()
    reference_exif[factory.ORIENTATION] = orientation
    reference.info["exif"] = reference_exif.tobytes()
    upright8 = bgr(np.asarray(ImageOps.exif_transpose(reference)))
    upright16 = apply_orientation(bgr(rgb16), orientation)
    assert (to_8bit(upright16) == upright8).mean() > 0.5  # same turn as Pillow (low bytes differ)
    np.testing.assert_array_equal((upright16 >> 8).astype(np.uint8), upright8)

    png16 = factory.save_png_opencv(tmp_path / "o.png", rgb16, exif=factory.exif_bytes(orientation))
    tif16 = factory.save_tiff(tmp_path / "o16.tif", rgb16, orientation=orientation, compression="zlib")
    tif8 = factory.save_tiff(tmp_path / "o8.tif", rgb8, orientation=orientation)
    for path, expected in ((png16, upright16), (tif16, upright16), (tif8, upright8)):
        photo = read_photo(path)
        np.testing.assert_array_equal(photo.color, expected, err_msg=path.name)
        assert photo.info.orientation == orientation


def test_orientation_turns_alpha_too(tmp_path: Path) -> None:
    rgba = np.dstack([factory.astronaut(), factory.alpha_ramp(64, 96)])
    image = Image.fromarray(rgba, "RGBA")
    path = factory.save_pillow(tmp_path / "o.png", image, exif=factory.exif_bytes(6))
    photo = read_photo(path)
    with Image.open(path) as source:
        expected = np.asarray(ImageOps.exif_transpose(source))
    np.testing.assert_array_equal(photo.alpha, expected[..., 3])
    assert photo.alpha.shape == (96, 64)


def test_orientation_reset_changes_only_the_orientation_bytes(tmp_path: Path) -> None:
    original = factory.exif_bytes(8)
    path = factory.save_pillow(tmp_path / "o.jpg", factory.astronaut(), exif=original)
    kept = read_photo(path).info.exif
    assert len(kept) == len(original)
    differing = [index for index, (a, b) in enumerate(zip(kept, original, strict=True)) if a != b]
    assert len(differing) == 1  # one byte of the big-endian SHORT value: 8 -> 1
    exif = Image.Exif()
    exif.load(kept)
    assert exif[factory.ORIENTATION] == 1 and exif[factory.MAKE] == "Kodak"
    assert exif.get_ifd(factory.EXIF_IFD)[factory.DATE_TAKEN] == "1952:07:14 15:30:00"


def test_xmp_orientation_is_reset_when_the_pixels_were_turned(tmp_path: Path) -> None:
    path = factory.save_pillow(tmp_path / "o.jpg", factory.astronaut(), exif=factory.exif_bytes(6), xmp=factory.xmp(6))
    info = read_photo(path).info
    assert b'tiff:Orientation="1"' in info.xmp and b"Grandma 1952" in info.xmp
    assert xmp_with_upright_orientation(b"<tiff:Orientation>3</tiff:Orientation>") == (
        b"<tiff:Orientation>1</tiff:Orientation>"
    )


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_damaged_exif_is_kept_unchanged_and_not_applied(tmp_path: Path) -> None:
    damaged = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12"  # IFD0 claims 5 entries, has none
    path = factory.save_pillow(tmp_path / "d.jpg", factory.astronaut(), exif=damaged)
    photo = read_photo(path)
    assert photo.info.exif == damaged and photo.info.orientation == 1
    assert any("EXIF" in note and "damaged" in note for note in photo.info.notes)


# --- the EXIF / TIFF structure parser ----------------------------------------------------------------------


def _classic_tiff(order: str, orientation_type: int, value: int) -> bytearray:
    mark = b"II" if order == "<" else b"MM"
    entry = struct.pack(order + "HHI", 0x0112, orientation_type, 1)
    entry += struct.pack(
        order + ("HH" if orientation_type == 3 else "I"), *((value, 0) if orientation_type == 3 else (value,))
    )
    return bytearray(mark + struct.pack(order + "HI", 42, 8) + struct.pack(order + "H", 1) + entry + b"\0\0\0\0")


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("kind", [3, 4])
def test_orientation_in_both_byte_orders_and_types(order: str, kind: int) -> None:
    data = _classic_tiff(order, kind, 6)
    assert tiff_orientation(data) == 6
    assert reset_tiff_orientation(data) == 6
    assert tiff_orientation(data) == 1


def test_orientation_in_bigtiff(tmp_path: Path) -> None:
    path = factory.save_tiff(tmp_path / "big.tif", factory.astronaut(), orientation=7, bigtiff=True)
    data = bytearray(path.read_bytes())
    assert data[2] == 43 and tiff_orientation(data) == 7
    reset_tiff_orientation(data)
    assert tifffile_orientation(bytes(data)) == 1


def tifffile_orientation(data: bytes) -> int:
    import io

    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        return int(tiff.pages[0].tags["Orientation"].value)


def test_exif_without_orientation_or_thumbnail_is_returned_unchanged() -> None:
    block = factory.exif_bytes(None)
    assert exif_for_result(block) == block
    assert exif_orientation(block) == 1


def test_the_stale_thumbnail_is_unlinked(tmp_path: Path) -> None:
    """IFD1 holds a small copy of the old picture that file browsers show: the result must not point to it."""
    block = factory.exif_bytes_with_thumbnail(orientation=3)
    with_thumbnail = Image.Exif()
    with_thumbnail.load(block)
    assert with_thumbnail.get_ifd(ExifTags.IFD.IFD1)  # IFD1 is there before
    path = factory.save_pillow(tmp_path / "t.jpg", factory.astronaut(), exif=block)
    kept = read_photo(path).info.exif
    assert len(kept) == len(block)
    exif = Image.Exif()
    exif.load(kept)
    assert not exif.get_ifd(ExifTags.IFD.IFD1) and exif[factory.ORIENTATION] == 1 and exif[factory.MAKE] == "Kodak"


@pytest.mark.parametrize("garbage", [b"", b"XX\x00\x2a", b"II\x2b\x00", b"MM\x00\x2a\xff\xff\xff\xf0"])
def test_garbage_is_not_a_tiff_structure(garbage: bytes) -> None:
    with pytest.raises(ExifFormatError):
        tiff_orientation(garbage)


# --- other metadata ------------------------------------------------------------------------------------------


def test_icc_dpi_xmp_are_read_from_jpeg_png_tiff_webp(tmp_path: Path) -> None:
    profile = factory.srgb_profile()
    rgb = factory.astronaut()
    for name in ("m.jpg", "m.png", "m.tif", "m.webp"):
        params = {"icc_profile": profile, "exif": factory.exif_bytes(1)}
        if not name.endswith(".webp"):
            params["dpi"] = (300, 300)
        photo = read_photo(factory.save_pillow(tmp_path / name, rgb, **params))
        assert photo.info.icc_profile == profile, name
        if not name.endswith(".webp"):
            assert photo.info.dpi == pytest.approx((300, 300), abs=0.01), name
        exif = Image.Exif()
        exif.load(photo.info.exif)
        assert exif[factory.ARTIST] == "Grandpa", name


def test_tiff_tags_become_exif_without_layout_tags(tmp_path: Path) -> None:
    path = factory.save_tiff(
        tmp_path / "t.tif",
        factory.astronaut(),
        extratags=[(315, "s", 0, "Grandpa", True)],
        iccprofile=factory.srgb_profile(),
        resolution=(600, 600),
        resolutionunit="INCH",
    )
    info = read_photo(path).info
    exif = Image.Exif()
    exif.load(info.exif)
    assert exif[factory.ARTIST] == "Grandpa"
    assert 273 not in exif and 256 not in exif  # no StripOffsets, no ImageWidth
    assert info.dpi == (600, 600) and info.icc_profile == factory.srgb_profile()
    assert info.tiff is not None and info.tiff.compression == "raw"


def test_webp_lossless_is_recognised(tmp_path: Path) -> None:
    rgb = factory.astronaut()
    assert read_photo(factory.save_pillow(tmp_path / "l.webp", rgb, lossless=True)).info.webp_lossless
    assert not read_photo(factory.save_pillow(tmp_path / "q.webp", rgb, quality=80)).info.webp_lossless
    rgba = np.dstack([rgb, factory.alpha_ramp(64, 96)])
    assert not read_photo(factory.save_pillow(tmp_path / "qa.webp", rgba, quality=80)).info.webp_lossless
    assert read_photo(factory.save_pillow(tmp_path / "la.webp", rgba, lossless=True)).info.webp_lossless


def test_extra_pages_and_frames_are_reported(tmp_path: Path) -> None:
    first, second = Image.fromarray(factory.astronaut()), Image.fromarray(factory.astronaut()[::-1].copy())
    tiff = tmp_path / "pages.tif"
    first.save(tiff, save_all=True, append_images=[second])
    photo = read_photo(tiff)
    np.testing.assert_array_equal(photo.color, bgr(factory.astronaut()))
    assert any("2 pages" in note for note in photo.info.notes)
    mpo = tmp_path / "stereo.jpg"
    first.save(mpo, "MPO", save_all=True, append_images=[second])
    photo = read_photo(mpo)
    assert photo.info.format == "JPEG" and any("MPO" in note for note in photo.info.notes)


def test_png_text_chunks_are_collected_for_png_output(tmp_path: Path) -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Title", "Grandma 1952")
    text.add_itxt("Description", "Größe", lang="de")
    path = factory.save_pillow(tmp_path / "t.png", factory.astronaut(), pnginfo=text, exif=factory.exif_bytes(1))
    info = read_photo(path).info
    assert [chunk.type for chunk in info.png_chunks] == [b"tEXt", b"iTXt"]
    assert info.png_chunks[0].data == b"Title\x00Grandma 1952"
    assert info.exif is not None


def test_jpeg_dpi_is_what_the_file_declares_never_pillows_72(tmp_path: Path) -> None:
    rgb = factory.astronaut()
    assert read_photo(factory.save_pillow(tmp_path / "none.jpg", rgb, exif=factory.exif_bytes(1))).info.dpi is None
    assert read_photo(factory.save_pillow(tmp_path / "jfif.jpg", rgb, dpi=(300, 200))).info.dpi == (300, 200)
    exif = factory.exif(1)
    exif[0x011A], exif[0x011B], exif[0x0128] = 118.0, 118.0, 3  # dots per centimetre
    info = read_photo(factory.save_pillow(tmp_path / "exif.jpg", rgb, exif=exif.tobytes())).info
    assert info.dpi == pytest.approx((299.72, 299.72))


def test_iptc_stored_as_long_in_tiff_is_kept_byte_for_byte(tmp_path: Path) -> None:
    """Photoshop types the IPTC tag as LONG; the bytes must come back in the file's byte order."""
    iptc = b"\x1c\x02\x05\x00\x07Grandma\x00\x00\x00\x00"  # a multiple of 4 bytes
    words = np.frombuffer(iptc, "<u4").tolist()
    path = factory.save_tiff(tmp_path / "i.tif", factory.astronaut(), extratags=[(33723, 4, len(words), words, True)])
    assert read_photo(path).info.tiff.iptc == iptc


def test_a_damaged_xmp_chunk_is_reported_not_fatal(tmp_path: Path) -> None:
    png = factory.save_pillow(tmp_path / "ok.png", factory.astronaut()).read_bytes()
    damaged = factory.insert_png_chunk(png, b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00not zlib")
    photo = read_photo(factory.write_bytes(tmp_path / "x.png", damaged))
    assert photo.info.xmp is None and any("XMP" in note for note in photo.info.notes)
