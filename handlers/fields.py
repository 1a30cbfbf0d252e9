"""Shared parsers for form answers and one-line commands: names, places, phones, ID numbers.

Each parser takes the raw text and returns a clean value or raises ``Invalid`` with
the template that tells the person what was wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from bot.dialogs import Invalid
from content.regions import Gazetteer

FULLWIDTH_DIGITS = {ord("０") + i: ord("0") + i for i in range(10)}
NAME_MAX = 32
PLACE_MAX = 20
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def normalise_digits(text: str) -> str:
    """Full-width and other Unicode decimal digits as ASCII (１３８ → 138, ٣ → 3)."""
    out = []
    for ch in text.translate(FULLWIDTH_DIGITS):
        value = unicodedata.decimal(ch, None) if not ch.isascii() else None
        out.append(str(value) if value is not None else ch)
    return "".join(out)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in text)


def parse_display_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise Invalid("fields/name_empty")
    if len(name) > NAME_MAX:
        raise Invalid("fields/name_too_long", limit=NAME_MAX)
    if _has_control(name) or name.startswith("/"):
        raise Invalid("fields/name_invalid")
    return name


def parse_county(text: str, regions: Gazetteer) -> str:
    county = regions.county(text)
    if county is None:
        raise Invalid("fields/county_unknown", text=text[:PLACE_MAX])
    return county.name


def parse_village(text: str) -> str:
    village = "".join(text.split())
    if not village:
        raise Invalid("fields/village_invalid")
    if len(village) > PLACE_MAX:
        raise Invalid("fields/village_too_long", limit=PLACE_MAX)
    if _has_control(village) or not any("\u4e00" <= ch <= "\u9fff" for ch in village):
        raise Invalid("fields/village_invalid")
    return village


def parse_phone(text: str) -> str:
    """An 11-digit mainland mobile number; spaces, dashes and +86 are tolerated."""
    digits = re.sub(r"[\s\-()（）\uff0d\u2010-\u2015]", "", normalise_digits(text))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not PHONE_RE.match(digits):
        raise Invalid("fields/phone_invalid")
    return digits


@dataclass(frozen=True)
class IdCard:
    number: str
    birth_date: date
    sex: str  # "男" | "女"


def parse_id_card(text: str) -> IdCard:
    """An 18-digit resident ID with its check digit verified; birth date and sex derived."""
    number = re.sub(r"\s", "", normalise_digits(text)).upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise Invalid("fields/id_format")
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    if ID_CHECK[total % 11] != number[17]:
        raise Invalid("fields/id_checksum")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise Invalid("fields/id_birth_date") from exc
    if born.year < 1900 or born > date.today():
        raise Invalid("fields/id_birth_date")
    return IdCard(number=number, birth_date=born, sex="男" if int(number[16]) % 2 else "女")


def parse_township(text: str) -> str:
    """A township (乡/镇/街道) name: Chinese characters, at most PLACE_MAX of them."""
    township = "".join(text.split())
    if not township or len(township) > PLACE_MAX:
        raise Invalid("fields/township_invalid", limit=PLACE_MAX)
    if _has_control(township) or not any("\u4e00" <= ch <= "\u9fff" for ch in township):
        raise Invalid("fields/township_invalid", limit=PLACE_MAX)
    return township


def parse_short_text(text: str, limit: int) -> str:
    """A title, a place or a teacher's name: one line, not empty, at most ``limit`` characters."""
    value = " ".join(text.split())
    if not value or _has_control(value) or value.startswith("/"):
        raise Invalid("fields/text_invalid")
    if len(value) > limit:
        raise Invalid("fields/text_too_long", limit=limit)
    return value


def parse_count(text: str, *, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high`` (人/个 after it is tolerated)."""
    digits = normalise_digits(text).strip().rstrip("人个名位").strip()
    if not digits.isdigit() or not low <= int(digits) <= high:
        raise Invalid("fields/count_invalid", low=low, high=high)
    return int(digits)


LOCAL_FORMAT = "%Y-%m-%d %H:%M"
_DATE_TIME_RE = re.compile(
    r"^(?:(\d{4})[-/.年])?(\d{1,2})[-/.月](\d{1,2})[日号]?\s*(?:(上午|下午|晚上)\s*)?"
    r"(\d{1,2})(?:[:\uff1a点时](\d{1,2})?分?)?$"
)
_TIME_RE = re.compile(r"^(?:(上午|下午|晚上)\s*)?(\d{1,2})(?:[:\uff1a点时](\d{1,2})?分?)?$")


def _hour(hour: int, half: str | None) -> int:
    return hour + 12 if half in ("下午", "晚上") and hour < 12 else hour


def parse_local_datetime(text: str, now_local: datetime) -> str:
    """A future local date and time (2026-12-05 09:00, 12月5日 下午2点, 12/5 14:30) as
    ``YYYY-MM-DD HH:MM``; without a year, the next such date."""
    found = _DATE_TIME_RE.match(normalise_digits(text.strip()))
    if found is None:
        raise Invalid("fields/datetime_invalid")
    year, month, day, half, hour, minute = found.groups()
    try:
        value = datetime(
            int(year) if year else now_local.year,
            int(month),
            int(day),
            _hour(int(hour), half),
            int(minute or 0),
        )
    except ValueError as exc:
        raise Invalid("fields/datetime_invalid") from exc
    naive_now = now_local.replace(tzinfo=None)
    if not year and value < naive_now:
        value = value.replace(year=value.year + 1)
    if value <= naive_now:
        raise Invalid("fields/datetime_past")
    return value.strftime(LOCAL_FORMAT)


def parse_end_time(text: str, start: str) -> str:
    """The end of something that starts at ``start``: a time that day (17:00, 下午5点) or a
    full date and time; later than the start, as ``YYYY-MM-DD HH:MM``."""
    begin = datetime.strptime(start, LOCAL_FORMAT)
    cleaned = normalise_digits(text.strip())
    only_time = _TIME_RE.match(cleaned)
    if only_time is not None:
        half, hour, minute = only_time.groups()
        try:
            value = begin.replace(hour=_hour(int(hour), half), minute=int(minute or 0))
        except ValueError as exc:
            raise Invalid("fields/datetime_invalid") from exc
    else:
        value = datetime.strptime(parse_local_datetime(text, begin), LOCAL_FORMAT)
    if value <= begin:
        raise Invalid("fields/end_before_start", start=start)
    return value.strftime(LOCAL_FORMAT)
