"""The PDF's output holds each photo once (fpdf2 keeps every image in its cache until the end
and builds the whole file in one buffer; ``edge_app.ledger.pdf._Output`` hands each image's
bytes from the cache to its PDF object, which lets go of them once written). What it writes
is byte for byte fpdf2's own output."""

import io
import platform
from datetime import datetime, timezone

import numpy as np
from fpdf import FPDF
from PIL import Image

from edge_app.ledger import pdf as ledger_pdf
from edge_app.ledger.images import trim_heap


def photo_jpeg(seed: int) -> bytes:
    rgb = np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def document() -> FPDF:
    doc = FPDF()
    doc.set_creation_date(datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc))
    for page in range(3):
        doc.add_page()
        for k in range(2):
            doc.image(io.BytesIO(photo_jpeg(page * 2 + k)), x=10, y=10 + 100 * k, w=80)
    doc.image(io.BytesIO(photo_jpeg(0)), x=100, y=10, w=40)  # the first photo again: one object, used twice
    return doc


def test_the_output_is_fpdf2s_own_and_lets_go_of_each_image_once_written():
    want = bytes(document().output())
    doc = document()
    got = bytes(doc.output(output_producer_class=ledger_pdf._Output))
    assert got == want
    cached = list(doc.image_cache.images.values())
    assert len(cached) == 6 and all(info["data"] == b"" for info in cached)  # the cache no longer holds them


def test_freed_heap_memory_is_given_back_where_the_c_library_can():
    # glibc (Debian, Ubuntu, Jetson's L4T) has malloc_trim; elsewhere it is a no-op, never an error
    assert trim_heap() is (platform.libc_ver()[0] == "glibc")
