"""``cunzhan reports …``: export a period to Excel, change a due day, add report types from
YAML — the command-line twins of /exportreports and /reporttype, audited the same way."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import yaml

from bot.render import Renderer, build_environment
from bot.settings import Settings
from bot.tokens import OptionSigner
from content.regions import Gazetteer
from content.report_types import Period, ReportTypeError, load_definitions, merge_definitions
from handlers.report_export import period_workbook
from storage.repositories import Repositories


async def run_reports(
    repos: Repositories, settings: Settings, args: argparse.Namespace, *, now: datetime
) -> tuple[int, str]:
    """(exit code, message) for one ``reports`` subcommand, inside the caller's transaction."""
    shipped = load_definitions()
    overrides = await repos.reports.type_overrides()
    if args.reports_command == "set-due":
        return await _change(repos, shipped, overrides, {args.code: {"due_day": args.day}}, now)
    if args.reports_command == "add-type":
        with open(args.file, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
        added = {str(t.get("code")): dict(t) for t in data.get("types") or []}
        if not added:
            return 2, f"{args.file}: no `types:` list"
        return await _change(repos, shipped, overrides, added, now)
    return await _export(repos, settings, args, shipped, overrides, now)


async def _change(repos, shipped, overrides, changes, now) -> tuple[int, str]:
    merged = dict(overrides)
    for code, change in changes.items():
        merged[code] = {**merged.get(code, {}), **change}
    try:
        types = merge_definitions(shipped, merged)
    except ReportTypeError as exc:
        return 2, f"refused: {exc}"
    for code, change in changes.items():
        if code not in shipped and code not in overrides and "name" not in change:
            return 2, f"refused: unknown type {code}"
        await repos.reports.set_type_override(code, change, now=now, by=None)
        await repos.audit.record(
            action="reports.type",
            target_type="report_type",
            target_id=code,
            at=now,
            actor_label="cli",
            details={"keys": sorted(change)},
        )
    return 0, "\n".join(
        f"{code}: due day {types[code].due_day}, {len(types[code].fields)} fields"
        for code in changes
    )


async def _export(repos, settings, args, shipped, overrides, now) -> tuple[int, str]:
    types = merge_definitions(shipped, overrides)
    period = Period.parse(args.period)
    rtype = types.get(args.type)
    if period is None or rtype is None:
        return 2, f"unknown period or type: {args.period} {args.type}"
    regions = Gazetteer.load()
    county = None
    if args.county:
        found = regions.county(args.county)
        if found is None:
            return 2, f"unknown county: {args.county}"
        county = found.name
    roster = await repos.reports.roster(rtype.code, str(period), county=county)
    renderer = Renderer(build_environment(settings.timezone), OptionSigner(settings.secret_key))
    content = period_workbook(
        rtype, str(period), roster, regions=regions, labels=renderer, timezone=settings.timezone
    )
    Path(args.out).write_bytes(content)
    await repos.audit.record(
        action="reports.export",
        target_type="report_period",
        target_id=f"{rtype.code}:{period}",
        at=now,
        actor_label="cli",
        details={"county": county, "rows": len(roster)},
    )
    return 0, f"{args.out}: {len(roster)} rows"
