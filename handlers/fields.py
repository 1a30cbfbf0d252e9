"""Shared parsers for form answers and one-line commands: names, places, phones, ID numbers.

Each parser takes the raw text and returns a clean value or raises ``Invalid`` with
the template that tells the person what was wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

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
    digits = re.sub(r"[\s\-()（）]", "", normalise_digits(text))
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
