"""Courses: the /courses list for everyone, one course's page, and the forms staff and
administrators use to create, edit and cancel a course (trainees are told through the outbox)."""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.dialogs import Form, Invalid, Step
from bot.messages import Incoming, Option, Reply
from handlers.fields import (
    normalise_digits,
    parse_count,
    parse_county,
    parse_end_time,
    parse_local_datetime,
    parse_short_text,
)
from handlers.training.common import (
    AUDIENCES,
    KIND,
    MANAGERS,
    TOPICS,
    can_manage,
    course_data,
    from_local,
    is_manager,
    local_now,
    parse_id,
    router,
    to_local_text,
)
from storage.models import Course, Priority, Registration

NOTIFY_FIELDS = ("place", "starts_at", "ends_at")
MAX_LISTED = 10


@router.command("courses", aliases=("培训课程", "培训", "近期培训"), summary="help_courses")
async def list_courses(msg: Incoming, ctx: Context) -> list[Reply]:
    """Upcoming courses in the person's county (all counties when it is not known)."""
    county = ctx.user.county
    courses = await ctx.repos.training.upcoming(county, ctx.now, limit=MAX_LISTED)
    options = [
        Option("course_item", f"tview:{c.id}", {"title": c.title, "starts_at": c.starts_at})
        for c in courses
    ]
    if is_manager(ctx):
        options.append(Option("course_new", "/course_new"))
    data = {"county": county, "courses": [course_data(c) for c in courses]}
    return [Reply("training/course_list", data, tuple(options))]


async def course_page(ctx: Context, course: Course) -> Reply:
    seats = await ctx.repos.training.seats(course.id)
    mine = await ctx.repos.training.for_user_on(course.id, ctx.user.id)
    started = course.starts_at <= ctx.now
    options: list[Option] = []
    if mine is not None:
        options.append(Option("unregister", f"tunreg:{mine.id}", {"title": course.title}))
    elif course.is_open and not started:
        options.append(Option("course_register", f"treg:{course.id}"))
    if can_manage(ctx, course):
        options.extend(_manage_options(course, started))
    data = {
        **course_data(course, seats),
        "started": started,
        "mine": mine.status if mine is not None else None,
        "position": await ctx.repos.training.waiting_position(mine) if mine else None,
    }
    return Reply("training/course_page", data, tuple(options))


def _manage_options(course: Course, started: bool) -> list[Option]:
    options = []
    if course.is_open and not started:
        options.append(Option("course_register_other", f"tregfor:{course.id}"))
    options.append(Option("course_roster", f"troster:{course.id}"))
    if course.is_open:
        options.append(Option("course_attendance", f"tatt:{course.id}"))
        options.append(Option("course_edit", f"tedit:{course.id}"))
        options.append(Option("course_cancel", f"tcancel:{course.id}"))
    return options


async def _course(ctx: Context, value: str) -> Course | None:
    course_id = parse_id(value.split(":")[1]) if value.count(":") >= 1 else None
    return None if course_id is None else await ctx.repos.training.course(course_id)


@router.command("course", aliases=(), summary="help_course")
async def course_by_number(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/course <课程编号>``: one course's page, for a number staff passed on."""
    course_id = parse_id(normalise_digits(msg.args[0])) if len(msg.args) == 1 else None
    course = None if course_id is None else await ctx.repos.training.course(course_id)
    if course is None:
        return [Reply("training/course_missing")]
    return [await course_page(ctx, course)]


@router.option("tview")
async def view_course(msg: Incoming, ctx: Context) -> list[Reply]:
    """One course: time, place, teacher, seats; register or manage it."""
    course = await _course(ctx, msg.option or "")
    if course is None:
        return [Reply("training/course_missing")]
    return [await course_page(ctx, course)]


@router.command(
    "course_new", aliases=("新建课程", "发布课程"), roles=MANAGERS, summary="help_course_new"
)
async def new_course(msg: Incoming, ctx: Context) -> list[Reply]:
    """Start the new-course form."""
    return await ctx.start_form("course", {"_orig": {"county": ctx.user.county}})


@router.option("tedit", roles=MANAGERS)
async def edit_course(msg: Incoming, ctx: Context) -> list[Reply]:
    """Start the edit form with the course's current values offered as 保持不变."""
    course = await _course(ctx, msg.option or "")
    if course is None or not course.is_open:
        return [Reply("training/course_missing")]
    if not can_manage(ctx, course):
        return [Reply("system/forbidden")]
    orig = {
        "title": course.title,
        "topics": "、".join(course.topics),
        "county": course.county,
        "place": course.place,
        "starts_at": to_local_text(ctx, course.starts_at),
        "ends_at": to_local_text(ctx, course.ends_at),
        "capacity": course.capacity,
        "teacher": course.teacher,
        "audience": course.audience,
    }
    return await ctx.start_form("course_edit", {"course_id": course.id, "_orig": orig})


def _values(ctx: Context, answers: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": answers["title"],
        "topics": [t for t in answers["topics"].split("、") if t],
        "county": answers["county"],
        "place": answers["place"],
        "starts_at": from_local(ctx, answers["starts_at"]),
        "ends_at": from_local(ctx, answers["ends_at"]),
        "capacity": answers["capacity"],
        "teacher": answers["teacher"],
        "audience": answers["audience"],
    }


async def save_new_course(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    course = await ctx.repos.training.create_course(
        now=ctx.now, created_by=ctx.user.id, **_values(ctx, answers)
    )
    await ctx.repos.audit.record(
        action="course.create",
        target_type="course",
        target_id=course.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"county": course.county, "capacity": course.capacity},
    )
    page = await course_page(ctx, course)
    return [Reply("training/course_created", course_data(course), page.options)]


async def save_course_edit(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    course = await ctx.repos.training.lock_course(answers["course_id"])
    if course is None or not course.is_open:
        return [Reply("training/course_missing")]
    if not can_manage(ctx, course):
        return [Reply("system/forbidden")]
    values = _values(ctx, answers)
    changed = sorted(k for k, v in values.items() if getattr(course, k) != v)
    for key in changed:
        setattr(course, key, values[key])
    course.updated_at = ctx.now
    await ctx.repos.audit.record(
        action="course.update",
        target_type="course",
        target_id=course.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"changed": changed},
    )
    told = 0
    if set(changed) & set(NOTIFY_FIELDS):
        active = await ctx.repos.training.roster(course.id)
        stamp = int(ctx.now.timestamp())
        for reg, _ in active:
            told += await _tell(ctx, reg, "training/notice_changed", course, f"chg:{stamp}")
    promoted = await ctx.repos.training.promote(course, ctx.now)
    for reg in promoted:
        await tell_promoted(ctx, reg, course)
    data = {**course_data(course), "changed": changed, "told": told, "promoted": len(promoted)}
    return [Reply("training/course_updated", data, (Option("course_view", f"tview:{course.id}"),))]


async def _tell(ctx: Context, reg: Registration, template: str, course: Course, key: str) -> int:
    """Tell a trainee about their course through the outbox; 1 if they could be reached."""
    if reg.user_id is None:
        return 0
    sent = await ctx.notify(
        reg.user_id,
        Reply(template, {**course_data(course), "status": reg.status}),
        kind=KIND,
        priority=Priority.NOTICE,
        dedupe_key=f"trn:{key}:{reg.id}",
    )
    return 1 if sent is not None else 0


async def tell_promoted(ctx: Context, reg: Registration, course: Course) -> int:
    stamp = int(reg.queued_at.timestamp())
    return await _tell(ctx, reg, "training/notice_promoted", course, f"promote:{stamp}")


@router.option("tcancel", roles=MANAGERS)
async def ask_cancel_course(msg: Incoming, ctx: Context) -> list[Reply]:
    """Ask for confirmation before cancelling a course."""
    course = await _course(ctx, msg.option or "")
    if course is None or not course.is_open:
        return [Reply("training/course_missing")]
    if not can_manage(ctx, course):
        return [Reply("system/forbidden")]
    seats = await ctx.repos.training.seats(course.id)
    options = (
        Option("course_cancel_confirm", f"tcancelok:{course.id}"),
        Option("course_view", f"tview:{course.id}"),
    )
    return [Reply("training/course_cancel_confirm", course_data(course, seats), options)]


@router.option("tcancelok", roles=MANAGERS)
async def cancel_course(msg: Incoming, ctx: Context) -> list[Reply]:
    """Cancel the course and tell everyone registered (those without chat are listed)."""
    found = await _course(ctx, msg.option or "")
    course = found and await ctx.repos.training.lock_course(found.id)
    if course is None or not course.is_open:
        return [Reply("training/course_missing")]
    if not can_manage(ctx, course):
        return [Reply("system/forbidden")]
    active = await ctx.repos.training.roster(course.id)
    await ctx.repos.training.cancel_course(course, ctx.now)
    told, unreachable = 0, []
    for reg, person in active:
        reached = await _tell(ctx, reg, "training/notice_cancelled", course, "cancel")
        told += reached
        if not reached:
            unreachable.append({"name": person.name, "phone": person.phone})
    await ctx.repos.audit.record(
        action="course.cancel",
        target_type="course",
        target_id=course.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"registrations": len(active), "told": told},
    )
    data = {**course_data(course), "told": told, "unreachable": unreachable}
    return [Reply("training/course_cancelled", data)]


# -- the course form (new and edit share its steps) ----------------------------------
def _orig(field: str):
    def keep(ctx: Context) -> Any:
        state = ctx.dialog
        if state is None or state.form != "course_edit":
            return None
        return state.answers.get("_orig", {}).get(field)

    return keep


def _parse_topics(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    parts = [p for p in _split(text) if p]
    if not parts or any(len(p) > 16 for p in parts) or len(parts) > 6:
        raise Invalid("training/topics_invalid")
    return "、".join(dict.fromkeys(parts))


def _split(text: str) -> list[str]:
    for sep in ",，;；/ ":
        text = text.replace(sep, "、")
    return [p.strip() for p in text.split("、")]


def _parse_audience(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    word = text.strip()
    for audience in AUDIENCES:
        if word == audience or (len(word) >= 2 and word in audience):
            return audience
    raise Invalid("training/audience_invalid")


def _parse_start(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    return parse_local_datetime(text, local_now(ctx))


def _parse_end(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    return parse_end_time(text, answers["starts_at"])


def _county_keep(ctx: Context) -> Any:
    state = ctx.dialog
    return state.answers.get("_orig", {}).get("county") if state is not None else None


PARSERS = {
    "title": lambda t, c, a: parse_short_text(t, 64),
    "topics": _parse_topics,
    "county": lambda t, c, a: parse_county(t, c.services.regions),
    "place": lambda t, c, a: parse_short_text(t, 64),
    "starts_at": _parse_start,
    "ends_at": _parse_end,
    "capacity": lambda t, c, a: parse_count(t, low=1, high=500),
    "teacher": lambda t, c, a: parse_short_text(t, 32),
    "audience": _parse_audience,
}
CHOICES = {
    "topics": [Option("topic", t, {"name": t}) for t in TOPICS],
    "audience": [Option("audience", a, {"name": a}) for a in AUDIENCES],
}


def _steps(form: str) -> tuple[Step, ...]:
    """The course form's questions; the edit form offers each current value as 保持不变,
    the new-course form only the person's own county."""

    def keep(field: str) -> Any:
        if field == "county":
            return _county_keep
        return _orig(field) if form == "course_edit" else None

    return tuple(
        Step(field, f"forms/course/ask_{field}", parse, CHOICES.get(field, ()), keep=keep(field))
        for field, parse in PARSERS.items()
    )


router.form(Form("course", "form_course", _steps("course"), save_new_course))
router.form(Form("course_edit", "form_course_edit", _steps("course_edit"), save_course_edit))
