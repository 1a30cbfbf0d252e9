"""Attendance: staff mark who came to today's session by pressing names, or by phone number
(``签到 <课程编号> <手机号>``); and the course roster with who entered each registration."""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.context import Context
from bot.dialogs import Invalid
from bot.messages import Incoming, Option, Reply
from handlers.fields import normalise_digits, parse_phone
from handlers.training.common import (
    MANAGERS,
    can_manage,
    course_data,
    local_day,
    parse_id,
    router,
)
from storage.models import Course

MAX_BUTTONS = 30
CHECKIN_RE = re.compile(r"^签到\s*(\d{1,10})\s+(\S.*)$")


def session_day(ctx: Context, course: Course) -> date | None:
    """Today's session of the course (the last day, once it is over); None before it starts."""
    today = local_day(ctx, ctx.now)
    first, last = local_day(ctx, course.starts_at), local_day(ctx, course.ends_at)
    if today < first:
        return None
    return min(today, last)


async def attendance_sheet(ctx: Context, course: Course, day: date) -> Reply:
    roster = await ctx.repos.training.roster(course.id, ("confirmed",))
    present = await ctx.repos.training.present_on(course.id, day)
    missing = [(r, p) for r, p in roster if r.id not in present]
    stamp = day.strftime("%Y%m%d")
    options = [
        Option("mark_person", f"tmark:{r.id}:{stamp}", {"name": p.name, "phone": p.phone})
        for r, p in missing[:MAX_BUTTONS]
    ]
    options.append(Option("course_view", f"tview:{course.id}"))
    data = {
        **course_data(course),
        "day": day.isoformat(),
        "present": len(roster) - len(missing),
        "total": len(roster),
        "missing": len(missing),
        "more": max(0, len(missing) - MAX_BUTTONS),
    }
    return Reply("training/attendance_sheet", data, tuple(options))


async def _managed(ctx: Context, course_id: int | None) -> Course | Reply:
    course = None if course_id is None else await ctx.repos.training.course(course_id)
    if course is None or not course.is_open:
        return Reply("training/course_missing")
    if not can_manage(ctx, course):
        return Reply("system/forbidden")
    return course


@router.option("tatt", roles=MANAGERS)
async def open_sheet(msg: Incoming, ctx: Context) -> list[Reply]:
    """Today's attendance sheet: a button per registered trainee not yet marked."""
    course = await _managed(ctx, parse_id((msg.option or "").split(":")[-1]))
    if isinstance(course, Reply):
        return [course]
    day = session_day(ctx, course)
    if day is None:
        return [Reply("training/attendance_not_started", course_data(course))]
    return [await attendance_sheet(ctx, course, day)]


@router.option("tmark", roles=MANAGERS)
async def mark(msg: Incoming, ctx: Context) -> list[Reply]:
    """Mark one trainee present at the session the button was made for."""
    parts = (msg.option or "").split(":")
    reg_id = parse_id(parts[1]) if len(parts) == 3 else None
    reg = None if reg_id is None else await ctx.repos.training.registration(reg_id)
    if reg is None or reg.status != "confirmed":
        return [Reply("training/registration_missing")]
    course = await _managed(ctx, reg.course_id)
    if isinstance(course, Reply):
        return [course]
    try:
        day = datetime.strptime(parts[2], "%Y%m%d").date()
    except ValueError:
        return [Reply("system/stale_option")]
    await ctx.repos.training.mark_attended(
        reg.id, day, method="button", by=ctx.user.id, now=ctx.now
    )
    return [await attendance_sheet(ctx, course, day)]


@router.command("checkin", aliases=(), roles=MANAGERS, summary="help_checkin")
async def checkin_command(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/checkin <课程编号> <手机号>``: mark by phone number."""
    if len(msg.args) < 2:
        return [Reply("training/checkin_usage")]
    return await checkin(ctx, msg.args[0], " ".join(msg.args[1:]))


@router.text(
    match=lambda text: CHECKIN_RE.match(normalise_digits(text)) is not None, roles=MANAGERS
)
async def checkin_text(msg: Incoming, ctx: Context) -> list[Reply]:
    """``签到 12 13812345678``: mark by phone number."""
    found = CHECKIN_RE.match(normalise_digits(msg.text.strip()))
    assert found is not None
    return await checkin(ctx, found.group(1), found.group(2))


async def checkin(ctx: Context, course_text: str, phone_text: str) -> list[Reply]:
    course = await _managed(ctx, parse_id(normalise_digits(course_text)))
    if isinstance(course, Reply):
        return [course]
    try:
        phone = parse_phone(phone_text)
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data)]
    day = session_day(ctx, course)
    if day is None:
        return [Reply("training/attendance_not_started", course_data(course))]
    regs = await ctx.repos.training.confirmed_by_phone(course.id, phone)
    if not regs:
        return [Reply("training/checkin_unknown", {**course_data(course), "phone": phone})]
    for reg in regs:
        await ctx.repos.training.mark_attended(
            reg.id, day, method="phone", by=ctx.user.id, now=ctx.now
        )
    return [await attendance_sheet(ctx, course, day)]


@router.option("troster", roles=MANAGERS)
async def roster(msg: Incoming, ctx: Context) -> list[Reply]:
    """Everyone registered on the course: status, who entered it, sessions attended."""
    course = await ctx.repos.training.course(parse_id((msg.option or "").split(":")[-1]) or 0)
    if course is None:
        return [Reply("training/course_missing")]
    if not can_manage(ctx, course):
        return [Reply("system/forbidden")]
    rows = [
        {
            "name": p.name,
            "phone": p.phone,
            "status": r.status,
            "entered_by_staff": r.entered_by is not None,
            "category": p.category,
        }
        for r, p in await ctx.repos.training.roster(course.id)
    ]
    options = (Option("course_view", f"tview:{course.id}"),)
    return [Reply("training/roster", {**course_data(course), "rows": rows}, options)]
