"""Shared parsers for form answers and one-line commands: names, places, phones, ID numbers.

Each parser takes the raw text and returns a clean value or raises ``Invalid`` with
the template that tells the person what was wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from bot.dialogs import Invalid
from content.regions import Gazetteer

FULLWIDTH_DIGITS = {ord("０") + i: ord("0") + i for i in range(10)}
NAME_MAX = 32
PLACE_MAX = 20
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
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
    """An 11-digit mainland mobile number, 11 ASCII digits after NFKC (full-width digits
    become ASCII); spaces, dashes and +86 are tolerated. Digits of other scripts (Arabic-
    Indic ٣, Devanagari ३: NFKC keeps them) are refused with their own reason."""
    normal = unicodedata.normalize("NFKC", text)
    if any(ch.isdigit() and not ch.isascii() for ch in normal):
        raise Invalid("fields/phone_digits")
    digits = re.sub(r"[\s\-()（）\uff0d\u2010-\u2015]", "", normal)
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


# -- numbers, money and quantities ---------------------------------------------------------
CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "幺": 1, "二": 2, "贰": 2, "两": 2, "俩": 2,
    "三": 3, "叁": 3, "仨": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6,
    "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "".join([*CN_DIGITS, *CN_SMALL_UNITS, *CN_BIG_UNITS, "点", "半"])
NUMBER_PATTERN = (
    rf"(?:\d+(?:,\d{{3}})*(?:\.\d+)?[万萬]?|[{CN_NUMERAL_CHARS}]+)"  # 1,200 / 3.5 / 1.2万 / 两百
)
ARABIC_RE = re.compile(r"^(\d+(?:,\d{3})*(?:\.\d+)?)([万萬]?)$")
MONEY_RE = re.compile(
    rf"^(?:(?P<yuan>{NUMBER_PATTERN})(?P<wan>万)?(?:元|块钱|块|圆)"
    rf"(?:(?P<jiao>{NUMBER_PATTERN})(?:角|毛)?)?(?:(?P<fen>{NUMBER_PATTERN})分)?"
    rf"|(?P<only_jiao>{NUMBER_PATTERN})(?:角|毛)(?:(?P<jiao_fen>{NUMBER_PATTERN})分?)?"
    rf"|(?P<only_fen>{NUMBER_PATTERN})分"
    rf"|(?P<bare>\d+(?:,\d{{3}})*(?:\.\d+)?))$"
)
MONEY_NOISE_RE = re.compile(r"[\s¥￥]|人民币|RMB|rmb|整|钱$")
NEGATIVE_RE = re.compile(r"^[-−－负]")
UNITS = (
    "公斤", "千克", "kg", "KG", "斤", "克", "吨", "袋", "箱", "件", "个", "只", "头", "筐",
    "包", "瓶", "桶", "盒", "条", "把", "捆", "台", "套", "双", "株", "棵", "枚", "罐",
    "提", "板", "份", "篮", "节", "支", "根", "卷",
)  # fmt: skip
UNIT_ALIASES = {"千克": "公斤", "kg": "公斤", "KG": "公斤"}
GRAMS_PER_UNIT = {"克": 1, "斤": 500, "公斤": 1000, "吨": 1_000_000}
UNIT_PATTERN = "|".join(sorted(UNITS, key=len, reverse=True))
QUANTITY_RE = re.compile(
    rf"^(?P<number>{NUMBER_PATTERN})\s*(?P<unit>{UNIT_PATTERN})(?P<half>半)?$"
)
QUANTITY_MAX_DECIMALS = 3


def parse_cn_number(text: str) -> Decimal | None:
    """A number in Arabic or Chinese numerals: 1,200 / 3.5 / 1.2万 / 两百 / 三千五 / 三点五 / 半.

    Returns None when ``text`` is not a number at all.
    """
    text = normalise_digits(text.strip())
    if not text:
        return None
    arabic = ARABIC_RE.match(text)
    if arabic:
        value = Decimal(arabic.group(1).replace(",", ""))
        return value * 10_000 if arabic.group(2) else value
    if text == "半":
        return Decimal("0.5")
    if "点" in text:
        whole, _, fraction = text.partition("点")
        head = parse_cn_number(whole) if whole else Decimal(0)
        if head is None or not fraction or any(ch not in CN_DIGITS for ch in fraction):
            return None
        return head + Decimal("0." + "".join(str(CN_DIGITS[ch]) for ch in fraction))
    return _cn_integer(text)


def _cn_integer(text: str) -> Decimal | None:
    """Chinese integer numerals with 十/百/千/万/亿 and the spoken short forms (三千五 = 3500)."""
    known = CN_DIGITS.keys() | CN_SMALL_UNITS.keys() | CN_BIG_UNITS.keys()
    if any(ch not in known for ch in text):
        return None
    if all(ch in CN_DIGITS for ch in text) and len(text) > 1 and set(text) & {"〇", "零"}:
        return Decimal("".join(str(CN_DIGITS[ch]) for ch in text))  # 二〇二六 style
    total, section, digit = 0, 0, None
    last_unit = 1
    for ch in text:
        if ch in CN_DIGITS:
            if digit is not None and CN_DIGITS[ch] != 0 and digit != 0:
                return None  # two digits in a row (三五) is not a number here
            digit = CN_DIGITS[ch]
        elif ch in CN_SMALL_UNITS:
            unit = CN_SMALL_UNITS[ch]
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            unit = CN_BIG_UNITS[ch]
            section += digit or 0
            total += (section or 1) * unit
            section, digit, last_unit = 0, None, unit
    if digit is not None:
        # 三千五 = 3500, 一万二 = 12000: a trailing digit counts in the next lower place.
        if last_unit >= 100 and not text.endswith(("零", "〇")) and "零" not in text[-2:]:
            digit *= last_unit // 10
        section += digit
    return Decimal(total + section)


def parse_money_fen(text: str) -> int:
    """An amount of money as integer fen: 120元, ¥120, 3.5, 3块5, 三元五角, 1.2万元, 5毛.

    Negative, zero and sub-fen amounts are refused with the reason.
    """
    raw = normalise_digits(text.strip())
    if NEGATIVE_RE.match(raw):
        raise Invalid("fields/money_negative")
    cleaned = MONEY_NOISE_RE.sub("", raw)
    found = MONEY_RE.match(cleaned)
    if not found or not cleaned:
        raise Invalid("fields/money_invalid", text=text[:20])
    groups = found.groupdict()
    fen = Decimal(0)
    try:
        if groups["bare"] is not None:
            fen = _number(groups["bare"]) * 100
        elif groups["yuan"] is not None:
            fen = _number(groups["yuan"]) * (1_000_000 if groups["wan"] else 100)
            if groups["jiao"] is not None:
                fen += _digit(groups["jiao"]) * 10
            if groups["fen"] is not None:
                fen += _digit(groups["fen"])
        elif groups["only_jiao"] is not None:
            fen = Decimal(_digit(groups["only_jiao"]) * 10)
            if groups["jiao_fen"] is not None:
                fen += _digit(groups["jiao_fen"])
        else:
            fen = Decimal(_digit(groups["only_fen"]))
    except ValueError as exc:
        raise Invalid("fields/money_invalid", text=text[:20]) from exc
    if fen != fen.to_integral_value():
        raise Invalid("fields/money_precision")
    if fen <= 0:
        raise Invalid("fields/money_zero")
    return int(fen)


def _number(text: str) -> Decimal:
    value = parse_cn_number(text)
    if value is None:
        raise ValueError(text)
    return value


def _digit(text: str) -> int:
    value = _number(text)
    if value != value.to_integral_value() or not 0 <= value <= 9:
        raise ValueError(text)
    return int(value)


@dataclass(frozen=True)
class Quantity:
    amount: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{format_decimal(self.amount)}{self.unit}"


def format_decimal(value: Decimal) -> str:
    """200, 2.5, 0.125: no trailing zeros, never scientific notation."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def canonical_unit(unit: str) -> str:
    return UNIT_ALIASES.get(unit, unit)


def parse_quantity(text: str) -> Quantity:
    """A positive amount with its unit: 200斤, 两百斤, ５袋, 1.5 吨, 一斤半, 半箱."""
    raw = normalise_digits(text.strip())
    if NEGATIVE_RE.match(raw):
        raise Invalid("fields/quantity_negative")
    found = QUANTITY_RE.match(raw)
    if not found:
        if parse_cn_number(raw) is not None:
            raise Invalid("fields/quantity_unit_missing", units="、".join(UNITS[:12]))
        raise Invalid("fields/quantity_invalid", text=text[:20])
    amount = parse_cn_number(found.group("number"))
    if amount is None:
        raise Invalid("fields/quantity_invalid", text=text[:20])
    if found.group("half"):
        amount += Decimal("0.5")
    if amount <= 0:
        raise Invalid("fields/quantity_zero")
    if -amount.as_tuple().exponent > QUANTITY_MAX_DECIMALS:  # type: ignore[operator]
        raise Invalid("fields/quantity_precision", digits=QUANTITY_MAX_DECIMALS)
    return Quantity(plain_decimal(amount), canonical_unit(found.group("unit")))


def plain_decimal(value: Decimal) -> Decimal:
    """200.0 → 200, 2.50 → 2.5 (no exponent form)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def convert_quantity(amount: Decimal, unit: str, to_unit: str) -> Decimal | None:
    """``amount`` of ``unit`` in ``to_unit`` when both are weights (斤 ↔ 公斤 …), else None."""
    unit, to_unit = canonical_unit(unit), canonical_unit(to_unit)
    if unit == to_unit:
        return amount
    if unit in GRAMS_PER_UNIT and to_unit in GRAMS_PER_UNIT:
        return amount * GRAMS_PER_UNIT[unit] / GRAMS_PER_UNIT[to_unit]
    return None


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
