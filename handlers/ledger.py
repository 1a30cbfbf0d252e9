"""The ledger (台账) views of agency orders: /ledger for a station's day and month, for a
county, a city or the province (administrators), and /export of a month as Excel.

Staff and liaisons see their own station; a county administrator sees their county; a
province administrator (no county) sees everything. Every export is audited; only an
administrator's export carries full phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import date, timedelta
from typing import Any

from bot.context import Context
from bot.messages import XLSX_MIME, Attachment, Incoming, Reply
from bot.render import Renderer
from bot.router import Router
from handlers.ledger_export import build_workbook
from handlers.orders import local_date, order_data
from storage.models import Role
from storage.repositories import OrderTotals, Repositories
from storage.repositories.orders import month_range

router = Router("ledger")
router.menu("menu_ledger", "/ledger", roles=(Role.STAFF, Role.LIAISON, Role.ADMIN), order=22)

VIEWERS = (Role.STAFF, Role.LIAISON, Role.ADMIN)
EXPORTERS = (Role.STAFF, Role.ADMIN)
MONTH_RE = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*月?$")


@dataclass(frozen=True)
class Scope:
    """What a ledger view covers: a station, a county, a city's counties or everything."""

    level: str  # "station" | "county" | "city" | "province"
    county: str | None = None
    village: str | None = None
    city: str | None = None


class Refused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.template)
        self.reply = reply


def totals_data(totals: OrderTotals) -> dict[str, int]:
    return {
        "purchase_count": totals.purchase_count,
        "purchase_fen": totals.purchase_fen,
        "sale_count": totals.sale_count,
        "sale_fen": totals.sale_fen,
        "households": totals.households,
        "poor_households": totals.poor_households,
        "count": totals.count,
        "total_fen": totals.total_fen,
    }


def parse_month(text: str, today: date) -> tuple[int, int] | None:
    """``2026-10``, ``2026年10月``, ``10月`` (this year) → (year, month); None if not a month."""
    found = MONTH_RE.match(text.strip())
    if not found or (found.group(1) is None and not text.strip().endswith("月")):
        return None
    year = int(found.group(1)) if found.group(1) else today.year
    month = int(found.group(2))
    return (year, month) if 1 <= month <= 12 and 2000 <= year <= 2100 else None


def resolve(ctx: Context, args: tuple[str, ...]) -> tuple[Scope, int, int]:
    """The scope and month a /ledger or /export asks for, or ``Refused`` with the reason."""
    today = local_date(ctx)
    year, month = today.year, today.month
    places = []
    for arg in args:
        parsed = parse_month(arg, today)
        if parsed is None:
            places.append(arg)
        else:
            year, month = parsed
    user = ctx.user
    if user.role != Role.ADMIN:
        if places:
            raise Refused(Reply("ledger/usage"))
        if not (user.county and user.village):
            raise Refused(Reply("orders/no_station"))
        return Scope("station", user.county, user.village), year, month
    return _admin_scope(ctx, places), year, month


def _admin_scope(ctx: Context, places: list[str]) -> Scope:
    own = ctx.user.county
    if len(places) > 2:
        raise Refused(Reply("ledger/usage"))
    if not places:
        return Scope("county", own) if own else Scope("province")
    regions = ctx.services.regions
    county = regions.county(places[0])
    if county is None:
        city = regions.city(places[0])
        if city is None or len(places) > 1:
            raise Refused(Reply("fields/county_unknown", {"text": places[0][:20]}))
        if own is not None:
            raise Refused(Reply("ledger/outside", {"county": own}))
        return Scope("city", city=city)
    if own is not None and county.name != own:
        raise Refused(Reply("ledger/outside", {"county": own}))
    if len(places) == 2:
        return Scope("station", county.name, "".join(places[1].split())[:32])
    return Scope("county", county.name)


@router.command("ledger", aliases=("台账", "台账统计"), roles=VIEWERS, summary="help_ledger")
async def ledger(msg: Incoming, ctx: Context) -> list[Reply]:
    """Figures for the asked scope and month (default: the station or county, this month)."""
    try:
        scope, year, month = resolve(ctx, msg.args)
    except Refused as refusal:
        return [refusal.reply]
    if scope.level == "station":
        return [await station_view(ctx, scope, year, month)]
    return [await region_view(ctx, scope, year, month)]


async def station_view(ctx: Context, scope: Scope, year: int, month: int) -> Reply:
    orders = ctx.repos.orders
    assert scope.county is not None and scope.village is not None
    month_totals = await orders.monthly_totals(
        county=scope.county, village=scope.village, year=year, month=month
    )
    today = local_date(ctx)
    data: dict[str, Any] = {
        "county": scope.county,
        "village": scope.village,
        "year": year,
        "month": month,
        "month_totals": totals_data(month_totals),
        "today": None,
    }
    if (today.year, today.month) == (year, month):
        day = await orders.totals(
            county=scope.county, village=scope.village, start=today, end=_next_day(today)
        )
        data["today"] = totals_data(day)
    start, end = month_range(year, month)
    top = await orders.top_products(
        county=scope.county, village=scope.village, start=start, end=end
    )
    data["top"] = [vars(figure) for figure in top]
    return Reply("ledger/station", data)


def _next_day(day: date) -> date:
    return day + timedelta(days=1)


async def region_view(ctx: Context, scope: Scope, year: int, month: int) -> Reply:
    """Per village of a county, per county of a city, or per city of the province; with total."""
    orders = ctx.repos.orders
    if scope.level == "county":
        assert scope.county is not None
        rows = await orders.monthly_totals_by_village(county=scope.county, year=year, month=month)
    else:
        counties = None
        if scope.level == "city":
            assert scope.city is not None
            counties = [c.name for c in ctx.services.regions.counties_of(scope.city)]
        rows = await orders.monthly_totals_by_county(counties=counties, year=year, month=month)
    if scope.level == "province":
        rows = by_city(ctx, rows)
    data = {
        "level": scope.level,
        "county": scope.county,
        "city": scope.city,
        "year": year,
        "month": month,
        "rows": [{"name": name, **totals_data(t)} for name, t in rows],
        "total": totals_data(add_totals(t for _, t in rows)),
    }
    return Reply("ledger/region", data)


def add_totals(parts: Iterable[OrderTotals]) -> OrderTotals:
    """Sum of figures; households add up because each is served by its own village's station."""
    columns = zip(*(astuple(p) for p in parts), strict=True)
    return OrderTotals(*(sum(column) for column in columns))


def by_city(ctx: Context, rows: list[tuple[str, OrderTotals]]) -> list[tuple[str, OrderTotals]]:
    """County figures rolled up to their cities (a name the gazetteer lacks stays as is)."""
    groups: dict[str, list[OrderTotals]] = {}
    for county, totals in rows:
        found = ctx.services.regions.county(county)
        groups.setdefault(found.city if found else county, []).append(totals)
    return [(city, add_totals(parts)) for city, parts in sorted(groups.items())]


@router.command("export", aliases=("导出台账",), roles=EXPORTERS, summary="help_export")
async def export(msg: Incoming, ctx: Context) -> list[Reply]:
    """One station's (or, for administrators, one county's) month as an Excel 台账."""
    try:
        scope, year, month = resolve(ctx, msg.args)
    except Refused as refusal:
        return [refusal.reply]
    if scope.level not in ("station", "county") or scope.county is None:
        return [Reply("ledger/export_usage")]
    full_phones = ctx.user.role == Role.ADMIN
    exported = await export_month(
        ctx.repos,
        ctx.services.notifier.renderer,
        county=scope.county,
        village=scope.village,
        year=year,
        month=month,
        full_phones=full_phones,
        timezone=ctx.settings.timezone,
    )
    await ctx.repos.audit.record(
        action="ledger.export",
        target_type="ledger",
        target_id=f"{scope.county}/{scope.village or '*'}/{year}-{month:02d}",
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"rows": exported.rows, "full_phones": full_phones},
    )
    attachment = Attachment(exported.filename, exported.content, XLSX_MIME)
    place = {"county": scope.county, "village": scope.village, "year": year, "month": month}
    return [Reply("ledger/exported", {**place, "rows": exported.rows}, attachment=attachment)]


@dataclass(frozen=True)
class Exported:
    filename: str
    content: bytes
    rows: int


async def export_month(
    repos: Repositories,
    renderer: Renderer,
    *,
    county: str,
    village: str | None,
    year: int,
    month: int,
    full_phones: bool,
    timezone: str,
) -> Exported:
    """The month's 台账 as .xlsx bytes (used by /export and by ``cunzhan ledger export``)."""
    rows = await repos.orders.ledger_rows(county=county, village=village, year=year, month=month)
    totals = await repos.orders.monthly_totals(
        county=county, village=village, year=year, month=month
    )
    place = {"county": county, "village": village, "year": year, "month": month}
    content = build_workbook(
        title=renderer.text("ledger/xlsx_title", place),
        headers=renderer.text("ledger/xlsx_headers").split("|"),
        summary_labels=renderer.text("ledger/xlsx_summary").split("|"),
        rows=[order_data(order, person) for order, person in rows],
        totals=totals_data(totals),
        full_phones=full_phones,
        timezone=timezone,
        label=renderer.label,
    )
    filename = f"ledger-{county}-{village or 'all'}-{year}-{month:02d}.xlsx"
    return Exported(filename, content, len(rows))
