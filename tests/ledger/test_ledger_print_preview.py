"""Print previews: the store keeps a camera original's 1/4 and 1/8 scales at ingest (one decode,
which its grid thumbnail is shrunk from anyway), and the ledger prints every layout from the
smallest that fills the box instead of decoding every 12 MP original again
(benchmarks/ledger.py: decoding was two thirds of a 200-spot 4-up PDF's CPU time, and most of
a 2-up one's)."""

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


def size_of(jpeg: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(jpeg)).size


def test_a_camera_original_keeps_its_eighth_and_quarter_scales_upright_beside_its_thumbnail(camera_site):
    root, info = camera_site
    with open_store(root) as st:
        for sha, _stage, _data in info["photos"][info["spots"][0]]:
            thumb = size_of(photos.thumbnail(st, sha))
            # upright: the turned one is stored 3000x4000 with orientation 6
            assert size_of(photos.print_preview(st, sha)) == (500, 375) and thumb == (360, 270)
            # the smallest that is at least as long as asked
            assert size_of(photos.print_preview(st, sha, 500)) == (500, 375)
            assert size_of(photos.print_preview(st, sha, 501)) == (1000, 750)
            assert photos.print_preview(st, sha, 1001) is None  # a box that wants more: the original
        stored = st.query("SELECT kind, width, height FROM thumbnails WHERE photo = ? AND kind != 'thumb' "
                          "ORDER BY kind", (info["rotated"],))
        assert [tuple(r) for r in stored] == [("print", 500, 375), ("print_quarter", 1000, 750)]
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
        assert np.abs(pixels(as_is.jpeg) - pixels(from_original.jpeg)).mean() < 1.0
        row, row_original = print_image(p, 56.8, 42.6), make_print_image(p, 56.8, 42.6, None)
        assert row.px == row_original.px and row.size == row_original.size and max(row.px) == 448
        assert np.abs(pixels(row.jpeg) - pixels(row_original.jpeg)).mean() < 2.0
        # a 2-up box wants more than the 1/8 holds: shrunk from the 1/4 (893 px, 200 dpi)
        two_up, two_up_original = print_image(p, 114.1, 85.0), make_print_image(p, 114.1, 85.0, None)
        assert two_up.px == two_up_original.px and max(two_up.px) == 893
        assert np.abs(pixels(two_up.jpeg) - pixels(two_up_original.jpeg)).mean() < 2.0
        # the PDF's cover (140 mm): the 1/4 scale is the print size (181 dpi), as it is
        assert print_image(p, 140.0, 105.0).jpeg == p.load_preview(1000)


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


def test_every_layout_prints_without_the_originals(camera_site, tmp_path):
    root, info = camera_site
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "originals")  # what the ledger decodes is what it still needs
    with open_store(copy) as st:
        for layout in ("row", "2up", "4up"):
            led = build_ledger(st, info["site"], layout=layout)
            for fmt in ("pdf", "xlsx"):
                rep = write(led, fmt, tmp_path / f"{layout}.{fmt}")
                assert rep["photos"] == 6 and rep["notes"] == [], (layout, fmt, rep)
        led = build_ledger(st, info["site"], layout="2up")
        first = led.spots[0].photos[0]  # as if 4x as wide: no preview fills its box
        led.spots[0].photos[0] = dataclasses.replace(first, width=4 * first.width)
        rep = write(led, "pdf", tmp_path / "2up-wide.pdf")
        assert rep["notes"] == ["IMG_0000.JPG: file not found"]


def test_the_previews_are_the_originals_decode_at_their_scales(camera_site):
    root, info = camera_site
    sha, _stage, data = info["photos"][info["spots"][1]][0]
    with open_store(root) as st:
        eighth, quarter = photos.print_preview(st, sha), photos.print_preview(st, sha, 1000)
    assert np.array_equal(pixels(quarter), pixels(_jpeg85(decode_image(data, 1000, min_side=1).rgb)))
    # the 1/8 is the 1/4 halved by 2x2 means (libjpeg's 1/8 keeps the 8x8 blocks' means)
    diff = np.abs(pixels(eighth) - pixels(_jpeg85(decode_image(data, 500, min_side=1).rgb)))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4


def test_photos_stored_before_previews_get_theirs_once(camera_site, tmp_path):
    root, info = camera_site
    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    with open_store(copy) as st:
        shas = [sha for sha, _stage, _data in info["photos"][info["spots"][0]]]
        with st.write():  # as a store written before the 1/4 (first two) or any preview (third)
            st.conn.execute("DELETE FROM thumbnails WHERE kind = 'print_quarter' AND photo IN (?, ?)", shas[:2])
            st.conn.execute("DELETE FROM thumbnails WHERE kind LIKE 'print%' AND photo = ?", shas[2:])
        missing = photos.missing_print_previews(st)
        assert sorted(sha for _, sha in missing) == sorted(shas)
        assert photos.missing_print_previews(st, after=max(rowid for rowid, _ in missing)) == []
        added = [photos.add_print_previews(st, sha) for _, sha in missing]
        assert added == [1, 1, 2]  # a 1/8 already there is kept as it is
        assert photos.missing_print_previews(st) == []
        assert size_of(photos.print_preview(st, shas[2], 501)) == (1000, 750)
        (copy / "originals").rename(copy / "gone")
        with st.write():
            st.conn.execute("DELETE FROM thumbnails WHERE kind = 'print_quarter' AND photo = ?", shas[:1])
        assert photos.add_print_previews(st, shas[0]) == 0  # its original unreadable: passed over


def _jpeg85(rgb) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    return buf.getvalue()
