"""A real crew's folder: odd formats, odd sizes, broken files, partial metadata, links.

"Bad input gets a clear error and nothing is lost": every file is generated for real in
tmp_path with Pillow / numpy and goes through the bundled models (no mocks).
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_app.engine import grouping
from edge_app.engine.assign import assign_new
from edge_app.engine.decode import ImageError, decode_image, list_images, scan_folder
from edge_app.engine.metadata import read_meta
from edge_app.engine.pairs import MIN_KEYPOINTS
from edge_app.engine.vision.verify import point_spread
from scenes import views_of

SEOUL = (37.5665, 126.9780)
BUSAN = (35.1796, 129.0756)
LUMA = np.array([0.299, 0.587, 0.114])


def exif_bytes(gps=None, when=None, orientation=None) -> bytes:
    """An EXIF block: gps = (lat, lon) in degrees, when = "YYYY:MM:DD HH:MM:SS"."""
    ex = Image.Exif()
    if orientation:
        ex[0x0112] = orientation
    if when:
        ex[0x0132] = when
        ex.get_ifd(0x8769)[0x9003] = when
    if gps is not None:
        lat, lon = gps
        g = ex.get_ifd(0x8825)
        g[1], g[2] = ("N" if lat >= 0 else "S"), (abs(lat), 0.0, 0.0)
        g[3], g[4] = ("E" if lon >= 0 else "W"), (abs(lon), 0.0, 0.0)
    return ex.tobytes()


def save(img: np.ndarray | Image.Image, path: Path, **kw) -> Path:
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(path, **kw)
    return path


def by_name(res) -> dict:
    return {p.name: lab for p, lab in zip(res.paths, res.labels)}


def one_group(labels: dict, names) -> bool:
    got = {labels[n] for n in names}
    return len(got) == 1 and None not in got


# --------------------------------------------------------------------------- the crew folder

A, B, C, D, E = 11, 22, 33, 44, 55  # scene seeds: five spots


def write_crew_folder(folder: Path) -> dict[str, str | None]:
    """Every odd case at once. Returns the expected spot per readable photo (None = alone)."""
    folder.mkdir(parents=True)
    spot: dict[str, str | None] = {}
    a = views_of(A, 5)
    save(a[0], folder / "a_0.jpg", quality=92)
    save(a[1], folder / "A_1.JPG", quality=92)  # uppercase extensions
    save(a[2], folder / "현장 사진 A 2.JPEG", quality=92)  # Korean name with spaces
    # stored sideways with an EXIF orientation, as a phone held upright writes it
    save(np.rot90(a[3], 1), folder / "a_exif_rotated.jpg", quality=92, exif=exif_bytes(orientation=6))
    save(views_of(A, 5, out_size=(480, 640))[4], folder / "a_portrait.jpg", quality=92)
    data = (folder / "a_0.jpg").read_bytes()
    (folder / "a_garbage_after.jpg").write_bytes(data + os.urandom(3000))
    os.symlink(folder / "a_0.jpg", folder / "a_link.jpg")
    spot.update(dict.fromkeys(["a_0.jpg", "A_1.JPG", "현장 사진 A 2.JPEG", "a_exif_rotated.jpg", "a_portrait.jpg",
                               "a_garbage_after.jpg", "a_link.jpg"], "A"))
    b = views_of(B, 7)
    save(Image.fromarray((b[0][:, :, 1].astype(np.uint16) * 257)), folder / "b_16bit.png")
    assert Image.open(folder / "b_16bit.png").mode.startswith("I;16")
    save(Image.fromarray(b[1]).convert("P", palette=Image.Palette.ADAPTIVE), folder / "b_palette.png", transparency=0)
    save(Image.fromarray(b[2]).convert("L"), folder / "b_grey.jpg", quality=92)
    save(Image.fromarray(b[3]).convert("CMYK"), folder / "b_cmyk.jpg", quality=92)
    save(b[4], folder / "b.webp", quality=90)
    save(b[5], folder / "b.bmp")
    save(b[6], folder / "b.tif")
    spot.update(dict.fromkeys(["b_16bit.png", "b_palette.png", "b_grey.jpg", "b_cmyk.jpg", "b.webp", "b.bmp",
                               "b.tif"], "B"))
    c = views_of(C, 4)
    save(c[0], folder / "c_gps_no_time.jpg", exif=exif_bytes(gps=SEOUL))
    save(c[1], folder / "c_time_no_gps.jpg", exif=exif_bytes(when="2024:05:01 10:00:00"))
    save(c[2], folder / "c_gps_0_0.jpg", exif=exif_bytes(gps=(0.0, 0.0), when="2024:05:01 10:05:00"))
    save(c[3], folder / "c_no_metadata.jpg")
    spot.update(dict.fromkeys(["c_gps_no_time.jpg", "c_time_no_gps.jpg", "c_gps_0_0.jpg", "c_no_metadata.jpg"], "C"))
    for i, img in enumerate(views_of(D, 3)):  # a spot whose photos all lack metadata
        save(img, folder / f"d_{i}.jpg", quality=90)
        spot[f"d_{i}.jpg"] = "D"
    e = views_of(E, 1)[0]  # one view re-encoded four ways
    save(e, folder / "e.jpg", quality=95)
    save(e, folder / "e.png")
    save(e, folder / "e_small.jpg", quality=40)
    save(e, folder / "e.webp", lossless=True)
    spot.update(dict.fromkeys(["e.jpg", "e.png", "e_small.jpg", "e.webp"], "E"))
    # photos of nothing: no keypoints at all
    save(Image.new("RGB", (640, 480), (128, 128, 128)), folder / "uniform_grey.jpg")
    save(Image.new("RGB", (640, 480), (0, 0, 0)), folder / "pocket_black.png")
    (folder / "pocket_black copy.png").write_bytes((folder / "pocket_black.png").read_bytes())
    # tiny and extreme sizes (another spot, seen once)
    other = views_of(66, 1)[0]
    save(Image.fromarray(other).resize((20, 15)), folder / "tiny_20x15.jpg")
    save(Image.fromarray(other).resize((64, 48)), folder / "tiny_64x48.jpg")
    save(np.tile(other[100:300], (1, 19, 1))[:, :12000], folder / "panorama_12000x200.jpg", quality=40)
    spot.update(dict.fromkeys(["uniform_grey.jpg", "pocket_black.png", "pocket_black copy.png", "tiny_20x15.jpg",
                               "tiny_64x48.jpg", "panorama_12000x200.jpg"]))
    # unreadable files that must be listed, not lost
    (folder / "half.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "scan.jpg").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n")
    (folder / "notes.jpeg").write_text("메모: 3층 배관\n", encoding="utf-8")
    os.symlink(folder / "deleted.jpg", folder / "broken_link.jpg")
    # not scanned
    (folder / "sub").mkdir()
    save(a[0], folder / "sub" / "inner.jpg")
    (folder / "album.jpg").mkdir()
    (folder / "readme.txt").write_text("not a photo")
    return spot


UNREADABLE = {"half.jpg": "truncated or corrupt", "empty.jpg": "empty file", "scan.jpg": "not an image",
              "notes.jpeg": "not an image", "broken_link.jpg": "broken link"}
SKIPPED = {"sub": "is a folder", "album.jpg": "is a folder", "readme.txt": "not a photo (file type)"}


@pytest.fixture(scope="module")
def crew(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crew") / "현장 12"
    return folder, write_crew_folder(folder)


@pytest.fixture(scope="module")
def crew_result(crew, pipeline):
    folder, _ = crew
    return pipeline.group_folder(folder)


def test_the_folder_scan_keeps_every_photo_name_and_nothing_else(crew):
    folder, spot = crew
    names = {p.name for p in list_images(folder)}
    assert names == set(spot) | set(UNREADABLE)  # links followed, broken link listed
    assert not {"sub", "inner.jpg", "album.jpg", "readme.txt"} & names  # sub-folders not scanned
    scan = scan_folder(folder)
    assert [p.name for p in scan.photos] == sorted(names)
    assert {p.name: why for p, why in scan.skipped} == SKIPPED  # the rest, each with its reason


def test_unreadable_files_are_reported_with_a_reason_and_the_rest_is_grouped(crew, crew_result):
    _, spot = crew
    res = crew_result
    assert {Path(e.path).name: e.reason for e in res.errors} == UNREADABLE
    assert {p.name for p in res.paths} == set(spot)
    labels = by_name(res)
    for s in "ABCDE":
        assert one_group(labels, [n for n, k in spot.items() if k == s]), s
    assert len({lab for lab in labels.values() if lab is not None}) == 5
    for n in ("uniform_grey.jpg", "pocket_black.png", "pocket_black copy.png", "panorama_12000x200.jpg"):
        assert labels[n] is None, n


def test_identical_copies_are_reported_and_grouped(crew_result):
    names = [p.name for p in crew_result.paths]
    dups = {frozenset((names[i], names[j])) for i, j in crew_result.duplicates}
    assert dups == {frozenset(("a_link.jpg", "a_0.jpg")), frozenset(("pocket_black copy.png", "pocket_black.png"))}
    labels = by_name(crew_result)
    assert labels["a_link.jpg"] == labels["a_0.jpg"] is not None


def test_photos_without_local_features_are_never_a_spot(crew_result, pipeline):
    # Two identical black frames embed alike (cosine 1) but nothing shows they are of any
    # spot: they stay unassigned (documented: identical copies of a featureless photo are
    # listed as copies, not grouped).
    res = crew_result
    names = [p.name for p in res.paths]
    i, j = names.index("pocket_black.png"), names.index("pocket_black copy.png")
    assert len(res.analyses[i].features) < MIN_KEYPOINTS
    assert res.result.cos[i, j] > 0.99 and res.result.P[i, j] == 0.0


def test_metadata_cases_are_read(crew):
    folder, _ = crew

    def meta(name):
        return read_meta(decode_image(folder / name, 64).exif)

    gps_only, time_only, no_fix = meta("c_gps_no_time.jpg"), meta("c_time_no_gps.jpg"), meta("c_gps_0_0.jpg")
    assert gps_only.taken_at is None and gps_only.gps[:2] == pytest.approx(SEOUL)
    assert time_only.gps is None and time_only.taken_at is not None
    assert no_fix.gps is None and no_fix.taken_at == time_only.taken_at + 300  # 0,0 = no fix


def test_formats_and_orientation_decode_to_upright_rgb(crew):
    folder, _ = crew
    a = views_of(A, 4)[3]
    rot = decode_image(folder / "a_exif_rotated.jpg", 1024)
    assert rot.rgb.shape == a.shape and rot.full_size == (640, 480)
    assert np.abs(rot.rgb.astype(int) - a).mean() < 6  # upright again, as the phone showed it
    b = views_of(B, 7)
    for name, k in (("b_16bit.png", 0), ("b_palette.png", 1), ("b_grey.jpg", 2), ("b_cmyk.jpg", 3),
                    ("b.webp", 4), ("b.bmp", 5), ("b.tif", 6)):
        rgb = decode_image(folder / name, 1024).rgb
        assert rgb.dtype == np.uint8 and rgb.shape == (480, 640, 3), name
        ref = b[k][:, :, 1] if name == "b_16bit.png" else b[k] @ LUMA
        # the content, not an inverted (CMYK) or blank image; 16-bit data is scaled by its
        # maximum (documented: a contrast stretch, the same content up to a gain)
        assert np.corrcoef((rgb @ LUMA).ravel(), ref.ravel())[0, 1] > 0.95, name


def test_small_and_extreme_sizes(crew, crew_result):
    folder, _ = crew
    assert decode_image(folder / "tiny_20x15.jpg", 768).rgb.shape == (15, 20, 3)  # never upscaled
    assert decode_image(folder / "tiny_64x48.jpg", 768).rgb.shape == (48, 64, 3)
    pano = decode_image(folder / "panorama_12000x200.jpg", 768)
    assert pano.full_size == (12000, 200) and pano.rgb.shape[1] == 768
    names = [p.name for p in crew_result.paths]
    assert {"tiny_20x15.jpg", "tiny_64x48.jpg", "panorama_12000x200.jpg"} <= set(names)  # analysed, not refused
    for bad, size in (((5, 5), "5x5"), ((25000, 10), "25000x10")):  # a strip 1 px high at work size
        buf = io.BytesIO()
        Image.new("RGB", bad, (90, 60, 30)).save(buf, "PNG")
        with pytest.raises(ImageError) as e:
            decode_image(buf.getvalue(), 768)
        assert e.value.reason == "too small" and size in e.value.detail


def test_matches_on_a_line_are_no_geometric_evidence(crew_result):
    # the panorama's work image is 768x13: its keypoints lie on a line, and any
    # fundamental matrix fits matches that do
    res = crew_result
    names = [p.name for p in res.paths]
    k = names.index("panorama_12000x200.jpg")
    assert point_spread(res.analyses[k].features.xy) < 0.05
    for (i, j), sc in res.result.scores.items():
        if k in (i, j):
            assert sc.inliers_f == sc.inliers_h == 0
    line = np.stack([np.linspace(0, 700, 50), np.linspace(0, 3, 50)], 1)
    assert point_spread(line) < 0.01 and point_spread(np.random.default_rng(0).random((50, 2))) > 0.5


# --------------------------------------------------------------------------- the command line


def edge_app(*args, cwd: Path, env_extra=None):
    env = dict(os.environ, XDG_CACHE_HOME=str(cwd / ".cache"), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "edge_app.cli", *map(str, args)], capture_output=True, cwd=cwd,
                          env=env, timeout=600)


def test_cli_on_the_crew_folder_lists_unreadable_files_and_writes_every_name(crew, tmp_path):
    folder, spot = crew
    out_json, out_html = tmp_path / "g.json", tmp_path / "g.html"
    p = edge_app("cluster", folder, "--json", out_json, "--html", out_html, "--explain", cwd=tmp_path)
    stdout = p.stdout.decode("utf-8")
    assert p.returncode == 0, p.stderr.decode()
    assert f"{len(spot)} photos: 5 groups, 6 unassigned, {len(UNREADABLE)} unreadable, 3 skipped" in stdout
    for name, reason in UNREADABLE.items():
        assert f"  {name}: {reason}" in stdout
    for name, reason in SKIPPED.items():  # every entry that is not a photo, with its reason
        assert f"  {name}: {reason}" in stdout
    groups = json.loads(out_json.read_text(encoding="utf-8"))
    assert set(groups) == set(spot) | set(UNREADABLE)  # every image file is a key
    assert all(groups[n] is None for n in UNREADABLE)
    assert groups["현장 사진 A 2.JPEG"] == groups["a_0.jpg"] is not None
    page = out_html.read_text(encoding="utf-8")
    assert page.count("<figure>") == len(spot) and page.count("data:image/jpeg;base64,") == len(spot)
    assert "현장 사진 A 2.JPEG" in page and "broken_link.jpg: 끊어진 링크 / broken link" in page
    assert "readme.txt: 사진 형식이 아닌 파일 / not a photo (file type)" in page


def test_cli_with_a_file_name_that_is_not_utf8(tmp_path):
    # A zip made on an older Korean Windows keeps CP949 names: "현장.jpg" as raw bytes.
    folder = tmp_path / "zip"
    folder.mkdir()
    v = views_of(A, 2)
    save(v[0], folder / "a.jpg", quality=90)
    cp949 = os.fsdecode(os.fsencode(str(folder)) + b"/" + "현장.jpg".encode("cp949"))
    save(v[1], Path(cp949), quality=90)
    out = tmp_path / "g.json"
    strict = {"PYTHONIOENCODING": "utf-8"}  # a terminal that cannot take undecodable bytes
    p = edge_app("cluster", folder, "--json", out, "--html", tmp_path / "g.html", "-q", cwd=tmp_path,
                 env_extra=strict)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert "2 photos: 1 groups" in p.stdout.decode("utf-8")
    groups = json.loads(out.read_text(encoding="utf-8"))
    assert {os.fsencode(k) for k in groups} == {b"a.jpg", "현장.jpg".encode("cp949")}  # round-trips to the file
    assert set(groups.values()) == {1}


def test_cli_refuses_an_output_path_it_cannot_write_before_analysing(crew, tmp_path):
    folder, _ = crew
    p = edge_app("cluster", folder, "--json", tmp_path / "missing" / "g.json", cwd=tmp_path)
    assert p.returncode == 2 and "does not exist" in p.stderr.decode() and "analysing" not in p.stderr.decode()
    p = edge_app("cluster", folder, "--html", tmp_path, cwd=tmp_path)
    assert p.returncode == 2 and "is a folder" in p.stderr.decode()


# --------------------------------------------------------------------------- small folders


def test_folders_with_0_1_and_2_photos(tmp_path, pipeline):
    empty = pipeline.group_paths([])
    assert empty.labels == [] and empty.errors == [] and empty.result.P.shape == (0, 0)
    (tmp_path / "none").mkdir()
    assert pipeline.group_folder(tmp_path / "none").labels == []
    v, w = views_of(A, 2), views_of(B, 1)
    a0, a1 = save(v[0], tmp_path / "a0.jpg"), save(v[1], tmp_path / "a1.jpg")
    b0 = save(w[0], tmp_path / "b0.jpg")
    one = pipeline.group_paths([a0])
    assert one.labels == [None] and one.result.P.shape == (1, 1)
    assert pipeline.group_paths([a0, a1]).labels == [0, 0]
    # two different spots: with one candidate each, "each other's best" is no evidence
    two = pipeline.group_paths([a0, b0])
    assert two.labels == [None, None] and two.result.P[0, 1] < 0.5
    only_bad = pipeline.group_paths([tmp_path / "gone.jpg", tmp_path])
    assert only_bad.labels == [] and [e.reason for e in only_bad.errors] == ["file not found", "is a folder"]


def test_a_folder_of_byte_identical_photos_is_one_group(tmp_path, pipeline):
    data = io.BytesIO()
    Image.fromarray(views_of(C, 1)[0]).save(data, "JPEG", quality=90)
    paths = []
    for i in range(13):  # more than all_pairs_up_to: the nearest-neighbour path
        paths.append(tmp_path / f"IMG_{i:04d}.JPG")
        paths[-1].write_bytes(data.getvalue())
    res = pipeline.group_paths(paths)
    assert res.labels == [0] * 13
    assert res.duplicates == [(i, 0) for i in range(1, 13)]


def test_mutual_best_bonus_needs_a_second_candidate():
    Z = np.array([[0.0, -3.0], [-3.0, 0.0]])
    assert not grouping.mutual_best_bonus(Z, 2.0, 0.5).any()
    Z3 = np.full((3, 3), -np.inf)
    Z3[0, 1] = Z3[1, 0] = -3.0  # the third photo is ruled out: still only one candidate
    assert not grouping.mutual_best_bonus(Z3, 2.0, 0.5).any()


# --------------------------------------------------------------------------- sessions and metadata


def test_a_spot_with_partial_metadata_stays_one_group(tmp_path, pipeline):
    # GPS without time, time without GPS, a 0,0 "no fix", nothing: no metadata says these
    # photos are apart, so they are compared; another spot without metadata stays whole.
    c, d = views_of(C, 4), views_of(D, 3)
    save(c[0], tmp_path / "c_gps.jpg", exif=exif_bytes(gps=SEOUL))
    save(c[1], tmp_path / "c_time.jpg", exif=exif_bytes(when="2024:05:01 10:00:00"))
    save(c[2], tmp_path / "c_nofix.jpg", exif=exif_bytes(gps=(0.0, 0.0)))
    save(c[3], tmp_path / "c_none.jpg")
    for i in range(3):
        save(d[i], tmp_path / f"d_{i}.jpg")
    labels = by_name(pipeline.group_folder(tmp_path))
    assert one_group(labels, ["c_gps.jpg", "c_time.jpg", "c_nofix.jpg", "c_none.jpg"])
    assert one_group(labels, ["d_0.jpg", "d_1.jpg", "d_2.jpg"]) and labels["d_0.jpg"] != labels["c_gps.jpg"]


def test_photos_far_apart_by_gps_stay_apart_and_a_locked_group_spanning_them_stays_one(tmp_path, pipeline):
    a, b = views_of(A, 3), views_of(B, 3)
    paths = [save(a[i], tmp_path / f"seoul_{i}.jpg", exif=exif_bytes(gps=SEOUL)) for i in range(3)]
    paths += [save(b[i], tmp_path / f"busan_{i}.jpg", exif=exif_bytes(gps=BUSAN)) for i in range(3)]
    free = pipeline.group_paths(paths)
    assert len(free.result.sessions) == 2 and free.labels[:3] == [free.labels[0]] * 3 != free.labels[3:]
    # a person put seoul_0 and busan_0 in one group: it is kept, whatever the sessions
    locked = ["fixed", None, None, "fixed", None, None]
    res = pipeline.group_paths(paths, locked=locked)
    assert res.labels[0] == res.labels[3] is not None
    with pytest.raises(ValueError, match="locked"):
        pipeline.group_paths(paths, locked=locked[:2])


# --------------------------------------------------------------------------- library calls


def test_assign_new_with_no_or_only_unassigned_existing_photos(tmp_path, pipeline):
    v, w = views_of(A, 3), views_of(B, 1)
    an = pipeline.analyzer
    new = an.analyze_path(save(v[2], tmp_path / "new.jpg"))
    first = assign_new(new, [], [], pipeline.settings)
    assert first.is_new and first.partner is None and first.p.shape == (0,)
    _, via_path = pipeline.assign_path(tmp_path / "new.jpg", [], [])
    assert via_path.is_new and via_path.partner is None
    old = [an.analyze_path(save(w[0], tmp_path / "b.jpg")), an.analyze_path(save(v[0], tmp_path / "a.jpg"))]
    got = assign_new(new, old, [None, None], pipeline.settings)
    assert got.group is None and got.partner == 1 and got.score >= 0.5 and got.p.shape == (2,)
    black = an.analyze_path(save(Image.new("RGB", (640, 480)), tmp_path / "black.png"))
    nothing = assign_new(black, old, [0, 0], pipeline.settings)
    assert nothing.is_new and nothing.partner is None
    with pytest.raises(ImageError) as e:
        pipeline.assign_path(tmp_path / "nope.jpg", old, [None, None])
    assert e.value.reason == "file not found"


def test_agglomerate_with_every_photo_locked():
    P = np.full((4, 4), 0.95)  # all look alike
    assert grouping.agglomerate(P, 0.5, locked=["a", "b", "c", "d"]) == [0, 1, 2, 3]  # never merged, kept as singletons
    assert grouping.agglomerate(P * 0.0, 0.5, locked=["x"] * 4) == [0, 0, 0, 0]  # kept whatever P says
    assert grouping.agglomerate(P, 0.5, locked=[1, 2, 1, 2]) == [0, 1, 0, 1]
    assert grouping.agglomerate(np.zeros((0, 0)), 0.5, locked=[]) == []
    with pytest.raises(ValueError, match="3 labels for 4 photos"):
        grouping.agglomerate(P, 0.5, locked=["a", "b", "c"])


def test_agglomerate_treats_unknown_probabilities_as_no_evidence():
    P = np.full((3, 3), np.nan)
    assert grouping.agglomerate(P, 0.5) == [None, None, None]


def test_sessions_split_only_on_metadata_evidence():
    from edge_app.engine.metadata import PhotoMeta
    from edge_app.engine.sessions import join_locked_sessions, place_by_similarity, split_sessions

    # GPS without time + time without GPS: nothing says they are apart
    metas = [PhotoMeta(None, SEOUL + (None,)), PhotoMeta(1000.0, None), PhotoMeta()]
    assert split_sessions(metas) == ([[0]], [1, 2])
    # a time far from every located photo is no evidence either: placed by look
    timed = [PhotoMeta(0.0, SEOUL + (None,)), PhotoMeta(1e6, None)]
    assert split_sessions(timed) == ([[0]], [1])
    # unplaced photos 2, 3 look alike, 3 looks a bit like session [1]: they go there together
    sim = np.eye(4)
    sim[2, 3] = sim[3, 2] = 0.9
    sim[3, 1] = sim[1, 3] = 0.5
    sim[2, 0] = sim[0, 2] = 0.4
    sim[2, 1] = sim[1, 2] = 0.3
    sim[3, 0] = sim[0, 3] = 0.2
    assert place_by_similarity([[0], [1]], [2, 3], np.linalg.cholesky(sim)) == [[0], [1, 2, 3]]  # E E^T = sim
    assert join_locked_sessions([[0, 1], [2], [3, 4]], ["x", None, None, "x", None]) == [[0, 1, 3, 4], [2]]


def test_cli_writes_the_json_even_when_the_folder_holds_no_photo(tmp_path):
    folder = tmp_path / "only junk"
    folder.mkdir()
    (folder / "readme.txt").write_text("x")
    (folder / ".DS_Store").write_bytes(b"\0")
    os.mkfifo(folder / "pipe.jpg")
    out = tmp_path / "g.json"
    p = edge_app("cluster", folder, "--json", out, cwd=tmp_path)
    assert p.returncode == 1 and "no photos" in p.stderr.decode()
    assert json.loads(out.read_text()) == {}
    stdout = p.stdout.decode()
    for line in ("  .DS_Store: hidden", "  pipe.jpg: not a regular file", "  readme.txt: not a photo (file type)"):
        assert line in stdout
