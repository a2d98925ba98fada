"""Test data for the photo ledger: a store with a site of confirmed spots whose photos look
like a mowing job (tall grass before, half cut during, mown after), real JPEGs with EXIF
times, GPS and, for one photo, an EXIF orientation that must be applied.

Built only through the store's API (no model runs): photos.add_bytes, then sites / spots
/ memberships as the worker would leave them, phases and confirmation by a person.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import cv2
import numpy as np
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from PIL import Image

from edge_app.store import ledger_fields, photos, sites, spots

DAY = datetime(2026, 5, 4, 9, 0, 0)
GPS = (37.5665, 126.978)

LOCATIONS = ["컨테이너 좌측", "STA.0+120", "정문 화단", "배수로 입구", "관리동 뒤편", "STA.0+240", "주차장 경사면",
             "놀이터 옆 수목"]
CAPTIONS = ["제초 작업 (예초기)", "잡초 제거 및 정리", "법면 제초", "배수로 주변 제초", "수목 주변 제초",
            "측점 구간 제초", "경사면 제초 후 정리", "수목 전정 및 제초"]


def scene(seed: int, stage: str, size=(640, 480)) -> np.ndarray:
    """uint8 RGB: one spot of a site (sky, tree line, a landmark of the spot) at a stage of
    the mowing: 'before' tall grass, 'during' the left half cut, 'after' all mown."""
    w, h = size
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    horizon = int(h * rng.uniform(0.38, 0.5))
    top, bottom = np.array([120, 170, 225]), np.array([200, 220, 240])
    for y in range(horizon):
        img[y] = (top + (bottom - top) * y / max(1, horizon)).astype(np.uint8)
    img[horizon:] = (96, 128, 70)
    # tree line
    for _ in range(int(w / 25)):
        x = int(rng.integers(0, w))
        r = int(rng.integers(18, 42))
        cv2.circle(img, (x, horizon - r // 3), r, tuple(int(v) for v in rng.integers((30, 80, 30), (70, 120, 60))), -1)
    # the spot's landmark: a container, a sign board or a pole with its number
    kind = seed % 3
    x0 = int(rng.uniform(0.15, 0.6) * w)
    colour = tuple(int(v) for v in rng.integers(60, 220, 3))
    if kind == 0:
        cv2.rectangle(img, (x0, horizon - 70), (x0 + 190, horizon + 40), colour, -1)
        for k in range(8):
            cv2.line(img, (x0 + 12 + 22 * k, horizon - 66), (x0 + 12 + 22 * k, horizon + 36), (40, 40, 40), 2)
    elif kind == 1:
        cv2.rectangle(img, (x0 + 40, horizon - 20), (x0 + 48, horizon + 60), (90, 70, 50), -1)
        cv2.rectangle(img, (x0, horizon - 80), (x0 + 110, horizon - 20), colour, -1)
        cv2.putText(img, f"No.{seed}", (x0 + 8, horizon - 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    else:
        cv2.rectangle(img, (x0, horizon - 120), (x0 + 14, horizon + 50), (200, 200, 200), -1)
        cv2.rectangle(img, (x0 - 30, horizon - 120), (x0 + 44, horizon - 104), colour, -1)
    # grass: tall and ragged where it is not cut yet, mown in light and dark stripes where it is
    cut = {"before": 0.0, "during": 0.5, "after": 1.0}[stage]
    blades = np.random.default_rng(seed * 7 + 1)
    ground = h - horizon
    edge = int(cut * w)
    if edge:
        img[horizon:, :edge] = (118, 150, 72)
        for k, x in enumerate(range(-ground, edge, max(8, w // 16))):  # mowing stripes, in perspective
            pts = np.array([[x + ground // 2, horizon], [x + ground // 2 + w // 40, horizon],
                            [x + w // 32 + w // 40, h], [x + w // 32, h]], np.int32)
            if k % 2:
                cv2.fillPoly(img[:, :edge], [pts], (96, 134, 58))
    for _ in range(int(w * ground / 45)):
        x = int(blades.integers(0, w))
        y = int(blades.integers(horizon + 2, h))
        depth = (y - horizon) / ground
        if x < edge:
            if blades.random() < 0.25:
                cv2.line(img, (x, y), (x + int(blades.integers(-2, 3)), y - int(0.012 * h * (0.3 + depth))),
                         (84, 120, 50), 1)
            continue
        length = int((0.02 + 0.2 * depth ** 1.3) * h)
        g = tuple(int(v) for v in blades.integers((40, 100, 20), (100, 165, 60)))
        cv2.line(img, (x, y), (x + int(blades.integers(-int(0.3 * length) - 1, int(0.3 * length) + 2)), y - length),
                 g, max(1, int(2 * (0.5 + depth))))
    if 0 < cut < 1:  # the cut edge and a pile of cuttings
        cv2.ellipse(img, (edge, h - int(0.08 * h)), (int(0.07 * w), int(0.03 * h)), 0, 0, 360, (150, 140, 80), -1)
    return cv2.GaussianBlur(img, (3, 3), 0)


def exif_bytes(when: datetime | None, gps=None, orientation: int | None = None) -> bytes:
    ex = Image.Exif()
    if when is not None:
        s = when.strftime("%Y:%m:%d %H:%M:%S")
        ex[0x0132] = s
        ex.get_ifd(0x8769)[0x9003] = s
    if orientation:
        ex[0x0112] = orientation
    if gps is not None:
        g = ex.get_ifd(0x8825)
        g[1], g[2] = "N", (abs(gps[0]), 0.0, 0.0)
        g[3], g[4] = "E", (abs(gps[1]), 0.0, 0.0)
    return ex.tobytes()


def jpeg(rgb: np.ndarray, when=None, gps=None, orientation=None, quality=88) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, exif=exif_bytes(when, gps, orientation))
    return buf.getvalue()


def rotated_jpeg(upright: np.ndarray, when=None, gps=None) -> bytes:
    """A JPEG whose pixels are stored turned a quarter to the left, with EXIF orientation 6
    ("rotate 90 clockwise to view"), as phone cameras held upright write them."""
    return jpeg(np.ascontiguousarray(np.rot90(upright, 1)), when, gps, orientation=6)


def build_site(st, n_spots: int = 6, *, unconfirmed: int = 1, extra_before: int = 0, rotate_first_after=True,
               size=(640, 480), fields=True, camera_size=None) -> dict:
    """A site of ``n_spots`` confirmed spots (3 photos each: before / during / after, days
    apart) and ``unconfirmed`` more that are not confirmed; the first spot gets
    ``extra_before`` more "before" photos. ``camera_size``: (w, h) the photos are enlarged
    to (drawn at ``size``), for camera-sized originals made quickly.
    Returns {"site", "spots": [ids in page order],
    "photos": {spot id: [(sha256, stage, bytes)]}, "rotated": sha256 or None}."""
    out = {"photos": {}, "rotated": None}
    items = []
    for k in range(n_spots + unconfirmed):
        start = DAY + timedelta(minutes=7 * k)
        shots = [("before", start), ("during", start + timedelta(days=3, hours=1)),
                 ("after", start + timedelta(days=8, hours=5))]
        shots += [("before", start + timedelta(seconds=20 * (j + 1))) for j in range(extra_before if k == 0 else 0)]
        files = []
        for j, (stage, when) in enumerate(shots):
            rgb = scene(100 + k, stage, size)
            if j >= 3:  # another "before" from a slightly different place
                rgb = np.ascontiguousarray(np.roll(rgb, 25 * (j - 2), axis=1))
            if camera_size is not None:
                rgb = cv2.resize(rgb, camera_size, interpolation=cv2.INTER_LINEAR)
            if k == 0 and stage == "after" and rotate_first_after:
                data = rotated_jpeg(rgb, when, GPS)
            else:
                data = jpeg(rgb, when, GPS)
            files.append((f"IMG_{k:02d}{j:02d}.JPG", data, stage))
        items.append(files)
    with st.write():
        site_id = sites.create_site(st, "engine")
    added = []
    for files in items:
        shas = []
        for name, data, stage in files:
            a = photos.add_bytes(st, data, name, source="cli", who="test")
            shas.append((a.sha256, stage, data))
        added.append(shas)
    spot_ids = []
    with st.write():
        for shas in added:
            sid = spots.create_spot(st, site_id, "engine")
            spot_ids.append(sid)
            for sha, _, _ in shas:
                st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site_id, sha))
                spots.place(st, sha, sid, "engine", score=0.95)
    for sid, shas in zip(spot_ids, added):
        for stage in ("before", "during", "after"):
            spots.set_phase(st, [s for s, ph, _ in shas if ph == stage], stage, who="kim")
        out["photos"][sid] = shas
    if rotate_first_after:
        out["rotated"] = next(s for s, ph, _ in added[0] if ph == "after")
    if fields:
        ledger_fields.set_site_fields(st, site_id, "kim", works_name="2026년 ○○공원 제초작업", company="㈜한빛조경",
                                      work_type="제초", stage_words="construction")
        for k, sid in enumerate(spot_ids):
            ledger_fields.set_spot_fields(st, sid, "kim", location=LOCATIONS[k % len(LOCATIONS)],
                                          caption=CAPTIONS[k % len(CAPTIONS)],
                                          asset_no=f"T-{101 + k}" if k % 2 else None)
    for sid in spot_ids[:n_spots]:
        spots.confirm(st, sid, who="kim")
    out["site"] = site_id
    out["spots"] = spot_ids
    return out


def company_template(path):
    """A landscape template: before / after only (no 'during'), merged photo cells, the asset
    number in a cell of its own, static labels in the block, a logo line above."""
    wb = Workbook()
    ws = wb.active
    ws.title = "현장 사진"
    ws["A1"] = "㈜한빛조경 품질관리팀 · 준공사진첩"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"], ws["D2"] = "공사명", "기간"
    for col, width in zip("ABCDE", (12, 30, 30, 30, 30)):
        ws.column_dimensions[col].width = width
    ws.row_dimensions[3].height = 200
    ws.merge_cells("B3:C3")
    ws.merge_cells("D3:E3")
    ws["A3"], ws["A5"], ws["C5"] = "사진", "위치", "관리번호"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9
    names = {"WORKS_NAME": "$B$2", "PERIOD": "$E$2", "PHOTO_BEFORE": "$B$3:$C$3", "PHOTO_AFTER": "$D$3",
             "DATE_BEFORE": "$B$4", "DATE_AFTER": "$D$4", "LOCATION": "$B$5", "ASSET_NO": "$D$5",
             "CAPTION": "$E$5", "SPOT_NO": "$A$4"}
    for n, ref in names.items():
        wb.defined_names[n] = DefinedName(n, attr_text=f"'현장 사진'!{ref}")
    ws.print_title_rows = "1:2"
    wb.save(path)


def add_to_spot(st, site_id: int, spot_id: int, shots) -> list[str]:
    """Add photos to a spot as the worker would: ``shots`` [(seed, stage drawn, when or None,
    phase or None, by: 'person' | 'engine')]; a photo without ``when`` has no EXIF time (a
    messenger's copy). Returns their sha256s in order."""
    out = []
    for k, (seed, drawn, when, phase, by) in enumerate(shots):
        data = jpeg(np.ascontiguousarray(np.roll(scene(seed, drawn), 40 * (k + 1), axis=1)), when, GPS)
        a = photos.add_bytes(st, data, f"KakaoTalk_{spot_id}_{k}.jpg", source="cli", who="test")
        out.append(a.sha256)
        with st.write():
            st.conn.execute("UPDATE photos SET site_id = ?, state = 'analysed' WHERE sha256 = ?", (site_id, a.sha256))
            spots.place(st, a.sha256, spot_id, "engine", score=0.9)
        if phase is not None and by == "person":
            spots.set_phase(st, [a.sha256], phase, who="kim")
        elif phase is not None:
            with st.write():
                st.conn.execute("UPDATE photos SET phase = ?, phase_by = 'engine' WHERE sha256 = ?", (phase, a.sha256))
    return out


def put_spots_at(st, info: dict, metres, origin=GPS) -> None:
    """Give each spot's photos the GPS of a place ``metres`` (east, north) from ``origin``, in
    page order (None: no GPS at all, as a photo whose camera had location off)."""
    import math

    lat0, lon0 = origin
    with st.write():
        for sid, where in zip(info["spots"], metres):
            for sha, _, _ in info["photos"][sid]:
                if where is None:
                    st.conn.execute("UPDATE photos SET lat = NULL, lon = NULL WHERE sha256 = ?", (sha,))
                    continue
                lat = lat0 + math.degrees(where[1] / 6371008.8)
                lon = lon0 + math.degrees(where[0] / (6371008.8 * math.cos(math.radians(lat0))))
                st.conn.execute("UPDATE photos SET lat = ?, lon = ? WHERE sha256 = ?", (lat, lon, sha))
