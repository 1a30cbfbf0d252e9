"""Parsers for prices, shared by the one-line price post, the price question and the CSV
import: product names, amounts to integer fen, units, markets and days.

Each parser returns a clean value or raises ``Invalid`` naming the template that says what
was wrong (the CSV import prints the same reason per line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.dialogs import Invalid
from content.regions import Gazetteer
from handlers.fields import normalise_digits

PRODUCT_MAX = 12
MARKET_MAX = 32
MAX_FEN = 10_000_000  # 100,000 yuan per unit: anything above is a typing mistake
# Unit spellings → the unit shown; longest first so 公斤 wins over 斤.
UNITS = {
    "公斤": "公斤",
    "千克": "公斤",
    "kg": "公斤",
    "斤": "斤",
    "克": "克",
    "吨": "吨",
    "个": "个",
    "只": "只",
    "头": "头",
    "箱": "箱",
    "袋": "袋",
    "件": "件",
    "盒": "盒",
    "枚": "枚",
    "条": "条",
    "把": "把",
    "捆": "捆",
    "瓶": "瓶",
    "筐": "筐",
    "株": "株",
}
_UNIT_ALT = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
CURRENCY_FEN = {"元": 100, "块": 100, "块钱": 100, "角": 10, "毛": 10, "分": 1, "": 100}
POST_RE = re.compile(
    rf"^价格\s*(?P<product>[^\s\d.]{{1,{PRODUCT_MAX}}})\s*(?P<amount>\d+(?:\.\d+)?)\s*"
    rf"(?P<currency>块钱|元|块|角|毛|分)?\s*(?:/|每|一|每一)?\s*(?P<unit>{_UNIT_ALT})"
    rf"(?:\s+(?P<market>\S.{{0,{MARKET_MAX - 1}}}))?$",
    re.IGNORECASE,
)
AMOUNT_RE = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<currency>块钱|元|块|角|毛|分)?$")
UNIT_RE = re.compile(rf"^(?:元|块)?\s*(?:/|每)?\s*(?P<unit>{_UNIT_ALT})$", re.IGNORECASE)
DAY_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


@dataclass(frozen=True)
class PriceLine:
    product: str
    price_fen: int
    unit: str
    market: str | None  # as typed; None means the poster's own county


@dataclass(frozen=True)
class Market:
    name: str
    county: str | None
    city: str | None


def is_price_post(text: str) -> bool:
    """``价格 苹果 3.2元/斤 灵宝``, or ``价格 …`` with a number that is not quite right (so the
    poster hears how to write it); a sentence like 价格补贴2020年… stays a policy question."""
    text = normalise_digits(text)
    if POST_RE.match(" ".join(text.split())) is not None:
        return True
    return text.startswith(("价格 ", "价格\u3000")) and any(ch.isdigit() for ch in text)


def parse_product(text: str) -> str:
    product = "".join(text.split())
    if not product or len(product) > PRODUCT_MAX or product.startswith("/"):
        raise Invalid("prices/bad_product", limit=PRODUCT_MAX)
    if not any("\u4e00" <= ch <= "\u9fff" or ch.isalpha() for ch in product):
        raise Invalid("prices/bad_product", limit=PRODUCT_MAX)
    return product


def amount_to_fen(amount: str, currency: str | None = None) -> int:
    """``3.2`` 元 → 320; more precision than one fen, zero or absurd amounts are refused."""
    try:
        value = Decimal(amount) * CURRENCY_FEN[currency or ""]
    except (InvalidOperation, KeyError) as exc:
        raise Invalid("prices/bad_amount") from exc
    if value != value.to_integral_value() or not 0 < value <= MAX_FEN:
        raise Invalid("prices/bad_amount")
    return int(value)


def parse_amount(text: str) -> int:
    match = AMOUNT_RE.match(normalise_digits(text.strip()).replace("￥", "").replace("¥", ""))
    if match is None:
        raise Invalid("prices/bad_amount")
    return amount_to_fen(match["amount"], match["currency"])


def parse_unit(text: str) -> str:
    match = UNIT_RE.match("".join(text.split()))
    if match is None:
        raise Invalid("prices/bad_unit")
    return UNITS[match["unit"].lower()]


def parse_price_post(text: str) -> PriceLine:
    match = POST_RE.match(normalise_digits(" ".join(text.split())))
    if match is None:
        raise Invalid("prices/post_usage")
    market = match["market"].strip() if match["market"] else None
    return PriceLine(
        product=parse_product(match["product"]),
        price_fen=amount_to_fen(match["amount"], match["currency"]),
        unit=UNITS[match["unit"].lower()],
        market=market,
    )


def resolve_market(text: str, regions: Gazetteer) -> Market | None:
    """A county (灵宝 → 灵宝市), a city, or a named market inside one county."""
    name = "".join(text.split())[:MARKET_MAX]
    if not name:
        return None
    county = regions.county(name)
    if county is not None:
        return Market(county.name, county.name, county.city)
    city = regions.city(name)
    if city is not None:
        return Market(city, None, city)
    found = regions.find_in(name)
    if len(found) == 1:
        return Market(name, found[0].name, found[0].city)
    return None


def parse_day(text: str) -> date:
    match = DAY_RE.match(normalise_digits(text.strip()))
    if match is None:
        raise Invalid("prices/bad_day")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise Invalid("prices/bad_day") from exc
