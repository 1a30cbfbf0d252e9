"""The one-line order grammar (``代销 苹果 200斤 3.5元/斤 张三 13812345678``) and the
order arithmetic both the one-line and the guided form use: price → total, the limits.

Everything here is pure: it turns text into a ``Draft`` or raises ``Invalid`` with the
template that says what was wrong. Linking the household to the ledger is the handler's job.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bot.dialogs import Invalid
from handlers.fields import (
    CN_DIGITS,
    NUMBER_PATTERN,
    QUANTITY_MAX_DECIMALS,
    UNIT_PATTERN,
    Quantity,
    canonical_unit,
    convert_quantity,
    format_decimal,
    normalise_digits,
    parse_money_fen,
    parse_phone,
    parse_quantity,
    plain_decimal,
)

SALE_WORDS = ("代销", "代卖", "代售", "帮卖")
PURCHASE_WORDS = ("代购", "代买", "帮买")
KIND_RE = re.compile(rf"^\s*(?P<word>{'|'.join(SALE_WORDS + PURCHASE_WORDS)})")
PLATFORMS = (
    "淘宝", "天猫", "京东", "拼多多", "抖音", "快手", "微信", "微店", "邮乐购", "邮乐",
    "供销e家", "有赞", "一亩田", "美团", "闲鱼", "苏宁", "832平台", "惠农网",
)  # fmt: skip
MAX_TOTAL_FEN = 100_000_000  # 1,000,000 元 in one order
MAX_QUANTITY = Decimal(100_000)
PRODUCT_MAX = 32
PLATFORM_MAX = 32
NOTE_MAX = 200
HOUSEHOLD_NAME_MAX = 16
# Han characters including the extension blocks (rare characters in names, 生僻字: 㐀 in
# Extension A, 𠀀 from Extension B on), the middle dot of minority names, Latin letters.
HOUSEHOLD_NAME_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f·A-Za-z]+")

_MASK = "\x00"
NEGATIVE_SIGNS = "-−负"
NEGATIVE_REFUSALS = {
    "quantity": "fields/quantity_negative",
    "unit_price": "fields/money_negative",
    "total": "fields/money_negative",
}
_JIAO = rf"[0-9{''.join(CN_DIGITS)}]"
_MONEY = rf"{NUMBER_PATTERN}\s*万?\s*(?:元|块钱|块|圆)(?:{_JIAO}(?:角|毛)?)?|[¥]\s*\d+(?:\.\d+)?"
_PER = rf"(?P<per>{UNIT_PATTERN})"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(r"(?<![\d.])(?:\+?86\s*)?1\d{10}(?![\d.])")),
    ("note", re.compile(r"备注\s*[:]?\s*(?P<value>.*)$")),
    ("platform", re.compile(r"(?:平台|买家|渠道)\s*[:]?\s*(?P<value>[^\s,;]+)")),
    ("not_poor", re.compile(r"非建档立卡户?|非贫困户|一般户|非建档")),
    ("poor", re.compile(r"建档立卡户?|贫困户|脱贫户")),
    ("unit_price", re.compile(rf"(?:单价)?\s*(?P<money>{_MONEY})\s*(?:/|每|一)\s*{_PER}")),
    ("unit_price", re.compile(rf"每{_PER}\s*(?P<money>{_MONEY})")),
    ("unit_price", re.compile(rf"一{_PER}(?P<money>{_MONEY})")),
    ("unit_price", re.compile(rf"单价\s*[:]?\s*(?P<money>{_MONEY}|\d+(?:\.\d+)?)")),
    ("total", re.compile(rf"(?:共|合计|总价|总共|总计|一共|金额)?\s*[:]?\s*(?P<money>{_MONEY})")),
    # Not after a Latin letter: 1e308斤 is not the product "苹果 1e" and 308斤.
    (
        "quantity",
        re.compile(rf"(?P<value>(?<![\d.A-Za-z]){NUMBER_PATTERN}\s*(?:{UNIT_PATTERN})半?)"),
    ),
    ("long_number", re.compile(r"(?<![\d.])\d{8,}(?![\d.])")),
)


@dataclass(frozen=True)
class Priced:
    """A quantity with its price settled: the unit price (when given) and the total."""

    quantity: Quantity
    unit_price_fen: int | None
    total_fen: int


@dataclass(frozen=True)
class Draft:
    """What one line said, before the household is looked up."""

    kind: str  # OrderKind value
    product: str
    priced: Priced
    name: str | None
    phone: str | None
    poor: bool | None
    platform: str | None
    note: str | None


def kind_of(text: str) -> str | None:
    """``sale`` / ``purchase`` for a line starting with 代销 / 代购 (or their synonyms)."""
    found = KIND_RE.match(text)
    if not found:
        return None
    return "sale" if found.group("word") in SALE_WORDS else "purchase"


_FIGURE_RE = re.compile(rf"{NUMBER_PATTERN}\s*(?:{UNIT_PATTERN}|元|块)|\d")


def looks_like_order(text: str) -> bool:
    """The router's matcher: 代销/代购 first and a figure after (a question has none)."""
    text = _normalise(text)
    return kind_of(text) is not None and bool(_FIGURE_RE.search(text[2:]))


def _normalise(text: str) -> str:
    # NFKC folds full-width digits but not other scripts' (Arabic-Indic ٣ stays; regex \d
    # would still match it and the phone and amount parsers would then refuse it).
    text = normalise_digits(unicodedata.normalize("NFKC", text))
    text = text.replace("，", " ").replace("、", " ").replace("。", " ").replace("；", " ")
    return text.replace(",", " ").replace(";", " ").strip()


def parse_order_line(text: str) -> Draft:
    """Parse one line; anything not understood is refused with what it was."""
    text = _normalise(text)
    kind = kind_of(text)
    if kind is None:
        raise Invalid("orders/line_no_kind")
    head = KIND_RE.match(text)
    assert head is not None
    body = _MASK * head.end() + text[head.end() :]
    found: dict[str, list[tuple[int, re.Match[str]]]] = {}
    for name, pattern in PATTERNS:
        while True:
            match = pattern.search(body)
            if match is None or not match.group(0).strip():
                break
            if match.start() > 0 and body[match.start() - 1] in NEGATIVE_SIGNS:
                raise Invalid(NEGATIVE_REFUSALS.get(name, "orders/line_negative"))
            found.setdefault(name, []).append((match.start(), match))
            body = body[: match.start()] + _MASK * len(match.group(0)) + body[match.end() :]
    return _draft(kind, body, found)


def _one(found: dict[str, list[tuple[int, re.Match[str]]]], name: str, refusal: str):
    hits = found.get(name, [])
    if len(hits) > 1:
        raise Invalid(refusal)
    return hits[0] if hits else None


def _draft(kind: str, body: str, found: dict[str, list[tuple[int, re.Match[str]]]]) -> Draft:
    if "long_number" in found:
        raise Invalid("fields/phone_invalid")
    phone_hit = _one(found, "phone", "orders/line_two_phones")
    phone = parse_phone(phone_hit[1].group(0)) if phone_hit else None
    quantity_hit = _one(found, "quantity", "orders/line_two_quantities")
    if quantity_hit is None:
        raise Invalid("orders/line_no_quantity")
    quantity = parse_quantity(quantity_hit[1].group("value"))
    prices = found.get("unit_price", []) + found.get("total", [])
    if not prices:
        raise Invalid("orders/line_no_price")
    unit_price = _one(found, "unit_price", "orders/line_two_prices")
    total = _one(found, "total", "orders/line_two_prices")
    priced = price_order(
        quantity,
        unit_price_fen=parse_money_fen(unit_price[1].group("money")) if unit_price else None,
        per_unit=_per_unit(unit_price[1]) if unit_price else None,
        total_fen=parse_money_fen(total[1].group("money")) if total else None,
    )
    first_figure = min(hit[0] for hit in [quantity_hit, *prices])
    product, name = _product_and_name(body, first_figure, phone)
    poor = None
    if "poor" in found or "not_poor" in found:
        if "poor" in found and "not_poor" in found:
            raise Invalid("orders/line_poor_conflict")
        poor = "poor" in found
    platform = _one(found, "platform", "orders/line_two_platforms")
    note = _one(found, "note", "orders/line_two_notes")
    return Draft(
        kind=kind,
        product=product,
        priced=priced,
        name=name,
        phone=phone,
        poor=poor,
        platform=parse_platform(platform[1].group("value")) if platform else None,
        note=parse_note(note[1].group("value")) if note else None,
    )


def _product_and_name(body: str, first_figure: int, phone: str | None) -> tuple[str, str | None]:
    """The words before the first figure name the product; one word after it, the household."""
    words = [(m.start(), m.group(0)) for m in re.finditer(rf"[^\s{_MASK}]+", body)]
    product_words = [w for pos, w in words if pos < first_figure]
    rest = [w for pos, w in words if pos > first_figure]
    if not product_words and rest:
        product_words = [rest.pop(0)]
        if not rest and phone is None:
            raise Invalid("orders/line_no_product")
    if not product_words:
        raise Invalid("orders/line_no_product")
    if len(rest) > 1:
        raise Invalid("orders/line_not_understood", text=" ".join(rest)[:40])
    name = parse_household_name(rest[0]) if rest else None
    if name is None and phone is None:
        raise Invalid("orders/line_no_household")
    return parse_product(" ".join(product_words)), name


def _per_unit(match: re.Match[str]) -> str | None:
    per = match.groupdict().get("per")
    return canonical_unit(per) if per else None


def price_order(
    quantity: Quantity,
    *,
    unit_price_fen: int | None,
    per_unit: str | None,
    total_fen: int | None,
) -> Priced:
    """Settle the total from a unit price (or take the typed total) and apply the limits.

    A unit price per another weight unit converts the quantity (200斤 at 7元/公斤 is
    100公斤); a unit price and a total that disagree are refused, never silently mixed.
    """
    if quantity.amount > MAX_QUANTITY:
        raise Invalid("orders/quantity_too_large", limit=format_decimal(MAX_QUANTITY))
    if unit_price_fen is None and total_fen is None:
        raise Invalid("orders/line_no_price")
    if unit_price_fen is not None:
        if per_unit is not None and per_unit != quantity.unit:
            converted = convert_quantity(quantity.amount, quantity.unit, per_unit)
            if converted is None:
                raise Invalid("orders/price_unit_mismatch", unit=quantity.unit, per=per_unit)
            if -converted.normalize().as_tuple().exponent > QUANTITY_MAX_DECIMALS:  # type: ignore[operator]
                raise Invalid("orders/price_unit_mismatch", unit=quantity.unit, per=per_unit)
            quantity = Quantity(plain_decimal(converted), per_unit)
            if quantity.amount > MAX_QUANTITY:
                raise Invalid("orders/quantity_too_large", limit=format_decimal(MAX_QUANTITY))
        product = quantity.amount * unit_price_fen
        if product > MAX_TOTAL_FEN:  # before quantize, which fails past 28 digits
            raise Invalid("orders/total_too_large", limit=MAX_TOTAL_FEN, total=int(product))
        computed = int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if total_fen is not None and abs(total_fen - computed) > 1:
            raise Invalid("orders/price_conflict", computed=computed, typed=total_fen)
        total_fen = computed
    assert total_fen is not None
    if total_fen <= 0:
        raise Invalid("fields/money_zero")
    if total_fen > MAX_TOTAL_FEN:
        raise Invalid("orders/total_too_large", limit=MAX_TOTAL_FEN, total=total_fen)
    return Priced(quantity, unit_price_fen, total_fen)


def parse_price(text: str, quantity: Quantity) -> Priced:
    """A form answer for the price: ``3.5元/斤``, ``每斤3.5元`` (unit price) or ``700元``."""
    clean = _normalise(text)
    for name, pattern in PATTERNS:
        if name not in ("unit_price", "total"):
            continue
        match = pattern.fullmatch(clean)
        if match is None:
            continue
        money = parse_money_fen(match.group("money"))
        if name == "unit_price":
            return price_order(
                quantity, unit_price_fen=money, per_unit=_per_unit(match), total_fen=None
            )
        return price_order(quantity, unit_price_fen=None, per_unit=None, total_fen=money)
    parse_money_fen(clean)  # refuses with the money reason when it is not money at all
    raise Invalid("orders/price_which")


def parse_product(text: str) -> str:
    product = " ".join(text.split())
    if not product or product.startswith("/"):
        raise Invalid("orders/line_no_product")
    if len(product) > PRODUCT_MAX:
        raise Invalid("orders/product_too_long", limit=PRODUCT_MAX)
    if any(unicodedata.category(ch).startswith("C") for ch in product):
        raise Invalid("orders/product_invalid")
    return product


def parse_household_name(text: str) -> str:
    name = "".join(text.split())
    if not name or len(name) > HOUSEHOLD_NAME_MAX or not HOUSEHOLD_NAME_RE.fullmatch(name):
        raise Invalid("orders/household_name_invalid", text=text[:20])
    return name


def parse_platform(text: str) -> str:
    platform = " ".join(text.split())
    if not platform or len(platform) > PLATFORM_MAX:
        raise Invalid("orders/platform_invalid", limit=PLATFORM_MAX)
    return platform


def parse_note(text: str) -> str:
    note = " ".join(text.split())
    if not note or len(note) > NOTE_MAX:
        raise Invalid("orders/note_invalid", limit=NOTE_MAX)
    return note


def find_platform(text: str) -> str | None:
    """A well-known platform named in free text (淘宝, 拼多多 …), for the form's hint."""
    return next((p for p in PLATFORMS if p in text), None)
