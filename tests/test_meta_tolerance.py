"""One photo's failure is that photo's failure (issue 7): every stage after decoding
(metadata, sessions, grouping, cache, text, explain, JSON, HTML) takes any value a photo's
metadata can hold, field by field."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from edge_app.engine.analyze import FeatureCache
from edge_app.engine.metadata import MAX_CAMERA_CHARS, PhotoMeta, read_meta
from edge_app.engine.sessions import group_sessions
from edge_app.engine.report import _fmt_time, format_explain, format_text, render_html
from scenes import views_of

INF, NAN = float("inf"), float("nan")

#: Hostile values for every field of PhotoMeta (a new field must be added here).
HOSTILE = {
    "taken_at": [INF, -INF, NAN, 1e300, -1e300, 253_402_300_800.0, -62_135_596_801.0, 10 ** 400, True,
                 "2024:05:01 10:00:00", b"\x00", [1.0], object(), np.float64("nan"), np.int64(1_700_000_000),
                 0.0, 1_700_000_000.5],
    "gps": [(NAN, 1.0), (INF, INF, INF), (91.0, 0.0), (0.0, 181.0), (0.0, 0.0), (37.5, 127.0, NAN),
            (37.5, 127.0, 1e30), (1.0,), (1.0, 2.0, 3.0, 4.0), "37.5,127.0", b"x", 5, [None, None], (True, False),
            ({}, []), (10 ** 400, 1.0), (IFDRational(1, 0), IFDRational(2, 1)), (37.5, 127.0), [37.5, -122.0, 12.0]],
    "camera": ["\x1b[31mred\x1b[0m", "\u202eevil", "a\nb\rc\td", "x" * 100_000, b"\xff\xfeSony", 5, "", "\x00\x00",
               "카메라 📷", ("Canon",), "\udcff\udcfe"],
}


def check_invariant(m: PhotoMeta) -> None:
    t = m.taken_at
    assert t is None or (type(t) is float and math.isfinite(t) and -62_135_596_800.0 <= t < 253_402_300_800.0)
    if m.gps is not None:
        lat, lon, alt = m.gps
        assert math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180
        assert (lat, lon) != (0.0, 0.0) and (alt is None or (math.isfinite(alt) and abs(alt) <= 100_000))
    c = m.camera
    assert c is None or (0 < len(c) <= MAX_CAMERA_CHARS and c.isprintable())


def test_the_list_covers_every_field():
    assert set(HOSTILE) == {f.name for f in dataclasses.fields(PhotoMeta)}


@pytest.mark.parametrize("field", sorted(HOSTILE))
def test_a_photo_meta_holds_only_usable_values(field):
    for v in HOSTILE[field]:
        check_invariant(PhotoMeta(**{field: v}))
    assert PhotoMeta(taken_at=1_700_000_000.5).taken_at == 1_700_000_000.5  # usable values are kept
    assert PhotoMeta(gps=[37.5, -122.0, 12.0]).gps == (37.5, -122.0, 12.0)
    assert PhotoMeta(camera="  Canon\x00 EOS  R5 ").camera == "Canon EOS R5"


@pytest.fixture(scope="module")
def four(tmp_path_factory, pipeline):
    folder = tmp_path_factory.mktemp("meta")
    paths = []
    for seed in (11, 22):
        for i, v in enumerate(views_of(seed, 2)):
            p = folder / f"s{seed}_{i}.jpg"
            Image.fromarray(v).save(p, quality=90)
            paths.append(p)
    res = pipeline.group_paths(paths)
    assert res.labels == [0, 0, 1, 1]
    return res


@pytest.mark.parametrize("field", sorted(HOSTILE))
def test_every_stage_after_decoding_takes_any_value_of_each_field(field, four, pipeline, tmp_path):
    cache = FeatureCache(tmp_path / "cache", "v")
    names = [p.name for p in four.paths]
    for v in HOSTILE[field]:
        meta = PhotoMeta(**{field: v})
        analyses = [dataclasses.replace(a, meta=meta) if k in (0, 2) else a for k, a in enumerate(four.analyses)]
        res = group_sessions(analyses, pipeline.settings, pair_cache=pipeline.pair_cache)
        assert res.labels[0] == res.labels[1] is not None  # the photos are still grouped by what they show
        text = format_text(names, analyses, res)
        assert text.startswith("4 photos") and "\x1b" not in text
        format_explain(names, res)
        page = render_html(four.paths, analyses, res, title="현장")
        assert page.count("<figure>") == 4
        json.dumps({n: (None if lab is None else lab + 1) for n, lab in zip(names, res.labels)})
        cache.put(analyses[0])
        back = cache.get(analyses[0].key)
        assert back is not None and back.meta == meta


def test_times_that_cannot_be_shown_are_left_out():
    for t in (INF, -INF, NAN, 1e300, -1e300, 253_402_300_800.0, "x", None, object()):
        assert _fmt_time(t) == ""
    assert _fmt_time(1_715_905_815.0) == "2024-05-17 00:30"


def exif_with(base=None, sub=None, gps=None) -> Image.Exif:
    e = Image.Exif()
    for k, v in (base or {}).items():
        e[k] = v
    for k, v in (sub or {}).items():
        e.get_ifd(0x8769)[k] = v
    for k, v in (gps or {}).items():
        e.get_ifd(0x8825)[k] = v
    return e


@pytest.mark.parametrize("exif", [
    exif_with(sub={0x9003: "9999:12:31 23:59:59", 0x9011: "-23:59"}),
    exif_with(sub={0x9003: "2024:05:01 10:00:00", 0x9291: "1e400"}),
    exif_with(sub={0x9003: "2024:05:01 10:00:00", 0x9291: "9" * 5000, 0x9011: "+99:99"}),
    exif_with(base={0x0132: "0000:00:00 00:00:00"}),
    exif_with(base={0x0132: b"\xff\xfe"}),
    exif_with(base={0x0132: 12345}),
    exif_with(gps={1: "N", 2: (IFDRational(37, 0), IFDRational(1, 0), IFDRational(0, 0)), 3: "E",
                   4: (IFDRational(127, 0), 0.0, 0.0)}),
    exif_with(gps={1: "N", 2: (1000.0, 0.0, 0.0), 3: "E", 4: (500.0, 0.0, 0.0), 6: 1e30}),
    exif_with(gps={1: 7, 2: "thirty", 3: None, 4: (1.0,)}),
    exif_with(base={0x010F: "\x1b[31mEvil\x1b[0m", 0x0110: "Z" * 5000}),
])
def test_read_meta_turns_any_exif_into_usable_values(exif):
    m = read_meta(exif)
    check_invariant(m)


def test_read_meta_keeps_what_is_right():
    m = read_meta(exif_with(sub={0x9003: "2024:05:17 09:30:15", 0x9011: "+09:00", 0x9291: "25"},
                            gps={1: "S", 2: (33.0, 52.0, 0.0), 3: "E", 4: (151.0, 12.0, 36.0)}))
    assert m.taken_at == pytest.approx(1_715_905_815.25)
    assert m.gps[0] == pytest.approx(-33.8667, abs=1e-4) and m.gps[1] == pytest.approx(151.21, abs=1e-3)
