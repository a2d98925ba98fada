"""Print previews: the store keeps a camera original's 1/8 scale at ingest (the decode its grid
thumbnail is shrunk from anyway), and the ledger prints rows and 4-up pages from it instead of
decoding every 12 MP original again (benchmarks/ledger.py: decoding was two thirds of a
200-spot 4-up PDF's CPU time)."""

import dataclasses
import io
import shutil

import numpy as np
import pytest
from PIL import Image

from edge_app.engine.decode import decode_image
from edge_app.ledger import build_ledger, write
from edge_app.ledger.images import make_print_image, print_image
from edge_app.store import open_store, photos

import ledger_data


@pytest.fixture(scope="module")
def camera_site(tmp_path_factory):
    """Two confirmed spots of 4000x3000 originals (the first spot's "after" stored turned
    with EXIF orientation 6). Returns (data folder, build_site's info)."""
    root = tmp_path_factory.mktemp("preview") / "data"
    with open_store(root) as st:
        info = ledger_data.build_site(st, 2, unconfirmed=0, camera_size=(4000, 3000))
    return root, info


def ledger_photos(st, info, layout="row"):
    """The photos of the site's ledger (their previews read through ``st``, kept open)."""
    led = build_ledger(st, info["site"], layout=layout)
    return [p for b in led.blocks() for p in b.photos.values() if p is not None]


def pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), np.int16)


def test_a_camera_original_keeps_its_eighth_scale_upright_beside_its_thumbnail(camera_site):
    root, info = camera_site
    with open_store(root) as st:
        for sha, _stage, _data in info["photos"][info["spots"][0]]:
            size = Image.open(io.BytesIO(photos.print_preview(st, sha))).size
            thumb = Image.open(io.BytesIO(photos.thumbnail(st, sha))).size
            # upright: the turned one is stored 3000x4000 with orientation 6
            assert size == (500, 375) and thumb == (360, 270)
        stored = st.one("SELECT width, height FROM thumbnails WHERE photo = ? AND kind = 'print'", (info["rotated"],))
        assert tuple(stored) == (500, 375)
        small = photos.add_bytes(st, ledger_data.jpeg(ledger_data.scene(7, "before", (640, 480))), "small.jpg",
                                 source="cli", who="test")
        assert photos.print_preview(st, small.sha256) is None  # decodes fast; a box wants more than its 1/8


def test_a_4up_photo_is_the_preview_itself_and_a_row_photo_is_shrunk_from_it(camera_site):
    root, info = camera_site
    with open_store(root) as st:
        prints = ledger_photos(st, info)[:4]
        for p in prints:
            assert p.load_preview() is not None
    assert all(p.load_preview() is None for p in prints)  # its store closed: printed from the originals
    with open_store(root) as st:
        check_print_images(ledger_photos(st, info)[:4])


def check_print_images(prints):
    for p in prints:
        preview = p.load_preview()
        from_original = make_print_image(p, 90.6, 75.6, None)
        as_is = print_image(p, 90.6, 75.6)  # 4-up box: the 1/8 scale is the print size
        assert as_is.jpeg == preview and as_is.px == from_original.px and as_is.size == from_original.size
        assert np.array_equal(pixels(as_is.jpeg), pixels(from_original.jpeg))
        row, row_original = print_image(p, 56.8, 42.6), make_print_image(p, 56.8, 42.6, None)
        assert row.px == row_original.px and row.size == row_original.size and max(row.px) == 448
        assert np.abs(pixels(row.jpeg) - pixels(row_original.jpeg)).mean() < 2.0
        # a 2-up box wants more than the preview holds: the original is decoded, as before
        assert print_image(p, 114.1, 85.0).jpeg == make_print_image(p, 114.1, 85.0, None).jpeg


def test_an_unreadable_preview_falls_back_to_the_original(camera_site):
    root, info = camera_site
    with open_store(root) as st:
        p = ledger_photos(st, info)[0]
    want = make_print_image(p, 90.6, 75.6, None).jpeg
    garbled = dataclasses.replace(p, preview=lambda: b"\xff\xd8\xff\xe0 not a jpeg")
    assert print_image(garbled, 90.6, 75.6).jpeg == want

    def fails():
        raise OSError("database is locked")

    assert print_image(dataclasses.replace(p, preview=fails), 90.6, 75.6).jpeg == want


def test_rows_and_4up_print_without_their_originals_2up_needs_them(camera_site, tmp_path):
    root, info = camera_site
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "originals")  # what the ledger decodes is what it still needs
    with open_store(copy) as st:
        for layout in ("row", "4up"):
            led = build_ledger(st, info["site"], layout=layout)
            for fmt in ("pdf", "xlsx"):
                rep = write(led, fmt, tmp_path / f"{layout}.{fmt}")
                # only the PDF cover's large picture (the first spot's "after") wants its original
                cover = ["IMG_0002.JPG: file not found"] if fmt == "pdf" else []
                assert rep["photos"] == 6 and rep["notes"] == cover, (layout, fmt, rep)
        rep = write(build_ledger(st, info["site"], layout="2up"), "pdf", tmp_path / "2up.pdf")
        assert sum("IMG_" in n for n in rep["notes"]) == 7  # each photo noted as unreadable, and the cover


def test_the_preview_is_the_originals_decode_at_that_scale(camera_site):
    root, info = camera_site
    sha, _stage, data = info["photos"][info["spots"][1]][0]
    with open_store(root) as st:
        preview = photos.print_preview(st, sha)
    assert np.array_equal(pixels(preview), pixels(_jpeg85(decode_image(data, 500, min_side=1).rgb)))


def _jpeg85(rgb) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    return buf.getvalue()
