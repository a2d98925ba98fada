"""Decoding photos: orientation, reduced-size decoding, and clear errors for bad files."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from edge_app.engine.decode import ImageError, decode_image, is_image_name
from edge_app.engine.metadata import haversine_m, read_meta


def jpeg_bytes(w=1200, h=800, exif=None, quality=90) -> bytes:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    arr[: h // 2, : w // 2] = (255, 0, 0)  # red top-left quadrant marks the orientation
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality, exif=exif if exif is not None else Image.Exif())
    return buf.getvalue()


def test_large_jpeg_is_decoded_small_and_never_upscaled():
    big = decode_image(jpeg_bytes(2400, 1600), max_side=768)
    assert max(big.rgb.shape[:2]) == 768 and big.full_size == (2400, 1600)
    assert big.rgb.dtype == np.uint8 and big.rgb.shape[2] == 3
    small = decode_image(jpeg_bytes(400, 300), max_side=768)
    assert small.rgb.shape[:2] == (300, 400)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    dec = decode_image(jpeg_bytes(1200, 800, exif), max_side=600)
    h, w = dec.rgb.shape[:2]
    assert (w, h) == (400, 600) and dec.full_size == (800, 1200)
    # the red quadrant was top-left in the stored image; displayed it is top-right
    top_right = dec.rgb[: h // 4, -w // 4 :].reshape(-1, 3).mean(0)
    assert top_right[0] > 200 and top_right[1] < 60


def test_png_with_alpha_and_greyscale_become_rgb(tmp_path):
    rgba = Image.new("RGBA", (64, 48), (10, 20, 30, 0))
    p = tmp_path / "a.png"
    rgba.save(p)
    assert decode_image(p).rgb.shape == (48, 64, 3)
    grey = Image.new("L", (64, 48), 77)
    q = tmp_path / "g.png"
    grey.save(q)
    assert decode_image(q).rgb[0, 0].tolist() == [77, 77, 77]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"this is a text file, not a photo\n", "not an image"),
    ],
)
def test_unusable_bytes_get_a_clear_reason(tmp_path, content, reason):
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.raises(ImageError) as e:
        decode_image(p)
    assert e.value.reason == reason and "bad.jpg" in str(e.value)


def test_truncated_jpeg_is_reported_not_crashing(tmp_path):
    data = jpeg_bytes(800, 600)
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageError) as e:
        decode_image(p)
    assert e.value.reason == "truncated or corrupt"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        decode_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageError, match="is a folder"):
        decode_image(tmp_path)


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_huge_image_is_refused_before_decoding():
    with pytest.raises(ImageError) as e:
        decode_image(_png_header_only(40000, 40000))
    assert e.value.reason == "too large"


def test_image_name_filter():
    assert is_image_name("IMG_0001.JPG") and is_image_name("a.heic") and not is_image_name("notes.txt")
    assert is_image_name("KakaoTalk_20240517_093015.jfif")  # what some phones and browsers save


def test_capture_time_and_gps_from_exif():
    exif = Image.Exif()
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:17 09:30:15"
    sub[0x9011] = "+09:00"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (37.0, 33.0, 36.0), 3: "E", 4: (126.0, 58.0, 12.0), 5: b"\x00", 6: 42.0})
    dec = decode_image(jpeg_bytes(320, 240, exif))
    meta = read_meta(dec.exif)
    assert meta.taken_at == pytest.approx(1715905815.0)  # 2024-05-17 00:30:15 UTC
    lat, lon, alt = meta.gps
    assert lat == pytest.approx(37.56) and lon == pytest.approx(126.97) and alt == pytest.approx(42.0)


def test_missing_exif_gives_empty_meta():
    meta = read_meta(decode_image(jpeg_bytes(64, 64)).exif)
    assert meta.taken_at is None and meta.gps is None


def test_haversine():
    # one degree of latitude is about 111.2 km
    assert haversine_m((37.0, 127.0), (38.0, 127.0)) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m((37.5, 127.0), (37.5, 127.0)) == 0.0


def test_heic_from_a_phone_decodes(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this pillow-heif build cannot encode HEIC")
    img = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (128, 2)).reshape(128, 512, 1).repeat(3, 2))
    p = tmp_path / "IMG_0001.HEIC"
    img.save(p, "HEIF", quality=90)
    assert is_image_name(p)
    dec = decode_image(p, max_side=256)
    assert dec.rgb.shape == (64, 256, 3) and dec.full_size == (512, 128)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(orientation):
    from PIL import ImageOps

    exif = Image.Exif()
    exif[0x0112] = orientation
    data = jpeg_bytes(160, 96, exif, quality=95)
    ref = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"), dtype=np.int16)
    got = decode_image(data, max_side=1024).rgb.astype(np.int16)
    assert got.shape == ref.shape
    assert np.abs(got - ref).mean() < 3  # same pixels up to the two decoders' rounding
