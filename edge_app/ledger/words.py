"""The words a photo ledger prints: stage words per site, labels in Korean and English,
dates, and text made safe for a font or a file name.

Stage words are chosen per site (``sites.stage_words``); the keys are stable and stored::

    construction   시공 전 / 시공 중 / 시공 후
    work           작업 전 / 작업 중 / 작업 후
    completion     착공 전 / 시공 중 / 준공
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from ..store.ledger_fields import STAGE_WORD_KEYS

LANGS = ("ko", "en")
STAGES = ("before", "during", "after")
DEFAULT_STAGE_WORDS = "construction"

#: key -> {lang: (before, during, after)}
STAGE_WORDS: dict[str, dict[str, tuple[str, str, str]]] = {
    "construction": {"ko": ("시공 전", "시공 중", "시공 후"),
                     "en": ("Before works", "During works", "After works")},
    "work": {"ko": ("작업 전", "작업 중", "작업 후"),
             "en": ("Before work", "During work", "After work")},
    "completion": {"ko": ("착공 전", "시공 중", "준공"),
                   "en": ("Before start", "During works", "Completed")},
}
assert tuple(STAGE_WORDS) == STAGE_WORD_KEYS

#: What the documents print, per language.
LABELS: dict[str, dict[str, str]] = {
    "ko": {
        "title": "사진대지", "works_name": "공사명", "company": "회사명", "work_type": "공종",
        "period": "기간", "site": "현장", "no": "번호", "location": "위치", "caption": "내용",
        "date": "일자", "asset_no": "관리번호", "no_photo": "사진 없음", "unreadable": "사진을 읽을 수 없음",
        "spots": "지점", "spots_value": "{n}곳", "photos": "사진", "photos_value": "대지 {shown}장 / 원본 {total}장",
        "stage_words": "단계 표기", "prepared": "작성일", "unconfirmed": "미확인",
        "unconfirmed_note": "미확인 지점 {n}곳 포함", "skipped_note": "미확인 지점 {n}곳은 빠짐",
        "site_auto": "현장 {id}", "unset_stage": "단계 미상", "page": "{n} / {total}",
        "client": "발주처", "contractor": "시공사", "contract_no": "계약번호", "contract_period": "공사기간",
        "index_title": "사진 목록", "index_photo_no": "사진번호", "index_location": "지점 · 위치",
        "index_stage": "구분", "index_taken": "촬영일시", "index_sha": "SHA-256", "index_sha_full": "SHA-256 (전체)",
        "index_note": "사진대지에 실린 사진마다 한 줄. SHA-256은 원본 파일 해시의 앞 12자리입니다 (64자리 전체는 원본 ZIP의 "
                      "index.csv). 원본이 바뀌지 않았음을 확인할 때 씁니다.",
        "name_mark": "(파일명)",
        "name_legend": "(파일명): 사진에 촬영시각(EXIF)이 없어 파일 이름에서 읽은 일시",
        "map_title": "위치도", "map_more": "위치도 (계속)", "map_no": "번호", "map_location": "위치",
        "map_gps": "좌표 (위도, 경도)", "map_photos": "사진 수", "map_none": "위치 정보 없음",
        "map_photos_value": "{n}장", "map_photos_some": "{n}장 (GPS {g}장)",
        "map_note": "사진의 GPS 좌표(지점마다 사진 좌표의 중앙값)로 그린 약도입니다. 배경 지도는 없으며 위쪽이 북쪽입니다. "
                    "번호는 사진대지의 지점 번호입니다.",
    },
    "en": {
        "title": "Photo ledger", "works_name": "Works", "company": "Company", "work_type": "Work type",
        "period": "Period", "site": "Site", "no": "No.", "location": "Location", "caption": "Description",
        "date": "Date", "asset_no": "Asset no.", "no_photo": "No photo", "unreadable": "Photo unreadable",
        "spots": "Spots", "spots_value": "{n}", "photos": "Photos", "photos_value": "{shown} in the ledger / {total} originals",
        "stage_words": "Stage words", "prepared": "Prepared", "unconfirmed": "unconfirmed",
        "unconfirmed_note": "{n} unconfirmed spots included", "skipped_note": "{n} unconfirmed spots left out",
        "site_auto": "Site {id}", "unset_stage": "stage unknown", "page": "{n} / {total}",
        "client": "Client", "contractor": "Contractor", "contract_no": "Contract no.",
        "contract_period": "Contract period",
        "index_title": "Photo index", "index_photo_no": "Photo no.", "index_location": "Spot · location",
        "index_stage": "Stage", "index_taken": "Taken", "index_sha": "SHA-256", "index_sha_full": "SHA-256 (whole)",
        "index_note": "One line per photo in the ledger. SHA-256: the first 12 hex digits of the original file's "
                      "hash (all 64 are in the originals ZIP's index.csv), to check an original is unchanged.",
        "name_mark": "(file name)",
        "name_legend": "(file name): the photo carries no capture time (EXIF); read from its file name",
        "map_title": "Location map", "map_more": "Location map (continued)", "map_no": "No.",
        "map_location": "Location", "map_gps": "GPS (lat, lon)", "map_photos": "Photos",
        "map_none": "no location data", "map_photos_value": "{n}", "map_photos_some": "{n} ({g} with GPS)",
        "map_note": "Drawn from the photos' GPS (each spot at the median of its photos' fixes); no background map, "
                    "north is up. The numbers are the ledger's spot numbers.",
    },
}


def lang_of(lang: str | None) -> str:
    return lang if lang in LANGS else "ko"


def label(lang: str, key: str, **kw) -> str:
    text = LABELS[lang_of(lang)][key]
    return text.format(**kw) if kw else text


def stage_words(key: str | None, lang: str) -> tuple[str, str, str]:
    """The three stage words of a site's choice (the default when unset or unknown)."""
    return STAGE_WORDS.get(key or DEFAULT_STAGE_WORDS, STAGE_WORDS[DEFAULT_STAGE_WORDS])[lang_of(lang)]


def stage_word(key: str | None, lang: str, stage: str | None) -> str:
    if stage not in STAGES:
        return label(lang, "unset_stage")
    return stage_words(key, lang)[STAGES.index(stage)]


def parse_local(taken_local: str | None) -> datetime | None:
    """'2026-05-04 09:00:00' -> datetime (None when absent or malformed)."""
    if not taken_local:
        return None
    try:
        return datetime.strptime(taken_local[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def format_date(taken_local: str | None, lang: str, with_time: bool = True) -> str:
    """'2026.05.04 09:00' (Korean documents) / '2026-05-04 09:00'; '' when unknown."""
    dt = parse_local(taken_local)
    if dt is None:
        return ""
    fmt = "%Y.%m.%d" if lang_of(lang) == "ko" else "%Y-%m-%d"
    return dt.strftime(fmt + (" %H:%M" if with_time else ""))


#: taken_from values of a time read from a file name ('file name date': the day only).
NAME_SOURCES = ("file name", "file name date")


def photo_time(taken_local: str | None, taken_from: str | None, lang: str) -> str:
    """A photo's capture time as printed: '2024.03.05 10:15', and when it was read from the
    file name '2024.03.05 10:15 (파일명)' (the day only when the name holds no time)."""
    text = format_date(taken_local, lang, with_time=taken_from != "file name date")
    if text and taken_from in NAME_SOURCES:
        text += " " + label(lang, "name_mark")
    return text


def format_period(first: str | None, last: str | None, lang: str) -> str:
    a, b = format_date(first, lang, False), format_date(last, lang, False)
    if not a:
        return b
    if not b or a == b:
        return a
    return f"{a} ~ {b}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(text: str | None) -> str:
    """One line of text: NFC, control and bidi characters removed, spaces collapsed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", str(text))
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


#: Characters a Windows file name cannot hold, and names it reserves.
_WIN_BAD = re.compile(r'[<>:"/\\|?*]')
_WIN_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_file_part(text: str | None, fallback: str = "_", max_len: int = 40) -> str:
    """A piece of a file name that is safe on Windows, macOS and Linux and keeps Korean:
    NFC, no control or reserved characters (replaced by ``_``), no trailing dot or space, no
    reserved device name, at most ``max_len`` characters."""
    text = clean_text(text)
    text = _WIN_BAD.sub("_", text).replace(" ", "_")
    text = re.sub(r"_+", "_", text).strip("._ ")
    text = text[:max_len].rstrip("._ ")
    if not text:
        text = fallback
    if text.split(".")[0].upper() in _WIN_RESERVED:
        text = "_" + text
    return text


def csv_cell(value) -> str:
    """A CSV value that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text and (text[0] in "=+@\t\r" or (text[0] == "-" and not re.fullmatch(r"-\d+(\.\d+)?", text))):
        return "'" + text
    return text
