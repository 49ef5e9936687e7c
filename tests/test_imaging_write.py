"""Writing results: lossless round trips, format choice, quality, grey, alpha, and every kind of metadata."""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import image_factory as factory
import numpy as np
import pytest
import tifffile
from PIL import Image, JpegImagePlugin, PngImagePlugin

from codeformer_app.imaging import (
    OUTPUT_FORMATS,
    ImageWriteError,
    PhotoInfo,
    output_path,
    read_photo,
    to_8bit,
    write_photo,
)
from codeformer_app.imaging.png_chunks import chunk_types


def round_trip(source: Path, out_dir: Path, fmt: str | None = None, **kwargs):
    """Read ``source``, write it unchanged to ``out_dir``, read the result back."""
    photo = read_photo(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = write_photo(output_path(source.name, out_dir, fmt), photo.color, photo.alpha, photo.info, fmt, **kwargs)
    return photo, result, read_photo(result.path)


def assert_same_pixels(a, b) -> None:
    np.testing.assert_array_equal(a.color, b.color)
    if a.alpha is None:
        assert b.alpha is None
    else:
        np.testing.assert_array_equal(a.alpha, b.alpha)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.PSNR(a, b))


# --- lossless round trips ------------------------------------------------------------------------------------


def lossless_sources(folder: Path) -> dict[str, Path]:
    rgb = factory.astronaut()
    rgb16 = factory.to16(rgb)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    grey16 = factory.to16(grey)
    alpha, alpha16 = factory.alpha_ramp(64, 96), factory.alpha_ramp(64, 96, np.uint16)
    return {
        "png rgb8": factory.save_pillow(folder / "rgb8.png", rgb),
        "png rgba8": factory.save_pillow(folder / "rgba8.png", np.dstack([rgb, alpha])),
        "png grey8": factory.save_pillow(folder / "grey8.png", grey),
        "png la8": factory.save_pillow(folder / "la8.png", Image.fromarray(np.dstack([grey, alpha]), "LA")),
        "png rgb16": factory.save_png_opencv(folder / "rgb16.png", rgb16),
        "png rgba16": factory.save_png_opencv(folder / "rgba16.png", np.dstack([rgb16, alpha16])),
        "png grey16": factory.save_png_opencv(folder / "grey16.png", grey16),
        "tif rgb8": factory.save_tiff(folder / "rgb8.tif", rgb, compression="zlib"),
        "tif rgba8": factory.save_tiff(folder / "rgba8.tif", np.dstack([rgb, alpha]), extrasamples=["unassalpha"]),
        "tif grey8": factory.save_tiff(folder / "grey8.tif", grey, photometric="minisblack"),
        "tif la8": factory.save_pillow(folder / "la8.tif", Image.fromarray(np.dstack([grey, alpha]), "LA")),
        "tif rgb16": factory.save_tiff(folder / "rgb16.tif", rgb16, compression="zlib"),
        "tif rgba16": factory.save_tiff(
            folder / "rgba16.tif", np.dstack([rgb16, alpha16]), extrasamples=["unassalpha"]
        ),
        "tif grey16": factory.save_tiff(folder / "grey16.tif", grey16, photometric="minisblack"),
        "bmp rgb8": factory.save_pillow(folder / "rgb8.bmp", rgb),
        "webp lossless rgba": factory.save_pillow(folder / "rgba.webp", np.dstack([rgb, alpha]), lossless=True),
    }


def test_lossless_formats_round_trip_exactly(tmp_path: Path) -> None:
    """Read then write without changes: same pixels, same bit depth, grey stays grey, alpha stays."""
    for case, source in lossless_sources(tmp_path / "in").items():
        photo, result, again = round_trip(source, tmp_path / "out")
        assert_same_pixels(photo, again)
        assert again.info.bit_depth == photo.info.bit_depth, case
        assert again.info.grey == photo.info.grey, case
        assert again.info.format == photo.info.format == result.format, case
        assert result.notes == (), (case, result.notes)


def test_grey_is_written_as_one_channel(tmp_path: Path) -> None:
    grey_cases = ("png grey8", "png la8", "png grey16", "tif grey8", "tif la8", "tif grey16")
    for case, source in lossless_sources(tmp_path / "in").items():
        if case not in grey_cases:
            continue
        _, result, _ = round_trip(source, tmp_path / "out")
        with Image.open(result.path) as image:
            assert image.getbands() in (("L",), ("L", "A"), ("I",)), case
        if result.format == "TIFF":
            with tifffile.TiffFile(result.path) as tiff:
                assert tiff.pages[0].photometric == tifffile.PHOTOMETRIC.MINISBLACK


@pytest.mark.parametrize("fmt", ["png", "tif"])
def test_16bit_grey_alpha_becomes_16bit_rgba(tmp_path: Path, fmt: str) -> None:
    """No encoder here writes 16-bit grey + alpha PNG, and Pillow cannot read such a TIFF: RGBA keeps every value."""
    grey = factory.to16(cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY))
    alpha = factory.alpha_ramp(64, 96, np.uint16)
    source = factory.png_grey_alpha_16(tmp_path / "ga.png", grey, alpha)
    photo, result, again = round_trip(source, tmp_path / "o", fmt)
    assert_same_pixels(photo, again)
    assert again.info.bit_depth == 16 and any("RGBA" in note for note in result.notes)


def test_16bit_to_jpeg_and_webp_becomes_rounded_8bit(tmp_path: Path) -> None:
    rgb16 = factory.to16(factory.astronaut(192, 128))
    photo = read_photo(factory.save_png_opencv(tmp_path / "a.png", rgb16))
    expected = to_8bit(photo.color)
    (tmp_path / "o").mkdir()
    for fmt in ("webp", "jpg"):
        result = write_photo(output_path("a.png", tmp_path / "o", fmt), photo.color, None, photo.info, fmt, quality=100)
        again = read_photo(result.path)
        assert again.info.bit_depth == 8 and any("16-bit" in note for note in result.notes)
        assert psnr(again.color, expected) > 40, fmt


def test_writing_over_an_existing_result_replaces_it_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    source = factory.save_pillow(tmp_path / "in" / "a.png", factory.astronaut())
    photo = read_photo(source)
    target = tmp_path / "out" / "a.png"
    factory.write_bytes(target, b"old")
    write_photo(target, photo.color, photo.alpha, photo.info)
    assert os.listdir(target.parent) == ["a.png"]
    assert_same_pixels(read_photo(target), photo)


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", factory.astronaut()))
    umask = os.umask(0o022)
    try:
        result = write_photo(tmp_path / "a-out.png", photo.color, None, photo.info)
    finally:
        os.umask(umask)
    assert result.path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("name", ["grandmère.png", "фото 1952.jpg", "祖母.tif"])
def test_non_ascii_paths_are_written(tmp_path: Path, name: str) -> None:
    source = factory.save_pillow(tmp_path / "Quelle" / name, factory.astronaut())
    photo, result, again = round_trip(source, tmp_path / "Résultats — 結果")
    assert result.path == tmp_path / "Résultats — 結果" / name
    assert again.color.shape == photo.color.shape


# --- output names and formats ----------------------------------------------------------------------------------


def test_output_path_keeps_the_name_unless_a_format_is_asked(tmp_path: Path) -> None:
    assert output_path("Grandma.JPG", tmp_path, None) == tmp_path / "Grandma.JPG"
    assert output_path("Grandma.JPG", tmp_path, "jpg") == tmp_path / "Grandma.JPG"
    assert output_path("Grandma.JPG", tmp_path, "png") == tmp_path / "Grandma.png"
    assert output_path("scan.tiff", tmp_path, "tif") == tmp_path / "scan.tiff"
    assert output_path("scan.tiff", tmp_path, "webp") == tmp_path / "scan.webp"
    assert output_path("a.b.jpeg", tmp_path, "tif") == tmp_path / "a.b.tif"
    assert output_path("../../etc/evil.png", tmp_path) == tmp_path / "evil.png"
    assert output_path("misnamed.jpg", tmp_path, None, source_format="PNG") == tmp_path / "misnamed.png"
    assert set(OUTPUT_FORMATS) == {"png", "jpg", "webp", "tif"}
    with pytest.raises(ValueError, match="unknown output format"):
        output_path("a.png", tmp_path, "gif")


def test_write_refuses_arguments_that_cannot_be_right(tmp_path: Path) -> None:
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", factory.astronaut()))
    with pytest.raises(ValueError, match="extension"):
        write_photo(tmp_path / "o.png", photo.color, None, photo.info, "jpg")
    with pytest.raises(ValueError, match="quality"):
        write_photo(tmp_path / "o.jpg", photo.color, None, photo.info, "jpg", quality=0)
    with pytest.raises(ValueError, match="alpha"):
        write_photo(tmp_path / "o.png", photo.color, np.zeros((3, 3), np.uint8), photo.info)
    with pytest.raises(ValueError, match="color"):
        write_photo(tmp_path / "o.png", photo.color[..., 0], None, photo.info)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_the_input_file_is_never_overwritten(tmp_path: Path) -> None:
    source = factory.save_pillow(tmp_path / "a.png", factory.astronaut())
    before = source.read_bytes()
    photo = read_photo(source)
    with pytest.raises(ImageWriteError, match="input file"):
        write_photo(source, np.zeros_like(photo.color), None, photo.info)
    assert source.read_bytes() == before


def test_format_conversions_write_what_was_asked(tmp_path: Path) -> None:
    rgba = np.dstack([factory.astronaut(), factory.alpha_ramp(64, 96)])
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", rgba))
    expected = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP", "tif": "TIFF"}
    (tmp_path / "o").mkdir()
    for fmt in OUTPUT_FORMATS:
        result = write_photo(output_path("a.png", tmp_path / "o", fmt), photo.color, photo.alpha, photo.info, fmt)
        with Image.open(result.path) as image:
            assert image.format == expected[fmt]
        again = read_photo(result.path)
        if fmt == "jpg":
            assert again.alpha is None and any("alpha" in note for note in result.notes)
        else:
            np.testing.assert_array_equal(again.alpha, photo.alpha)


# --- JPEG and WebP quality -----------------------------------------------------------------------------------


def test_jpeg_reuses_the_source_tables_and_sampling_unless_a_quality_is_given(tmp_path: Path) -> None:
    source = factory.save_pillow(tmp_path / "a.jpg", factory.astronaut(), quality=72, subsampling=1)
    photo, result, again = round_trip(source, tmp_path / "same")
    with Image.open(source) as before, Image.open(result.path) as after:
        assert after.quantization == before.quantization
        assert JpegImagePlugin.get_sampling(after) == 1
    assert psnr(again.color, photo.color) > 35
    _, result, again = round_trip(source, tmp_path / "q", quality=91)
    assert again.info.jpeg.quality == 91


def test_jpeg_from_another_format_uses_quality_95_and_full_colour_resolution(tmp_path: Path) -> None:
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", factory.astronaut()))
    result = write_photo(tmp_path / "a.jpg", photo.color, None, photo.info, "jpg")
    again = read_photo(result.path)
    assert again.info.jpeg.quality == 95 and again.info.jpeg.subsampling == 0
    assert psnr(again.color, photo.color) > 38


def test_webp_lossless_stays_lossless_and_lossy_uses_95(tmp_path: Path) -> None:
    rgb = factory.astronaut()
    _, result, _ = round_trip(factory.save_pillow(tmp_path / "l.webp", rgb, lossless=True), tmp_path / "o")
    assert read_photo(result.path).info.webp_lossless
    photo, result, again = round_trip(factory.save_pillow(tmp_path / "q.webp", rgb, quality=60), tmp_path / "o")
    assert not again.info.webp_lossless and psnr(again.color, photo.color) > 35
    small = write_photo(tmp_path / "s.webp", photo.color, None, photo.info, quality=10)
    assert small.path.stat().st_size < result.path.stat().st_size


def test_alpha_survives_lossy_webp_exactly(tmp_path: Path) -> None:
    rgba = np.dstack([factory.astronaut(), factory.alpha_ramp(64, 96)])
    photo = read_photo(factory.save_pillow(tmp_path / "a.png", rgba))
    result = write_photo(tmp_path / "a.webp", photo.color, photo.alpha, photo.info, "webp")
    np.testing.assert_array_equal(read_photo(result.path).alpha, photo.alpha)


# --- grey sources with restored (coloured) faces -------------------------------------------------------------


def test_grey_output_keeps_untouched_pixels_and_turns_colour_into_luminance(tmp_path: Path) -> None:
    for name, grey in (
        ("g8.png", cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY)),
        ("g16.png", factory.to16(cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY))),
    ):
        source = (factory.save_pillow if grey.dtype == np.uint8 else factory.save_png_opencv)(tmp_path / name, grey)
        photo = read_photo(source)
        color = photo.color.copy()
        face = (slice(10, 40), slice(20, 60))
        top = np.iinfo(grey.dtype).max
        color[face] = (top // 5, top // 2, top)  # a "restored" face with colour in it (B, G, R)
        result = write_photo(tmp_path / f"out-{name}", color, None, photo.info)
        again = read_photo(result.path)
        assert again.info.grey
        outside = np.ones(grey.shape, bool)
        outside[face] = False
        np.testing.assert_array_equal(again.color[..., 0][outside], grey[outside])
        luma = cv2.cvtColor(color[face], cv2.COLOR_BGR2GRAY)
        np.testing.assert_array_equal(again.color[..., 0][face], luma)


# --- metadata ---------------------------------------------------------------------------------------------------


def exif_of(path: Path) -> Image.Exif:
    with Image.open(path) as image:
        exif = image.getexif()
        for pointer in (factory.EXIF_IFD, factory.GPS_IFD):
            exif.get_ifd(pointer)
        return exif


def test_metadata_survives_every_output_format(tmp_path: Path) -> None:
    profile = factory.srgb_profile()
    source = factory.save_pillow(
        tmp_path / "a.jpg",
        factory.astronaut(),
        exif=factory.exif_bytes(6),
        icc_profile=profile,
        dpi=(300, 300),
        xmp=factory.xmp(6),
    )
    photo = read_photo(source)
    (tmp_path / "o").mkdir()
    for fmt in OUTPUT_FORMATS:
        result = write_photo(output_path("a.jpg", tmp_path / "o", fmt), photo.color, None, photo.info, fmt)
        again = read_photo(result.path)
        assert again.info.icc_profile == profile, fmt
        assert again.info.orientation == 1 and again.color.shape == photo.color.shape, fmt
        assert again.info.xmp is not None and b'tiff:Orientation="1"' in again.info.xmp, fmt
        exif = exif_of(result.path)
        assert exif[factory.ARTIST] == "Grandpa" and exif[factory.COPYRIGHT] == "Family archive", fmt
        assert exif.get(factory.ORIENTATION, 1) == 1, fmt
        if fmt == "tif":
            assert any("camera details" in note for note in result.notes)
        else:
            assert exif.get_ifd(factory.EXIF_IFD)[factory.DATE_TAKEN] == "1952:07:14 15:30:00", fmt
            assert exif.get_ifd(factory.GPS_IFD)[factory.GPS_LATITUDE_REF] == "N", fmt
        if fmt == "webp":
            assert again.info.dpi is None and any("DPI" in note for note in result.notes)
        else:
            assert again.info.dpi == pytest.approx((300, 300), abs=0.01), fmt


def test_exif_is_copied_byte_for_byte_into_jpeg(tmp_path: Path) -> None:
    original = factory.exif_bytes(1)
    source = factory.save_pillow(tmp_path / "a.jpg", factory.astronaut(), exif=original)
    _, result, _ = round_trip(source, tmp_path / "o")
    with Image.open(result.path) as image:
        assert image.info["exif"] == original


def test_jpeg_comment_and_iptc_are_kept_in_jpeg(tmp_path: Path) -> None:
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0b\x1c\x02\x05\x00\x06Grandma\x00"
    buffer = io.BytesIO()
    Image.fromarray(factory.astronaut()).save(
        buffer, "JPEG", comment=b"scanned 2024", extra=b"\xff\xed" + len(iptc).to_bytes(2, "big") + iptc
    )
    # Pillow's `extra` takes the marker length as given: fix it to include the two length bytes.
    data = buffer.getvalue().replace(
        b"\xff\xed" + len(iptc).to_bytes(2, "big"), b"\xff\xed" + (len(iptc) + 2).to_bytes(2, "big")
    )
    source = factory.write_bytes(tmp_path / "a.jpg", data)
    photo, result, _ = round_trip(source, tmp_path / "o")
    with Image.open(result.path) as image:
        assert image.info["comment"] == b"scanned 2024"
        assert ("APP13", iptc) in image.applist
    result = write_photo(tmp_path / "a.png", photo.color, None, photo.info, "png")
    assert any("IPTC" in note for note in result.notes) and any("comment" in note for note in result.notes)


def test_png_text_chunks_are_copied_into_png(tmp_path: Path) -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Title", "Grandma 1952")
    text.add_itxt("Description", "Größe", lang="de")
    source = factory.save_pillow(tmp_path / "a.png", factory.astronaut(), pnginfo=text)
    _, result, _ = round_trip(source, tmp_path / "o")
    with Image.open(result.path) as image:
        image.load()
        assert image.info["Title"] == "Grandma 1952" and image.info["Description"] == "Größe"
    assert chunk_types(result.path.read_bytes())[0] == b"IHDR"


def test_16bit_png_gets_profile_exif_dpi_and_xmp(tmp_path: Path) -> None:
    """No library writes these into a 16-bit colour PNG; our chunk writer does, and Pillow reads them back."""
    rgb16 = factory.to16(factory.astronaut())
    tif = factory.save_tiff(
        tmp_path / "a.tif",
        rgb16,
        iccprofile=factory.srgb_profile(),
        resolution=(600, 600),
        resolutionunit="INCH",
        extratags=[(315, "s", 0, "Grandpa", True), (700, "B", len(factory.xmp()), factory.xmp(), True)],
    )
    photo = read_photo(tif)
    result = write_photo(tmp_path / "a.png", photo.color, None, photo.info, "png")
    with Image.open(result.path) as image:
        assert image.info["icc_profile"] == factory.srgb_profile()
        assert image.info["dpi"] == pytest.approx((600, 600), abs=0.01)
        assert image.getexif()[factory.ARTIST] == "Grandpa"
    again = read_photo(result.path)
    assert again.info.bit_depth == 16 and again.info.xmp == factory.xmp()
    np.testing.assert_array_equal(again.color, photo.color)


def test_tiff_keeps_iptc_xmp_profile_resolution_and_compression_choice(tmp_path: Path) -> None:
    iptc = b"\x1c\x02\x05\x00\x07Grandma\x00"
    rgb16 = factory.to16(factory.astronaut())
    tif = factory.save_tiff(
        tmp_path / "a.tif",
        rgb16,
        iccprofile=factory.srgb_profile(),
        resolution=(600, 600),
        resolutionunit="INCH",
        extratags=[(33723, 7, len(iptc), iptc, True), (700, "B", len(factory.xmp()), factory.xmp(), True)],
    )
    _, _, again = round_trip(tif, tmp_path / "o")
    assert again.info.tiff.iptc == iptc and again.info.xmp == factory.xmp()
    assert again.info.icc_profile == factory.srgb_profile() and again.info.dpi == (600, 600)
    assert again.info.tiff.compression == "raw"  # uncompressed stays uncompressed
    lzw = factory.save_pillow(tmp_path / "lzw.tif", factory.astronaut(), compression="tiff_lzw")
    _, _, again = round_trip(lzw, tmp_path / "o")
    assert again.info.tiff.compression == "tiff_adobe_deflate"  # compressed stays compressed, losslessly


def test_a_profile_is_never_attached_to_data_of_another_colour_space(tmp_path: Path) -> None:
    grey = cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY)
    photo = read_photo(factory.save_pillow(tmp_path / "g.jpg", grey, icc_profile=factory.srgb_profile()))
    result = write_photo(tmp_path / "g.png", photo.color, None, photo.info, "png")
    assert read_photo(result.path).info.icc_profile is None
    assert any("profile" in note for note in result.notes)


def test_cmyk_jpeg_is_written_as_rgb_without_the_cmyk_profile(tmp_path: Path) -> None:
    source = factory.save_pillow(
        tmp_path / "c.jpg", factory.cmyk_patches(), quality=100, icc_profile=factory.cmyk_like_profile()
    )
    _, result, _ = round_trip(source, tmp_path / "o")
    with Image.open(result.path) as image:
        assert image.mode == "RGB" and "icc_profile" not in image.info


def test_info_round_trip_of_a_photo_info_is_enough_to_write(tmp_path: Path) -> None:
    """The pipeline may build a PhotoInfo by hand (e.g. for a pasted image): the defaults must be writable."""
    info = PhotoInfo(path=tmp_path / "clip.png", format="PNG", width=96, height=64, bit_depth=8, grey=False, cmyk=False)
    rgb = factory.astronaut()
    (tmp_path / "o").mkdir()
    for fmt in OUTPUT_FORMATS:
        result = write_photo(output_path("clip.png", tmp_path / "o", fmt), rgb[..., ::-1].copy(), None, info, fmt)
        assert read_photo(result.path).color.shape == (64, 96, 3)


def test_a_grey_profile_stays_with_grey_data(tmp_path: Path) -> None:
    grey = cv2.cvtColor(factory.astronaut(), cv2.COLOR_RGB2GRAY)
    profile = factory.grey_like_profile()
    photo = read_photo(factory.save_pillow(tmp_path / "g.png", grey, icc_profile=profile))
    for fmt in ("png", "tif", "jpg"):
        result = write_photo(tmp_path / f"g-out.{fmt}", photo.color, None, photo.info, fmt)
        assert read_photo(result.path).info.icc_profile == profile, fmt
    result = write_photo(tmp_path / "g-out.webp", photo.color, None, photo.info, "webp")  # WebP is RGB only
    assert read_photo(result.path).info.icc_profile is None and any("profile" in n for n in result.notes)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_damaged_exif_block_never_stops_a_write(tmp_path: Path) -> None:
    for number, damaged in enumerate([b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05", b"Exif\x00\x00garbage!"]):
        photo = read_photo(factory.save_pillow(tmp_path / f"d{number}.jpg", factory.astronaut(), exif=damaged))
        for fmt in OUTPUT_FORMATS:
            result = write_photo(tmp_path / f"d{number}-out.{fmt}", photo.color, None, photo.info, fmt)
            assert read_photo(result.path).color.shape == (64, 96, 3)


def test_8bit_pixels_for_a_16bit_source_are_written_as_8bit(tmp_path: Path) -> None:
    photo = read_photo(factory.save_png_opencv(tmp_path / "a.png", factory.to16(factory.astronaut())))
    result = write_photo(tmp_path / "a8.png", to_8bit(photo.color), None, photo.info)
    assert read_photo(result.path).info.bit_depth == 8


def test_a_misnamed_source_keeps_its_content_format(tmp_path: Path) -> None:
    """A PNG called .jpg (as batch planning names the result before reading): written as PNG, losslessly."""
    rgba = np.dstack([factory.astronaut(), factory.alpha_ramp(64, 96)])
    source = factory.save_pillow(tmp_path / "in" / "photo.jpg", rgba, "PNG")
    photo, result, again = round_trip(source, tmp_path / "out")
    assert result.path.name == "photo.jpg" and again.info.format == "PNG"
    assert_same_pixels(photo, again)
    assert any("like the source" in note for note in result.notes)
