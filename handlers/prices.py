"""Prices: staff post one line (``价格 苹果 3.2元/斤 灵宝``); anyone asks ``/price 苹果`` or
``苹果多少钱`` and gets the latest price per market nearest them first, with day and source,
and a 30-day trend chart when there are enough days to draw one."""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.dialogs import Invalid
from bot.messages import Attachment, Incoming, Reply
from bot.router import Router
from content.charts import TrendPoint, price_trend_png
from handlers.info import region_of
from handlers.price_fields import (
    Market,
    is_price_post,
    parse_price_post,
    parse_product,
    resolve_market,
)
from storage.models import Price, Role

router = Router("prices")

WINDOW_DAYS = 30
SHOWN_MARKETS = 6
CHART_MIN_DAYS = 5
QUESTION_RE = re.compile(
    r"^(?:今天|现在|最近|近期)?(?P<product>[\u4e00-\u9fffA-Za-z]{1,12}?)(?:现在|今天|最近)?的?"
    r"(?:多少钱|什么价|啥价|价格|价钱|行情)(?:一斤|一公斤|多少)?[?\uff1f\u3002!\uff01]*$"
)


def local_today(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.settings.timezone)).date()


def is_price_question(text: str) -> bool:
    return QUESTION_RE.match(text) is not None and not text.startswith("价格")


# -- posting ------------------------------------------------------------------------------
@router.text(match=is_price_post, roles=(Role.STAFF, Role.ADMIN))
async def post_price(msg: Incoming, ctx: Context) -> list[Reply]:
    """``价格 苹果 3.2元/斤 灵宝``: today's price at a market (default: the poster's county)."""
    try:
        line = parse_price_post(msg.text)
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data)]
    if line.market is not None:
        market = resolve_market(line.market, ctx.services.regions)
        if market is None:
            return [Reply("prices/unknown_market", {"text": line.market[:20]})]
    else:
        own = region_of(ctx)
        if own["county"] is None:
            return [Reply("prices/need_market")]
        market = Market(own["county"], own["county"], own["city"])
    today = local_today(ctx)
    outcome = await ctx.repos.prices.record(
        product=line.product,
        market=market.name,
        county=market.county,
        city=market.city,
        price_fen=line.price_fen,
        unit=line.unit,
        observed_on=today,
        source="staff",
        source_label=ctx.user.display_name or None,
        reporter_id=ctx.user.id,
        now=ctx.now,
    )
    data = {
        "product": line.product,
        "price_fen": line.price_fen,
        "unit": line.unit,
        "market": market.name,
        "day": today,
        "outcome": outcome.value,
    }
    return [Reply("prices/posted", data)]


# -- asking -------------------------------------------------------------------------------
@router.command("price", aliases=("查价格", "价格行情"), summary="help_price")
async def price_command(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/price 苹果``: the latest prices near the person."""
    if not msg.args:
        return [Reply("prices/ask_usage")]
    try:
        product = parse_product("".join(msg.args))
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data)]
    return await answer(ctx, product)


@router.text(match=is_price_question)
async def price_question(msg: Incoming, ctx: Context) -> list[Reply]:
    """``苹果多少钱`` / ``苹果价格``."""
    match = QUESTION_RE.match(msg.text)
    assert match is not None
    return await answer(ctx, match["product"])


def nearness(row: Price, county: str | None, city: str | None) -> int:
    """0 the person's county, 1 their city, 2 elsewhere."""
    if county is not None and row.county == county:
        return 0
    if city is not None and row.city == city:
        return 1
    return 2


def latest_per_market(rows: Sequence[Price], county: str | None, city: str | None) -> list[Price]:
    """The newest row per (market, unit), nearest first, then newest."""
    seen: dict[tuple[str, str], Price] = {}
    for row in rows:  # newest first
        seen.setdefault((row.market, row.unit), row)
    ordered = sorted(
        seen.values(), key=lambda r: (nearness(r, county, city), -r.observed_on.toordinal())
    )
    return ordered[:SHOWN_MARKETS]


def trend(
    rows: Sequence[Price], county: str | None, city: str | None
) -> tuple[str, str, list[TrendPoint]] | None:
    """(tier, unit, daily points) of the nearest tier with enough days, or None."""
    for tier in (0, 1, 2):
        chosen = [r for r in rows if nearness(r, county, city) <= tier]
        if not chosen:
            continue
        unit = Counter(r.unit for r in chosen).most_common(1)[0][0]
        by_day: dict[date, list[float]] = defaultdict(list)
        for row in chosen:
            if row.unit == unit:
                by_day[row.observed_on].append(row.price_fen / 100)
        if len(by_day) >= CHART_MIN_DAYS:
            points = [
                TrendPoint(day, sum(v) / len(v), min(v), max(v)) for day, v in by_day.items()
            ]
            return ("county", "city", "province")[tier], unit, points
    return None


async def answer(ctx: Context, product: str) -> list[Reply]:
    today = local_today(ctx)
    rows = await ctx.repos.prices.since(product, today - timedelta(days=WINDOW_DAYS - 1))
    own = region_of(ctx)
    if not rows:
        return [Reply("prices/none", {"product": product, "days": WINDOW_DAYS})]
    shown = [
        {
            "market": r.market,
            "price_fen": r.price_fen,
            "unit": r.unit,
            "day": r.observed_on,
            "source": r.source,
            "source_label": r.source_label,
            "near": nearness(r, own["county"], own["city"]),
        }
        for r in latest_per_market(rows, own["county"], own["city"])
    ]
    data: dict[str, Any] = {"product": product, "rows": shown, "chart": None, **own}
    attachment = None
    drawn = trend(rows, own["county"], own["city"])
    if drawn is not None:
        tier, unit, points = drawn
        png = await asyncio.to_thread(price_trend_png, points, unit_label="yuan")
        attachment = Attachment("price_trend.png", png, "image/png")
        data["chart"] = {"tier": tier, "unit": unit, "days": len(points)}
    return [Reply("prices/answer", data, attachment=attachment)]
