"""The guards of the one decode path (issue 7): what is read, what may decode it, the
budget of each photo and of the process, and what a caller is told.

Every file here is real (written by Pillow or by :mod:`filewriters`); nothing is mocked.
Where a limit is too large to reach in a test, the module's setting is lowered for the
test, and the real code path runs against it.
"""

from __future__ import annotations

import io
import os
import re
import stat
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import edge_app.engine.decode as decode
from edge_app.engine.decode import (ALLOWED_FORMATS, MAX_JPEG_SCANS, REASONS, ImageError, MemoryBudget, decode_image,
                             read_jpeg_header, read_photo_bytes, reason_ko, sniff_format)
from filewriters import jpeg_blocks, png_chunk, png_chunks, png_flat, png_ihdr, progressive_bomb_script
from hostile_corpus import _make_socket, raw_exif, rechunk_png
from scenes import views_of

VIEW = views_of(11, 1)[0]


def enc(img, fmt="JPEG", **kw) -> bytes:
    buf = io.BytesIO()
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, fmt, **kw)
    return buf.getvalue()


def reason(source, **kw) -> str:
    with pytest.raises(ImageError) as e:
        decode_image(source, 768, **kw)
    assert e.value.reason in REASONS, e.value.reason
    return e.value.reason


# --------------------------------------------------------------------------- reading


def _read_in_thread(path):
    """read_photo_bytes in a thread: (result or exception, still running after 5 s)."""
    out = []
    t = threading.Thread(target=lambda: out.append(_call(read_photo_bytes, path)), daemon=True)
    t.start()
    t.join(5)
    return (out[0] if out else None), t.is_alive()


def _call(f, *a):
    try:
        return f(*a)
    except ImageError as e:
        return e


def test_nothing_is_read_from_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    _make_socket(tmp_path / "sock.jpg")
    (tmp_path / "folder.jpg").mkdir()
    links = {"zero.jpg": "/dev/zero", "null.jpg": "/dev/null", "to_pipe.jpg": tmp_path / "pipe.jpg",
             "to_folder.jpg": tmp_path / "folder.jpg"}
    for name, target in links.items():
        os.symlink(target, tmp_path / name)
    want = {"pipe.jpg": ("not a regular file", "FIFO"), "sock.jpg": ("not a regular file", "socket"),
            "zero.jpg": ("not a regular file", "character device"),
            "null.jpg": ("not a regular file", "character device"),
            "to_pipe.jpg": ("not a regular file", "FIFO"), "folder.jpg": ("is a folder", ""),
            "to_folder.jpg": ("is a folder", "")}
    for name, (why, detail) in want.items():
        got, hung = _read_in_thread(tmp_path / name)
        assert not hung, f"{name}: reading blocked"
        assert isinstance(got, ImageError) and (got.reason, got.detail) == (why, detail), (name, got)
        assert reason(tmp_path / name) == why  # decode_image takes the same way in


def test_links_that_lead_nowhere_and_missing_files(tmp_path):
    os.symlink(tmp_path / "gone.jpg", tmp_path / "broken.jpg")
    os.symlink(tmp_path / "b.jpg", tmp_path / "a.jpg")
    os.symlink(tmp_path / "a.jpg", tmp_path / "b.jpg")
    assert read_photo_bytes.__defaults__ == (decode.MAX_FILE_BYTES,)
    for name, why in (("broken.jpg", "broken link"), ("a.jpg", "broken link"), ("missing.jpg", "file not found")):
        got = _call(read_photo_bytes, tmp_path / name)
        assert isinstance(got, ImageError) and got.reason == why, name


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as f:  # sparse: 1.5 GB on paper, nothing on disk
        f.write(b"\xff\xd8\xff\xe0")
        f.truncate(1_500_000_000)
    t = time.perf_counter()
    got = _call(read_photo_bytes, huge)
    assert isinstance(got, ImageError) and got.reason == "too large" and "1500000000 bytes" in got.detail
    assert time.perf_counter() - t < 0.5
    small = tmp_path / "small.jpg"
    small.write_bytes(enc(VIEW))
    assert read_photo_bytes(small) == small.read_bytes()
    got = _call(read_photo_bytes, small, 1000)  # the caller's own limit
    assert isinstance(got, ImageError) and got.reason == "too large"
    assert reason(bytes(decode.MAX_FILE_BYTES + 1)) == "too large"  # bytes handed over directly


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission(tmp_path):
    p = tmp_path / "locked.jpg"
    p.write_bytes(enc(VIEW))
    p.chmod(0)
    try:
        assert reason(p) == "permission denied"
    finally:
        p.chmod(stat.S_IRUSR | stat.S_IWUSR)


# --------------------------------------------------------------------------- only the app's own decoders


def test_postscript_named_jpg_never_reaches_ghostscript(tmp_path, monkeypatch):
    marker = tmp_path / "gs-ran"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f'#!/bin/sh\ntouch "{marker}"\n')
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    ps = tmp_path / "site.jpg"
    ps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 48\n0 0 moveto 64 48 lineto stroke showpage\n")
    assert reason(ps) == "not an image"
    # nobody in this process can open PostScript either: the plugin is gone, Ghostscript "missing"
    from PIL import EpsImagePlugin

    assert "EPS" not in Image.OPEN and EpsImagePlugin.has_ghostscript() is False
    with pytest.raises(UnidentifiedImageError):
        Image.open(ps)
    assert not marker.exists()


@pytest.mark.parametrize("fmt, kw, why", [
    ("JPEG2000", {}, "unsupported format"),
    ("PSD", None, "unsupported format"),
    ("TGA", {}, "not an image"),
    ("ICO", {}, "not an image"),
    ("PPM", {}, "not an image"),
    ("PCX", {}, "not an image"),
    ("SGI", {}, "not an image"),
])
def test_formats_pillow_reads_but_the_app_does_not_are_refused(fmt, kw, why):
    if kw is None:  # Pillow reads PSD but cannot write it: the header of a 1-layer RGB file
        data = b"8BPS\x00\x01" + bytes(6) + b"\x00\x03" + (48).to_bytes(4, "big") + (64).to_bytes(4, "big") \
            + b"\x00\x08\x00\x03" + bytes(12) + b"\x00\x00" + bytes(64 * 48 * 3)
    else:
        data = enc(Image.fromarray(VIEW).resize((64, 48)), fmt, **kw)
    if fmt != "PSD":
        assert Image.open(io.BytesIO(data)).format == fmt  # Pillow alone would decode it
    assert reason(data) == why
    assert fmt not in ALLOWED_FORMATS


def test_jpegs_pillow_cannot_read_are_an_unsupported_format():
    levels = np.stack([np.full((6, 8), 2000), np.full((6, 8), 2048), np.full((6, 8), 2048)])
    twelve = jpeg_blocks(levels, bits=12)
    with pytest.raises(UnidentifiedImageError):  # Pillow alone: "cannot identify"
        Image.open(io.BytesIO(twelve))
    with pytest.raises(ImageError) as e:
        decode_image(twelve)
    assert (e.value.reason, e.value.detail) == ("unsupported format", "12-bit JPEG")
    flat = np.full((1, 6, 8), 100)
    assert reason(jpeg_blocks(flat, sof=0xC3)) == "unsupported format"  # lossless
    assert reason(jpeg_blocks(flat, sof=0xC5)) == "unsupported format"  # hierarchical


def test_sniffing_tells_formats_apart():
    cases = {enc(VIEW): "JPEG", enc(VIEW, "PNG"): "PNG", enc(VIEW, "GIF"): "GIF", enc(VIEW, "WEBP"): "WEBP",
             enc(VIEW, "TIFF"): "TIFF", enc(VIEW, "BMP"): "BMP", enc(VIEW, "JPEG2000"): "JPEG2000",
             b"\xff\x0a\x00": "JPEG XL", b"8BPS": "PSD", b"\0\0\0\x18ftypheic": "HEIF", b"\0\0\0\x18ftypavif": "AVIF",
             b"\0\0\0\x18ftypisom": None, b"BMW report": None, b"%PDF-1.4": None, b"%!PS": None, b"": None}
    for data, fmt in cases.items():
        assert sniff_format(data) == fmt, data[:12]


def test_the_decoder_names_the_format():
    img = Image.fromarray(VIEW)
    for fmt, kw in (("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("TIFF", {}), ("BMP", {}), ("GIF", {}), ("HEIF", {}),
                    ("AVIF", {}), ("MPO", {"save_all": True, "append_images": [img]})):
        if fmt not in ALLOWED_FORMATS and fmt != "MPO":
            continue
        dec = decode_image(enc(img, fmt, **kw), 320)
        assert dec.format == ("JPEG" if fmt == "MPO" else fmt) and dec.rgb.shape == (240, 320, 3), fmt


# --------------------------------------------------------------------------- the budget of one photo


def test_pixels_are_checked_against_what_the_format_needs_before_decoding():
    t = time.perf_counter()
    with pytest.raises(ImageError) as e:  # 225 Mpx RGB PNG of 0.7 MB: 4 bytes a pixel decoded
        decode_image(png_flat(15000, 15000, value=90))
    assert e.value.reason == "too large" and "MB to decode" in e.value.detail
    with pytest.raises(ImageError) as e:  # 225 Mpx progressive JPEG: every coefficient kept
        decode_image(jpeg_blocks(np.full((3, 1875, 1875), 128), progressive=True,
                                 scans=[((0, 1, 2), 0, 0, 0, 0)] + [((k,), 1, 63, 0, 0) for k in range(3)]))
    assert e.value.reason == "too large"
    assert time.perf_counter() - t < 10  # refused from the header (the writing is most of it)
    # the same pixel count decodes where the format needs little: a baseline JPEG, 1/8 scale
    big = decode_image(jpeg_blocks(np.full((1, 1875, 1875), 90)), 768)
    assert big.full_size == (15000, 15000) and big.rgb.shape == (768, 768, 3)
    # and a 240 Mpx grey PNG (1 byte a pixel) stays in the budget
    grey = decode_image(png_flat(15500, 15500, colour=0, value=200), 768)
    assert grey.format == "PNG" and int(grey.rgb[5, 5, 0]) == 200
    assert reason(png_chunks(png_ihdr(40000, 40000), png_chunk(b"IEND", b""))) == "too large"  # over MAX_PIXELS


def test_progressive_scans_are_counted_before_decoding():
    flat = np.stack([np.full((96, 128), 120), np.full((96, 128), 128), np.full((96, 128), 128)])
    bomb = jpeg_blocks(flat, progressive=True, scans=progressive_bomb_script(3))
    assert read_jpeg_header(bomb, max_scans=10_000).scans == 2647  # legal, as Pillow agrees
    assert Image.open(io.BytesIO(bomb)).format == "JPEG"
    t = time.perf_counter()
    with pytest.raises(ImageError) as e:
        decode_image(bomb)
    assert e.value.reason == "too complex" and time.perf_counter() - t < 0.5
    grey = flat[:1]
    script = progressive_bomb_script(1, al=1)
    ok = decode_image(jpeg_blocks(grey, progressive=True, scans=script[:MAX_JPEG_SCANS]), 768)
    assert ok.rgb.shape == (576, 768, 3)  # at the limit: decoded
    assert reason(jpeg_blocks(grey, progressive=True, scans=script[:MAX_JPEG_SCANS + 1])) == "too complex"
    plain = read_jpeg_header(jpeg_blocks(flat, progressive=True))
    assert (plain.kind, plain.bits, plain.size, plain.scans) == ("progressive", 8, (1024, 768), 5)


def test_png_chunk_floods_are_refused_and_ordinary_chunking_is_not():
    png = enc(VIEW, "PNG")
    assert decode_image(rechunk_png(png, 1024)).rgb.shape == (480, 640, 3)  # many data chunks, each 1 KB
    t = time.perf_counter()
    assert reason(rechunk_png(png, 4)) == "too complex"
    assert time.perf_counter() - t < 0.5


def test_a_decoder_that_runs_in_steps_is_stopped_at_the_time_limit(monkeypatch):
    data = enc(VIEW, "PNG")
    assert decode_image(data).format == "PNG"
    monkeypatch.setattr(decode, "DECODE_TIME_LIMIT_S", 0.0)
    with pytest.raises(ImageError) as e:
        decode_image(data)
    assert e.value.reason == "took too long"


# --------------------------------------------------------------------------- the budget of the process


def test_memory_budget_holds_and_serves_in_order():
    budget = MemoryBudget(100)
    now, seen, order, lock = [0], [], [], threading.Lock()

    def work(k, n):
        held = min(n, budget.capacity)  # a request over the whole budget holds all of it
        with budget.reserve(n):
            with lock:
                now[0] += held
                seen.append(now[0])
                order.append(k)
            time.sleep(0.02)
            with lock:
                now[0] -= held

    threads = [threading.Thread(target=work, args=(k, n)) for k, n in enumerate((60, 60, 100, 30, 30, 500))]
    for t in threads:
        t.start()
        time.sleep(0.003)  # arrive in this order
    for t in threads:
        t.join(10)
    assert max(seen) <= 100 and budget.peak <= 100 and budget.used == 0
    assert order.index(2) < order.index(3)  # the large request is not overtaken by later small ones
    assert len(order) == 6  # one larger than the whole budget still runs (alone)


def test_decodes_on_many_threads_share_one_budget(monkeypatch):
    pngs = [png_flat(4000, 3000, colour=0, value=40 + 20 * k) for k in range(4)]
    one = decode.decode_cost("PNG", "L", (4000, 3000), 768, len(pngs[0]))
    budget = MemoryBudget(int(one * 1.5))  # room for one decode at a time
    monkeypatch.setattr(decode, "BUDGET", budget)
    out = [None] * 8

    def work(i):
        out[i] = decode_image(pngs[i % 4], 768)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(int(d.rgb[3, 3, 0]) == 40 + 20 * (i % 4) for i, d in enumerate(out))
    assert budget.peak <= budget.capacity and budget.used == 0


# --------------------------------------------------------------------------- what the caller is told


def test_library_warnings_become_the_photos_notes_on_every_thread():
    cut = enc(VIEW, exif=raw_exif([(0x0112, 3, 1, b"\x06\0\0\0")])[:14])  # EXIF block cut short
    odd = enc(VIEW, exif=raw_exif([(0x0112, 2, 5, b"left\0")]))  # orientation as text
    clean = enc(VIEW)
    want = {0: ["Corrupt EXIF data"], 1: ["orientation tag ignored: 'left'"], 2: []}
    saved_hook, saved_filters = warnings.showwarning, list(warnings.filters)
    errors = []

    def work(k):
        for _ in range(15):
            dec = decode_image((cut, odd, clean)[k], 320)
            got = [n.split(".")[0] if k == 0 else n for n in dec.notes]
            if got != want[k]:
                errors.append((k, dec.notes))

    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=work, args=(i % 3,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors and not leaked
    assert warnings.showwarning is saved_hook and warnings.filters == saved_filters


def test_a_bad_orientation_tag_is_ignored_and_the_photo_used():
    for tag in ((0x0112, 2, 5, b"left\0"), (0x0112, 3, 1, b"\x63\0\0\0"),
                (0x0112, 5, 1, (13).to_bytes(4, "little") + (2).to_bytes(4, "little"))):
        dec = decode_image(enc(VIEW, exif=raw_exif([tag])), 1024)
        assert dec.rgb.shape == (480, 640, 3) and dec.full_size == (640, 480)
        assert dec.notes and dec.notes[0].startswith("orientation tag ignored")


def test_a_jpeg_missing_only_its_end_marker_is_read_and_a_cut_one_is_not():
    data = enc(VIEW, quality=90)
    whole = decode_image(data).rgb
    assert np.array_equal(decode_image(data[:-2]).rgb, whole)
    cmyk = enc(Image.fromarray(VIEW).convert("CMYK"), quality=90)  # Pillow's JPEG path, not libjpeg-turbo's
    assert decode_image(cmyk[:-2]).rgb.shape == (480, 640, 3)
    for cut in (data[: len(data) // 2], cmyk[: len(cmyk) // 2]):
        assert reason(cut) == "truncated or corrupt"
    png = enc(VIEW, "PNG")
    assert np.array_equal(decode_image(png[:-12]).rgb, decode_image(png).rgb)  # PNG without IEND, as before


def test_every_reason_the_code_can_give_is_catalogued_with_korean():
    src = Path(decode.__file__).parent
    said = set(re.findall(r'ImageError\(\s*\w+,\s*"([^"]+)"', (src / "decode.py").read_text()))
    said |= set(re.findall(r'AnalysisError\([^,]+,\s*"([^"]+)"', (src / "analyze.py").read_text()))
    body = (src / "decode.py").read_text().split("def _skip_reason", 1)[1].split("\ndef ", 1)[0]
    said |= set(re.findall(r'return "([^"]+)"', body))
    assert len(said) >= 15 and said <= set(REASONS)
    for key, ko in REASONS.items():
        assert ko and re.search("[\uac00-\ud7a3]", ko), key
        assert reason_ko(key) == ko
    assert reason_ko("something new") == "something new"
