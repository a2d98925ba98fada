"""Print images made ahead on threads (images.PrintImages): the PDF's photos are decoded a
few photos ahead of the page that draws them, and every one is the same JPEG print_image
makes (benchmarks/ledger.py: the decode of the originals is most of an export's time)."""

import dataclasses
import io
import re
import zipfile

import pytest
from PIL import Image

from edge_app.ledger import build_ledger, write
from edge_app.ledger import pdf as ledger_pdf
from edge_app.ledger import xlsx as ledger_xlsx
from edge_app.ledger.images import ImageError, PrintImages, print_image, print_side
from edge_app.ledger.model import LedgerPhoto
from edge_app.store import open_store


@pytest.fixture(scope="module")
def photos(site):
    root, info = site
    with open_store(root) as st:
        led = build_ledger(st, info["site"])
    return [p for b in led.blocks() for p in b.photos.values() if p is not None]


def test_the_same_bytes_ahead_passed_over_or_asked_out_of_plan(photos):
    plan = [(p, 57.6, 42.6) for p in photos[:8]]
    want = {p.sha256: print_image(p, 57.6, 42.6).jpeg for p, _, _ in plan}
    with PrintImages(plan, workers=2, ahead=3) as imgs:
        assert imgs.get(photos[0], 57.6, 42.6).jpeg == want[photos[0].sha256]
        assert imgs.get(photos[1], 40.0, 30.0).jpeg == print_image(photos[1], 40.0, 30.0).jpeg  # another box
        # photos[1] and [2] of the plan passed over
        for p in photos[3:8]:
            assert imgs.get(p, 57.6, 42.6).jpeg == want[p.sha256]
        assert imgs.get(photos[2], 57.6, 42.6).jpeg == want[photos[2].sha256]  # after its turn: made now
        assert (imgs.hits, imgs.misses) == (6, 2)
    with PrintImages(plan, workers=0) as imgs:
        assert [imgs.get(p, w, h).jpeg for p, w, h in plan] == [want[p.sha256] for p, _, _ in plan]


def test_an_unreadable_original_raises_when_asked(photos, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    broken = dataclasses.replace(photos[1], path=bad)
    with PrintImages([(photos[0], 50, 40), (broken, 50, 40), (photos[2], 50, 40)]) as imgs:
        imgs.get(photos[0], 50, 40)
        with pytest.raises(ImageError):
            imgs.get(broken, 50, 40)
        assert imgs.get(photos[2], 50, 40).jpeg == print_image(photos[2], 50, 40).jpeg


def counting(monkeypatch, module) -> list[tuple[int, int]]:
    """Make ``module``'s print images count: the list gets (made ahead, made when asked)
    of each :class:`PrintImages` when it closes."""
    made = []

    class Counting(PrintImages):
        def close(self):
            made.append((self.hits, self.misses))
            super().close()

    monkeypatch.setattr(module, "PrintImages", Counting)
    return made


def ahead_then_one_by_one(site, tmp_path, monkeypatch, module, fmt: str, layout: str):
    """The site's ledger written as ``fmt`` (to ``ahead.<fmt>``) by ``module`` with its
    photos made ahead, counted (:func:`counting`), then (to ``one.<fmt>``) one by one.
    Returns (counts, the first write's summary, the second's)."""
    root, info = site
    with open_store(root) as st:
        led = build_ledger(st, info["site"], layout=layout)
    made = counting(monkeypatch, module)
    ahead = write(led, fmt, tmp_path / f"ahead.{fmt}")
    monkeypatch.setattr(module, "PrintImages", lambda plan: PrintImages(plan, workers=0))
    return made, ahead, write(led, fmt, tmp_path / f"one.{fmt}")


@pytest.mark.parametrize("layout", ["row", "2up", "4up"])
def test_the_pdf_is_the_same_with_photos_made_ahead_or_one_by_one(site, tmp_path, monkeypatch, layout):
    made, ahead, one_by_one = ahead_then_one_by_one(site, tmp_path, monkeypatch, ledger_pdf, "pdf", layout)
    assert made[0][0] == ahead["photos"] and made[0][1] == 1  # the cover's photo is made when asked
    assert ahead["layout"] == one_by_one["layout"]

    def body(path):  # the file without its creation date and id
        return re.sub(rb"/CreationDate \([^)]*\)|/ID \[[^\]]*\]", b"", path.read_bytes())

    assert body(tmp_path / "ahead.pdf") == body(tmp_path / "one.pdf")


def test_a_camera_photo_prints_at_its_eighth_scale_where_that_gives_140_dpi(tmp_path):
    # a 12 MP original in a 4-up box (90.6 mm): its 1/8 scale, 500 px (140 dpi), as decoded
    assert print_side(4000, 90.6) == 500
    # where 1/8 gives less than 140 dpi (a 6 MP photo, a 2-up box) or more than 200 (a row's
    # 58.6 mm box), 200 dpi as before
    assert print_side(3072, 90.6) == 714 and print_side(4000, 114.1) == 899
    assert print_side(4000, 58.6) == 462 and print_side(640, 58.6) == 462
    path = tmp_path / "camera.jpg"
    Image.new("RGB", (4000, 3000), (90, 140, 60)).save(path, quality=80)
    photo = LedgerPhoto(sha256="0" * 64, name=path.name, stage="after", taken_local=None, taken_at=None, path=path,
                        width=4000, height=3000)
    img = print_image(photo, 90.6, 75.6)
    assert img.px == (500, 375) and img.size == pytest.approx((90.6, 67.95))
    assert Image.open(io.BytesIO(img.jpeg)).size == (500, 375)
    assert print_image(photo, 56.8, 42.6).px == (448, 336)  # a row's box: 200 dpi


@pytest.mark.parametrize("layout", ["row", "4up"])
def test_the_xlsx_is_the_same_with_photos_made_ahead_or_one_by_one(site, tmp_path, monkeypatch, layout):
    made, ahead, one_by_one = ahead_then_one_by_one(site, tmp_path, monkeypatch, ledger_xlsx, "xlsx", layout)
    assert made == [(ahead["photos"], 0)]  # every photo made ahead: the cells are laid out first
    assert ahead["photos"] == one_by_one["photos"] > 0

    def parts(path):  # every part but the one with the file's creation time
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}

    a, b = parts(tmp_path / "ahead.xlsx"), parts(tmp_path / "one.xlsx")
    assert sum(n.startswith("xl/media/") for n in a) >= ahead["photos"]
    assert a == b
