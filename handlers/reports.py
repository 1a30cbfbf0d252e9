"""Liaison reports: the report form, the one-line report (``月报 培训12人 代销8单 3200元``)
with its confirmation, amendments until an administrator locks the period, late marking,
and excuses (请假, 本月无业务) sent to the county administrator to accept or refuse."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.dialogs import SKIP_WORDS, Form, Invalid, Step
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from content.report_types import (
    FieldSpec,
    Period,
    ReportType,
    ValueProblem,
    load_definitions,
    match_type,
    merge_definitions,
    parse_line,
    parse_value,
)
from handlers.fields import normalise_digits
from handlers.report_prefill import RepositoryFigures, prefill
from storage.models import Priority, Role
from storage.repositories import Member, Repositories

router = Router("reports")
router.menu("menu_report", "/report", roles=(Role.LIAISON,), order=20)

MAX_FIELDS = 20
LATE_WINDOW = timedelta(days=15)
CONFIRM_WORDS = frozenset({"确认", "提交", "确认提交", "确定", "是", "对"})
EXCUSE_WORDS = {"请假": "leave", "本月无业务": "no_business", "无业务": "no_business"}
LINE_RE = re.compile(r"^\S{0,6}?(月报|数据月报|示范县数据)")


async def load_types(repos: Repositories) -> dict[str, ReportType]:
    """The shipped report types with administrators' changes applied."""
    return merge_definitions(load_definitions(), await repos.reports.type_overrides())


def local_today(ctx: Context) -> date:
    return ctx.now.astimezone(ZoneInfo(ctx.settings.timezone)).date()


def period_of(text: str) -> Period:
    """A period this module wrote itself (into a form's answers)."""
    period = Period.parse(text)
    if period is None:
        raise ValueError(f"not a period: {text!r}")
    return period


def member_of(ctx: Context) -> Member | None:
    user = ctx.user
    if not user.county or not user.village:
        return None
    return Member(user.id, user.display_name, user.county, user.village)


async def target_period(ctx: Context, rtype: ReportType, member: Member) -> Period:
    """The period a submission is for: last period if it became overdue less than
    ``LATE_WINDOW`` ago and is still open to this village, else the current one."""
    today = local_today(ctx)
    current = rtype.current_period(today)
    previous = current.shift(-1)
    reports = ctx.repos.reports
    if (
        rtype.due_date(previous) < today <= rtype.due_date(previous) + LATE_WINDOW
        and await reports.get(rtype.code, str(previous), member.county, member.village) is None
        and member.user_id not in await reports.excused_users(rtype.code, str(previous))
        and not await reports.is_locked(rtype.code, str(previous))
    ):
        return previous
    return current


async def form_state(
    ctx: Context, rtype: ReportType, period: Period, member: Member
) -> dict[str, Any]:
    """What the report form keeps about the report it fills: type, period, fields, the
    recorded figures and what was submitted before (for an amendment)."""
    recorded = await prefill(
        RepositoryFigures(ctx.repos),
        rtype.fields,
        county=member.county,
        village=member.village,
        period=period,
    )
    existing = await ctx.repos.reports.get(rtype.code, str(period), member.county, member.village)
    return {
        "code": rtype.code,
        "name": rtype.name,
        "period": str(period),
        "due": rtype.due_date(period).isoformat(),
        "fields": [_spec_dict(f) for f in rtype.fields],
        "recorded": recorded,
        "current": dict(existing.figures) if existing else {},
        "version": existing.version if existing else 0,
    }


def _spec_dict(spec: FieldSpec) -> dict[str, Any]:
    return {**spec.as_dict(), "min": spec.min, "max": spec.max}


def _spec(data: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        key=data["key"],
        label=data["label"],
        kind=data["kind"],
        unit=data.get("unit", ""),
        optional=bool(data.get("optional")),
        min=int(data.get("min") or 0),
        max=data.get("max"),
        choices=tuple(data.get("choices") or ()),
    )


# -- starting a report ---------------------------------------------------------------------


@router.command(
    "report", aliases=("填报", "报送月报"), roles=(Role.LIAISON,), summary="help_report"
)
async def report(msg: Incoming, ctx: Context) -> list[Reply]:
    """Start the report form: pick the type, then each figure, then confirm."""
    member = member_of(ctx)
    if member is None:
        return [Reply("reports/need_place")]
    types = await load_types(ctx.repos)
    chosen = [t for t in types.values() if not msg.args or msg.args[0] in (t.code, t.name)]
    choices = []
    for rtype in chosen or types.values():
        period = await target_period(ctx, rtype, member)
        choices.append({"code": rtype.code, "name": rtype.name, "period": str(period)})
    if len(choices) == 1:
        locked = await _locked_reply(ctx, choices[0]["code"], choices[0]["period"])
        if locked:
            return locked
        rtype = types[choices[0]["code"]]
        state = await form_state(ctx, rtype, period_of(choices[0]["period"]), member)
        return await ctx.start_form("report", {"choices": choices, "type": state})
    return await ctx.start_form("report", {"choices": choices})


def is_report_line(text: str) -> bool:
    return bool(LINE_RE.match(text))


@router.text(match=is_report_line, roles=(Role.LIAISON,))
async def report_line(msg: Incoming, ctx: Context) -> list[Reply]:
    """``月报 培训12人 代销8单 3200元``: read the figures, fill the rest from what was
    recorded, and ask to confirm."""
    member = member_of(ctx)
    if member is None:
        return [Reply("reports/need_place")]
    types = await load_types(ctx.repos)
    text = normalise_digits(msg.text)
    found = match_type(text, list(types.values()))
    if found is None:
        names = [
            {"name": t.name, "word": t.words[0] if t.words else t.code} for t in types.values()
        ]
        return [Reply("reports/line_unknown_type", {"types": names})]
    rtype, rest = found
    period = await target_period(ctx, rtype, member)
    locked = await _locked_reply(ctx, rtype.code, str(period))
    if locked:
        return locked
    parsed = parse_line(rtype, rest)
    if parsed.problems:
        key, problem = parsed.problems[0]
        spec = rtype.field(key)
        label = spec.label if spec is not None else key
        return [Reply("reports/line_bad_value", {"label": label, **_problem(problem)})]
    state = await form_state(ctx, rtype, period, member)
    answers: dict[str, Any] = {"choices": [], "type": state}
    for index, spec in enumerate(rtype.fields):
        for source in (parsed.values, state["current"], state["recorded"]):
            if spec.key in source:
                answers[f"v{index}"] = source[spec.key]
                break
        else:
            if spec.optional:
                answers[f"v{index}"] = None
    replies = []
    if parsed.unknown:
        replies.append(Reply("reports/line_unknown_parts", {"parts": parsed.unknown[:5]}))
    return replies + await ctx.start_form("report", answers)


async def _locked_reply(ctx: Context, code: str, period: str) -> list[Reply]:
    if await ctx.repos.reports.is_locked(code, period):
        return [Reply("reports/locked", {"period": period})]
    return []


def _problem(problem: ValueProblem) -> dict[str, Any]:
    return {"reason": problem.reason, **problem.data}


# -- the form ---------------------------------------------------------------------------------


def type_options(ctx: Context, answers: dict[str, Any]) -> list[Option]:
    return [
        Option("report_type_choice", c["code"], {"name": c["name"], "period": c["period"]})
        for c in answers.get("choices", [])
    ]


async def parse_type(text: str, ctx: Context, answers: dict[str, Any]) -> dict[str, Any]:
    choices = answers.get("choices", [])
    picked = next(
        (c for i, c in enumerate(choices, 1) if text in (c["code"], c["name"], str(i))), None
    )
    if picked is None:
        raise Invalid("reports/pick_type")
    member = member_of(ctx)
    if member is None:
        raise Invalid("reports/need_place")
    if await ctx.repos.reports.is_locked(picked["code"], picked["period"]):
        raise Invalid("reports/locked", period=picked["period"])
    types = await load_types(ctx.repos)
    rtype = types.get(picked["code"])
    if rtype is None:
        raise Invalid("reports/pick_type")
    return await form_state(ctx, rtype, period_of(picked["period"]), member)


def value_step(index: int) -> Step:
    def applies(answers: dict[str, Any]) -> bool:
        state = answers.get("type")
        return state is not None and index < len(state["fields"]) and f"v{index}" not in answers

    def spec_of(answers: dict[str, Any]) -> dict[str, Any]:
        return answers["type"]["fields"][index]

    def options(ctx: Context, answers: dict[str, Any]) -> list[Option]:
        spec = spec_of(answers)
        offered = [Option("report_choice", c, {"value": c}) for c in spec["choices"]]
        for label, source in (("report_keep", "current"), ("report_recorded", "recorded")):
            value = answers["type"][source].get(spec["key"])
            if value is not None and spec["kind"] in ("number", "money"):
                typed = f"{value / 100:.2f}" if spec["kind"] == "money" else str(value)
                if all(o.value != typed for o in offered):
                    offered.append(Option(label, typed, {"value": value, "kind": spec["kind"]}))
        if spec["optional"]:
            offered.append(Option("skip", "跳过"))
        return offered

    def parse(text: str, ctx: Context, answers: dict[str, Any]) -> Any:
        spec = _spec(spec_of(answers))
        if spec.optional and text.strip().lower() in SKIP_WORDS:
            return None
        try:
            return parse_value(spec, normalise_digits(text))
        except ValueProblem as problem:
            raise Invalid("reports/bad_value", label=spec.label, **_problem(problem)) from None

    return Step(
        f"v{index}",
        "forms/report/ask_value",
        parse,
        options=options,
        when=applies,
    )


def parse_confirm(text: str, ctx: Context, answers: dict[str, Any]) -> bool:
    if text.strip() not in CONFIRM_WORDS:
        raise Invalid("reports/confirm_expected")
    return True


async def save_report(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    """Store the confirmed report (or amendment), marked late after the due day."""
    state = answers["type"]
    member = member_of(ctx)
    if member is None:
        return [Reply("reports/need_place")]
    if await ctx.repos.reports.is_locked(state["code"], state["period"]):
        return [Reply("reports/locked", {"period": state["period"]})]
    figures = {f["key"]: answers.get(f"v{i}") for i, f in enumerate(state["fields"])}
    late = local_today(ctx) > date.fromisoformat(state["due"])
    saved = await ctx.repos.reports.submit(
        type_code=state["code"],
        period=state["period"],
        county=member.county,
        village=member.village,
        user_id=member.user_id,
        figures=figures,
        recorded=state["recorded"],
        late=late,
        now=ctx.now,
    )
    await ctx.repos.audit.record(
        action="report.submit" if saved.version == 1 else "report.amend",
        target_type="report",
        target_id=saved.id,
        at=ctx.now,
        actor_id=member.user_id,
        details={"type": state["code"], "period": state["period"], "version": saved.version},
    )
    data = {"name": state["name"], "period": state["period"], "version": saved.version}
    return [Reply("reports/submitted", {**data, "late": late})]


router.form(
    Form(
        name="report",
        title="form_report",
        steps=(
            Step(
                "type",
                "forms/report/ask_type",
                parse_type,
                options=type_options,
                when=lambda a: "type" not in a,
            ),
            *(value_step(i) for i in range(MAX_FIELDS)),
            Step(
                "confirm",
                "forms/report/ask_confirm",
                parse_confirm,
                options=(Option("report_confirm", "确认"),),
            ),
        ),
        on_complete=save_report,
    )
)


# -- excuses ------------------------------------------------------------------------------------


def is_excuse(text: str) -> bool:
    return text.strip() in EXCUSE_WORDS


@router.command("excuse", roles=(Role.LIAISON,), summary="help_excuse")
async def excuse_command(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/excuse 请假|本月无业务``: ask the county administrator to excuse this period."""
    if len(msg.args) != 1 or msg.args[0] not in EXCUSE_WORDS:
        return [Reply("reports/excuse_usage")]
    return await request_excuse(ctx, EXCUSE_WORDS[msg.args[0]])


@router.text(match=is_excuse, roles=(Role.LIAISON,))
async def excuse_text(msg: Incoming, ctx: Context) -> list[Reply]:
    """请假 / 本月无业务 typed on its own."""
    return await request_excuse(ctx, EXCUSE_WORDS[msg.text.strip()])


async def request_excuse(ctx: Context, reason: str) -> list[Reply]:
    member = member_of(ctx)
    if member is None:
        return [Reply("reports/need_place")]
    rows, periods = [], []
    for rtype in (await load_types(ctx.repos)).values():
        period = await target_period(ctx, rtype, member)
        if await ctx.repos.reports.get(rtype.code, str(period), member.county, member.village):
            continue
        row = await ctx.repos.reports.request_excuse(
            type_code=rtype.code, period=str(period), member=member, reason=reason, now=ctx.now
        )
        if row.status == "pending":
            rows.append(row)
            periods.append({"name": rtype.name, "period": str(period)})
    if not rows:
        return [Reply("reports/excuse_nothing")]
    admins = await ctx.repos.reports.county_admins([member.county])
    ids = ".".join(str(r.id) for r in rows)
    data = {"name": member.name, "village": member.village, "reason": reason, "periods": periods}
    options = (Option("excuse_accept", f"rex:a:{ids}"), Option("excuse_reject", f"rex:r:{ids}"))
    for admin in admins:
        await ctx.notify(
            admin.user_id,
            Reply("reports/excuse_request", data, options),
            kind="report_excuse",
            priority=Priority.DIRECT,
            dedupe_key=f"rex:{ids}:{admin.user_id}",
        )
    return [Reply("reports/excuse_sent", {"periods": periods, "admins": len(admins)})]


@router.option("rex", roles=(Role.ADMIN,))
async def decide_excuse(msg: Incoming, ctx: Context) -> list[Reply]:
    """A county administrator accepts or refuses an excuse."""
    try:
        _, verdict, ids = (msg.option or "").split(":", 2)
        excuse_ids = [int(i) for i in ids.split(".")]
    except ValueError:
        return [Reply("system/stale_option")]
    decided, member_id = [], None
    for excuse_id in excuse_ids:
        row = await ctx.repos.reports.excuse(excuse_id)
        if row is None or (ctx.user.county and ctx.user.county != row.county):
            return [Reply("system/forbidden")]
        done = await ctx.repos.reports.decide_excuse(
            excuse_id, accept=verdict == "a", by=ctx.user.id, now=ctx.now
        )
        if done is not None:
            decided.append({"period": done.period, "type": done.type_code})
            member_id = done.user_id
    if not decided or member_id is None:
        return [Reply("reports/excuse_already")]
    await ctx.repos.audit.record(
        action="report.excuse",
        target_type="user",
        target_id=member_id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"accepted": verdict == "a", "excuses": excuse_ids},
    )
    data = {"accepted": verdict == "a", "decided": decided}
    await ctx.notify(
        member_id,
        Reply("reports/excuse_decided", data),
        kind="report_excuse",
        priority=Priority.DIRECT,
        dedupe_key=f"rexd:{ids}",
    )
    return [Reply("reports/excuse_done", data)]
