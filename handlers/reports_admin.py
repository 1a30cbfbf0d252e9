"""Administrators and reports: /overdue (who has not reported, by county), /reports (the
submission rate by county and city with totals), the Excel export, locking a period,
and changing a report type's due day without a release."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.context import Context
from bot.messages import XLSX_MIME, Attachment, Incoming, Reply
from bot.router import Router
from content.report_types import (
    Period,
    ReportType,
    ReportTypeError,
    load_definitions,
    merge_definitions,
)
from handlers.report_chart import pick_counties, render_png
from handlers.report_export import period_workbook, status_of
from handlers.reports import load_types, local_today
from storage.models import Role
from storage.repositories import RosterRow

router = Router("reports_admin")
router.menu("menu_overdue", "/overdue", roles=(Role.ADMIN,), order=30)
router.menu("menu_reports", "/reports", roles=(Role.ADMIN,), order=31)

NAMES_PER_COUNTY = 30


def _period_and_types(
    ctx: Context, args: tuple[str, ...], types: dict[str, ReportType]
) -> tuple[Period | None, list[ReportType]] | None:
    """``[PERIOD] [TYPE]`` in either order; None if an argument is not understood."""
    period, chosen = None, list(types.values())
    for arg in args:
        parsed = Period.parse(arg)
        if parsed is not None:
            period = parsed
        elif arg in types:
            chosen = [types[arg]]
        else:
            match = [t for t in types.values() if arg in (t.name, *t.words)]
            if not match:
                return None
            chosen = match[:1]
    return period, chosen


async def _rosters(
    ctx: Context, args: tuple[str, ...]
) -> list[tuple[ReportType, Period, list[RosterRow]]] | None:
    """Each chosen type with its period (the one named, else its latest due one) and the
    roster this admin sees (a county admin: their county); None if an argument is unknown."""
    picked = _period_and_types(ctx, args, await load_types(ctx.repos))
    if picked is None:
        return None
    period, chosen = picked
    today = local_today(ctx)
    out = []
    for rtype in chosen:
        shown = period or rtype.last_due_period(today)
        roster = await ctx.repos.reports.roster(rtype.code, str(shown), county=ctx.user.county)
        out.append((rtype, shown, roster))
    return out


@router.command("overdue", aliases=("逾期名单",), roles=(Role.ADMIN,), summary="help_overdue")
async def overdue(msg: Incoming, ctx: Context) -> list[Reply]:
    """Who has not reported for the latest due period of each type (a county admin: their
    county only), by county; excused liaisons are listed apart and are not late."""
    rosters = await _rosters(ctx, msg.args)
    if rosters is None:
        return [Reply("reports/period_usage", {"command": "overdue"})]
    today = local_today(ctx)
    sections = []
    for rtype, shown, roster in rosters:
        counties: dict[str, dict[str, Any]] = {}
        for row in roster:
            state = status_of(row)
            if state not in ("missing", "excused"):
                continue
            entry = counties.setdefault(
                row.member.county, {"county": row.member.county, "missing": [], "excused": []}
            )
            entry[state].append({"name": row.member.name, "village": row.member.village})
        for entry in counties.values():
            entry["missing_count"] = len(entry["missing"])
            entry["missing"] = entry["missing"][:NAMES_PER_COUNTY]
        sections.append(
            {
                "name": rtype.name,
                "period": str(shown),
                "due": rtype.due_date(shown).isoformat(),
                "is_past": rtype.due_date(shown) < today,
                "expected": len(roster),
                "counties": sorted(counties.values(), key=lambda e: -e["missing_count"]),
            }
        )
    return [Reply("reports/overdue", {"sections": sections, "limit": NAMES_PER_COUNTY})]


@router.command("reports", aliases=("报表统计",), roles=(Role.ADMIN,), summary="help_reports")
async def reports_summary(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/reports 2026-10``: submission rate by county and city, and the reported totals."""
    rosters = await _rosters(ctx, msg.args)
    if rosters is None:
        return [Reply("reports/period_usage", {"command": "reports"})]
    sections = [summarise(ctx, rtype, shown, roster) for rtype, shown, roster in rosters]
    return [Reply("reports/summary", {"sections": sections})]


def summarise(ctx: Context, rtype: ReportType, period: Period, roster: list) -> dict[str, Any]:
    """Counts per county and city, and the sum of every number and money field."""
    counties: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = defaultdict(int)
    numeric = [f for f in rtype.fields if f.kind in ("number", "money")]
    for row in roster:
        county = row.member.county
        entry = counties.get(county)
        if entry is None:
            found = ctx.services.regions.county(county)
            entry = counties[county] = {
                "county": county,
                "city": found.city if found else "",
                "expected": 0,
                "submitted": 0,
                "late": 0,
                "excused": 0,
            }
        entry["expected"] += 1
        state = status_of(row)
        if state in ("submitted", "late"):
            entry["submitted"] += 1
            for spec in numeric:
                totals[spec.key] += int(row.report.figures.get(spec.key) or 0)
        if state == "late":
            entry["late"] += 1
        if state == "excused":
            entry["excused"] += 1
    cities: dict[str, dict[str, Any]] = {}
    for entry in counties.values():
        city = cities.setdefault(
            entry["city"], {"city": entry["city"], "expected": 0, "submitted": 0, "excused": 0}
        )
        for key in ("expected", "submitted", "excused"):
            city[key] += entry[key]
    grand = {
        k: sum(e[k] for e in counties.values())
        for k in ("expected", "submitted", "late", "excused")
    }
    return {
        "name": rtype.name,
        "period": str(period),
        "due": rtype.due_date(period).isoformat(),
        "counties": sorted(counties.values(), key=lambda e: (e["city"], e["county"])),
        "cities": sorted(cities.values(), key=lambda e: e["city"]),
        "total": grand,
        "figures": [
            {"label": f.label, "kind": f.kind, "unit": f.unit, "value": totals[f.key]}
            for f in numeric
        ],
    }


@router.command(
    "exportreports", aliases=("导出报表",), roles=(Role.ADMIN,), summary="help_export_reports"
)
async def export_reports(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/exportreports 2026-10 [type]``: an Excel file of the period, audited."""
    types = await load_types(ctx.repos)
    picked = _period_and_types(ctx, msg.args, types)
    if picked is None or picked[0] is None:
        return [Reply("reports/period_usage", {"command": "exportreports"})]
    period, chosen = picked
    rtype = chosen[0]
    roster = await ctx.repos.reports.roster(rtype.code, str(period), county=ctx.user.county)
    content = period_workbook(
        rtype,
        str(period),
        roster,
        regions=ctx.services.regions,
        labels=ctx.services.notifier.renderer,
        timezone=ctx.settings.timezone,
    )
    await ctx.repos.audit.record(
        action="reports.export",
        target_type="report_period",
        target_id=f"{rtype.code}:{period}",
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"county": ctx.user.county, "rows": len(roster)},
    )
    filename = f"{rtype.code}-{period}.xlsx"
    data = {"name": rtype.name, "period": str(period), "rows": len(roster)}
    return [
        Reply("reports/export_ready", data, attachment=Attachment(filename, content, XLSX_MIME))
    ]


@router.command("lockreports", aliases=(), roles=(Role.ADMIN,), summary="help_lock_reports")
async def lock_reports(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/lockreports 2026-10 [type]``: no more submissions or amendments for the period.
    A lock covers every county, so only a province administrator may set it."""
    if ctx.user.county:
        return [Reply("reports/province_only")]
    types = await load_types(ctx.repos)
    picked = _period_and_types(ctx, msg.args, types)
    if picked is None or picked[0] is None:
        return [Reply("reports/period_usage", {"command": "lockreports"})]
    period, chosen = picked
    locked = []
    for rtype in chosen:
        if await ctx.repos.reports.lock(rtype.code, str(period), now=ctx.now, by=ctx.user.id):
            locked.append(rtype.name)
            await ctx.repos.audit.record(
                action="reports.lock",
                target_type="report_period",
                target_id=f"{rtype.code}:{period}",
                at=ctx.now,
                actor_id=ctx.user.id,
            )
    return [Reply("reports/lock_done", {"period": str(period), "locked": locked})]


@router.command("reporttype", roles=(Role.ADMIN,), summary="help_report_type")
async def report_type(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/reporttype progress due 20``: change a type's due day (checked before it is kept);
    province administrators only, since a type applies to every county."""
    if ctx.user.county:
        return [Reply("reports/province_only")]
    if len(msg.args) != 3 or msg.args[1] not in ("due", "截止日") or not msg.args[2].isdigit():
        return [Reply("reports/type_usage")]
    code, day = msg.args[0], int(msg.args[2])
    overrides = await ctx.repos.reports.type_overrides()
    shipped = load_definitions()
    if code not in shipped and code not in overrides:
        return [Reply("reports/type_usage")]
    change = {"due_day": day}
    try:
        merge_definitions(shipped, {**overrides, code: {**overrides.get(code, {}), **change}})
    except ReportTypeError:
        return [Reply("reports/type_invalid", {"day": day})]
    await ctx.repos.reports.set_type_override(code, change, now=ctx.now, by=ctx.user.id)
    await ctx.repos.audit.record(
        action="reports.type",
        target_type="report_type",
        target_id=code,
        at=ctx.now,
        actor_id=ctx.user.id,
        details=change,
    )
    types = await load_types(ctx.repos)
    return [Reply("reports/type_updated", {"name": types[code].name, "day": day})]


@router.command(
    "reportchart", aliases=("报送率图",), roles=(Role.ADMIN,), summary="help_report_chart"
)
async def report_chart(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/reportchart [type]``: a PNG of the submission rate over the last 12 periods."""
    types = await load_types(ctx.repos)
    picked = _period_and_types(ctx, msg.args, types)
    if picked is None:
        return [Reply("reports/period_usage", {"command": "reportchart"})]
    period, chosen = picked
    rtype = chosen[0]
    latest = period or rtype.last_due_period(local_today(ctx))
    periods = [str(latest.shift(-n)) for n in range(11, -1, -1)]
    expected: dict[str, int] = defaultdict(int)
    for member in await ctx.repos.reports.liaisons(county=ctx.user.county):
        expected[member.county] += 1
    if not expected:
        return [Reply("reports/chart_empty", {"name": rtype.name})]
    counts = await ctx.repos.reports.rates_by_period(rtype.code, periods)
    counties = pick_counties(periods, expected, counts)
    png = render_png(periods, expected, counts, counties)
    data = {
        "name": rtype.name,
        "first": periods[0],
        "last": periods[-1],
        "lines": counties,
        "all_counties": len(expected),
    }
    attachment = Attachment(f"{rtype.code}-rate-{periods[-1]}.png", png, "image/png")
    return [Reply("reports/chart", data, attachment=attachment)]
