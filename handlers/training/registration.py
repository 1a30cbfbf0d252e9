"""Registering for a course: the registration form (for oneself, or by station staff for
someone without a phone), consent, duplicates, the waiting list, and cancelling."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.context import Context
from bot.dialogs import Form, Invalid, Step
from bot.messages import Incoming, Option, Reply
from handlers.fields import (
    parse_county,
    parse_display_name,
    parse_id_card,
    parse_phone,
    parse_township,
    parse_village,
)
from handlers.training.common import (
    CATEGORIES,
    MANAGERS,
    TOPICS,
    can_manage,
    course_data,
    parse_id,
    router,
)
from handlers.training.courses import tell_promoted
from storage.models import Course, Person, Registration
from storage.repositories.training import Enrolled

YES = frozenset({"是", "对", "有", "yes", "y", "1"})
NO = frozenset({"否", "不是", "没有", "no", "n", "0"})
AGREE = frozenset({"同意", "我同意", "agree"})
REFUSE = frozenset({"不同意", "拒绝", "disagree"})


async def _open_course(ctx: Context, value: str) -> Course | Reply:
    course_id = parse_id(value.split(":", 1)[1]) if ":" in value else None
    course = None if course_id is None else await ctx.repos.training.course(course_id)
    if course is None:
        return Reply("training/course_missing")
    if not course.is_open or course.starts_at <= ctx.now:
        return Reply("training/course_closed", course_data(course))
    return course


@router.option("treg")
async def register_self(msg: Incoming, ctx: Context) -> list[Reply]:
    """Start the registration form for the person writing."""
    course = await _open_course(ctx, msg.option or "")
    if isinstance(course, Reply):
        return [course]
    if await ctx.repos.training.for_user_on(course.id, ctx.user.id) is not None:
        return [Reply("training/duplicate", course_data(course))]
    person = await ctx.repos.people.for_user(ctx.user.id)
    known: dict[str, Any] = {"county": ctx.user.county, "village": ctx.user.village}
    if person is not None:
        if await ctx.repos.training.duplicate(
            course.id, phone=person.phone, id_hash=person.id_hash
        ):
            return [Reply("training/duplicate", course_data(course))]
        known.update(
            name=person.name,
            county=person.county or ctx.user.county,
            township=person.township,
            village=person.village or ctx.user.village,
            category=person.category,
        )
    answers = {"course_id": course.id, "title": course.title, "for_other": False, "_known": known}
    return await ctx.start_form("trainee", answers)


@router.option("tregfor", roles=MANAGERS)
async def register_other(msg: Incoming, ctx: Context) -> list[Reply]:
    """Staff register someone else; the record keeps who entered it."""
    course = await _open_course(ctx, msg.option or "")
    if isinstance(course, Reply):
        return [course]
    if not can_manage(ctx, course):
        return [Reply("system/forbidden")]
    known = {"county": ctx.user.county or course.county, "village": ctx.user.village}
    answers = {"course_id": course.id, "title": course.title, "for_other": True, "_known": known}
    return await ctx.start_form("trainee", answers)


# -- parsers ------------------------------------------------------------------------
async def _parse_phone(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    phone = parse_phone(text)
    if await ctx.repos.training.duplicate(answers["course_id"], phone=phone):
        raise Invalid("training/duplicate_phone", title=answers["title"])
    return phone


async def _parse_id(text: str, ctx: Context, answers: dict[str, Any]) -> dict[str, str]:
    card = parse_id_card(text)
    pii = ctx.services.pii
    if await ctx.repos.training.duplicate(
        answers["course_id"], id_hash=pii.lookup_hash(card.number)
    ):
        raise Invalid("training/duplicate_id", title=answers["title"])
    # Kept encrypted even in the open form's state; only the person record keeps it after.
    return {
        "enc": pii.encrypt(card.number),
        "birth_date": card.birth_date.isoformat(),
        "sex": card.sex,
    }


def _parse_category(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    word = text.strip()
    for category in CATEGORIES:
        if word == category or (len(word) >= 2 and word in category):
            return category
    raise Invalid("training/category_invalid")


def _parse_yes_no(text: str, ctx: Context, answers: dict[str, Any]) -> bool:
    word = text.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise Invalid("training/yes_no")


def _parse_interests(text: str, ctx: Context, answers: dict[str, Any]) -> list[str]:
    for sep in ",，;；/ ":
        text = text.replace(sep, "、")
    parts = [p.strip() for p in text.split("、") if p.strip()]
    if not parts or len(parts) > 8 or any(len(p) > 16 for p in parts):
        raise Invalid("training/interests_invalid")
    return list(dict.fromkeys(parts))


def _parse_consent(text: str, ctx: Context, answers: dict[str, Any]) -> bool:
    word = text.strip().lower()
    if word in AGREE:
        return True
    if word in REFUSE:
        return False
    raise Invalid("training/consent_unclear")


def _known(field: str):
    def keep(ctx: Context) -> Any:
        state = ctx.dialog
        if state is None or state.form != "trainee":
            return None
        return state.answers.get("_known", {}).get(field)

    return keep


def _self(answers: dict[str, Any]) -> bool:
    return not answers.get("for_other")


def _other(answers: dict[str, Any]) -> bool:
    return bool(answers.get("for_other"))


STEPS = (
    Step(
        "name",
        "forms/trainee/ask_name",
        lambda t, c, a: parse_display_name(t),
        keep=_known("name"),
    ),
    # No 保持不变 for the phone: its button would show the number unmasked.
    Step("phone", "forms/trainee/ask_phone", _parse_phone, when=_self),
    Step("phone", "forms/trainee/ask_phone_other", _parse_phone, optional=True, when=_other),
    Step("id_card", "forms/trainee/ask_id_card", _parse_id, optional=True),
    Step(
        "county",
        "forms/trainee/ask_county",
        lambda t, c, a: parse_county(t, c.services.regions),
        keep=_known("county"),
    ),
    Step(
        "township",
        "forms/trainee/ask_township",
        lambda t, c, a: parse_township(t),
        optional=True,
        keep=_known("township"),
    ),
    Step(
        "village",
        "forms/trainee/ask_village",
        lambda t, c, a: parse_village(t),
        keep=_known("village"),
    ),
    Step(
        "category",
        "forms/trainee/ask_category",
        _parse_category,
        options=[Option("category", c, {"name": c}) for c in CATEGORIES],
        keep=_known("category"),
    ),
    Step(
        "poor",
        "forms/trainee/ask_poor",
        _parse_yes_no,
        options=(Option("yes", "是"), Option("no", "否")),
    ),
    Step(
        "interests",
        "forms/trainee/ask_interests",
        _parse_interests,
        options=[Option("topic", t, {"name": t}) for t in TOPICS],
        optional=True,
    ),
    Step(
        "consent",
        "forms/trainee/ask_consent",
        _parse_consent,
        options=(Option("consent_yes", "同意"), Option("consent_no", "不同意")),
    ),
)


# -- completion ---------------------------------------------------------------------
async def complete_registration(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    """Store the person once and register them, or store nothing if consent was refused."""
    if not answers.get("consent"):
        return [Reply("training/consent_refused", {"title": answers["title"]})]
    course = await ctx.repos.training.lock_course(answers["course_id"])
    if course is None or not course.is_open or course.starts_at <= ctx.now:
        data = course_data(course) if course is not None else {"title": answers["title"]}
        return [Reply("training/course_closed", data)]
    card = answers.get("id_card")
    id_number = ctx.services.pii.decrypt(card["enc"]) if card else None
    id_hash = ctx.services.pii.lookup_hash(id_number) if id_number else None
    training = ctx.repos.training
    person = await _find(ctx, answers, id_number)
    if await training.duplicate(course.id, phone=answers.get("phone"), id_hash=id_hash) or (
        person is not None and await training.active_for_person(course.id, person.id)
    ):
        return [Reply("training/duplicate", course_data(course))]
    person = await _fill(ctx, person, answers, id_number)
    for_other = bool(answers.get("for_other"))
    enrolled = await training.enrol(
        course,
        person,
        now=ctx.now,
        user_id=person.user_id if for_other else ctx.user.id,
        entered_by=ctx.user.id if for_other else None,
        interests=answers.get("interests") or (),
    )
    return await _registered(ctx, course, person, enrolled, id_number, for_other)


async def _registered(
    ctx: Context,
    course: Course,
    person: Person,
    enrolled: Enrolled,
    id_number: str | None,
    for_other: bool,
) -> list[Reply]:
    """Audit the registration and confirm it with the course's time and place."""
    reg = enrolled.registration
    await ctx.repos.audit.record(
        action="training.register",
        target_type="registration",
        target_id=reg.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"course_id": course.id, "status": reg.status, "for_other": for_other},
    )
    data = {
        **course_data(course),
        "name": person.name,
        "phone": person.phone,
        "id_number": id_number,
        "for_other": for_other,
        "waiting_position": enrolled.waiting_position,
    }
    if for_other and reg.user_id is not None and reg.user_id != ctx.user.id:
        # The trainee chats too: they hear it from the bot, with their own buttons.
        notice = Reply("training/registered_by_staff", data, _after_options(reg, False))
        stamp = int(reg.queued_at.timestamp())
        await ctx.notify(
            reg.user_id, notice, kind="training", dedupe_key=f"trn:entered:{reg.id}:{stamp}"
        )
    return [Reply("training/registered", data, _after_options(reg, for_other))]


def _after_options(reg: Registration, for_other: bool) -> tuple[Option, ...]:
    if for_other:
        return (Option("course_view", f"tview:{reg.course_id}"),)
    return (Option("my_courses", "/my_courses"), Option("course_view", f"tview:{reg.course_id}"))


async def _find(ctx: Context, answers: dict[str, Any], id_number: str | None) -> Person | None:
    """The person these answers describe, if known: by ID number, by the chat user, by phone
    and name, or (no phone, no ID) by name in the same village."""
    people = ctx.repos.people
    if id_number is not None:
        found = await people.by_id_number(id_number)
        if found is not None:
            return found
    if not answers.get("for_other"):
        linked = await people.for_user(ctx.user.id)
        if linked is not None and (linked.id_hash is None or id_number is None):
            return linked
    if answers.get("phone"):
        candidates = await people.by_phone(answers["phone"])
    elif id_number is None:
        candidates = await people.named(answers["county"], answers["village"], answers["name"])
        candidates = [p for p in candidates if p.phone is None]
    else:
        candidates = []
    same = [p for p in candidates if p.name == answers["name"]]
    return next((p for p in same if p.id_hash is None or id_number is None), None)


async def _fill(
    ctx: Context, person: Person | None, answers: dict[str, Any], id_number: str | None
) -> Person:
    """Create or update the person record from the answers; the ID number is kept once."""
    people = ctx.repos.people
    if person is None:
        person = await people.create(name=answers["name"], now=ctx.now, created_by=ctx.user.id)
    mine = not answers.get("for_other")
    if mine and person.user_id is None and await people.for_user(ctx.user.id) is None:
        person.user_id = ctx.user.id
    person.name = answers["name"]
    person.phone = answers.get("phone") or person.phone
    person.county, person.village = answers["county"], answers["village"]
    person.township = answers.get("township") or person.township
    person.category, person.poor_registered = answers["category"], answers["poor"]
    person.consent_at = person.updated_at = ctx.now
    card = answers.get("id_card")
    if id_number is not None and card is not None and person.id_hash is None:
        people.set_id_number(
            person,
            id_number,
            birth_date=date.fromisoformat(card["birth_date"]),
            sex=card["sex"],
            consent_at=ctx.now,
        )
    return person


router.form(Form("trainee", "form_trainee", STEPS, complete_registration))


# -- a trainee's own registrations ------------------------------------------------------
@router.command("my_courses", aliases=("我的培训", "我的报名"), summary="help_my_courses")
async def my_courses(msg: Incoming, ctx: Context) -> list[Reply]:
    """The person's registrations on courses not yet over, each with a cancel button."""
    rows = await ctx.repos.training.of_user(ctx.user.id, ctx.now)
    items, options = [], []
    for reg, course in rows:
        position = await ctx.repos.training.waiting_position(reg)
        items.append({**course_data(course), "status": reg.status, "position": position})
        options.append(Option("unregister", f"tunreg:{reg.id}", {"title": course.title}))
    options.append(Option("menu_courses", "/courses"))
    return [Reply("training/my_courses", {"items": items}, tuple(options))]


async def _own_registration(ctx: Context, value: str) -> tuple[Registration, Course] | None:
    reg_id = parse_id(value.split(":", 1)[1]) if ":" in value else None
    reg = None if reg_id is None else await ctx.repos.training.registration(reg_id)
    if reg is None or reg.status == "cancelled":
        return None
    course = await ctx.repos.training.course(reg.course_id)
    if course is None:
        return None
    if reg.user_id != ctx.user.id and not can_manage(ctx, course):
        return None
    return reg, course


@router.option("tunreg")
async def ask_unregister(msg: Incoming, ctx: Context) -> list[Reply]:
    """Ask before cancelling a registration."""
    found = await _own_registration(ctx, msg.option or "")
    if found is None:
        return [Reply("training/registration_missing")]
    reg, course = found
    options = (
        Option("unregister_confirm", f"tunregok:{reg.id}"),
        Option("my_courses", "/my_courses"),
    )
    return [Reply("training/unregister_confirm", course_data(course), options)]


@router.option("tunregok")
async def unregister(msg: Incoming, ctx: Context) -> list[Reply]:
    """Cancel a registration; the first on the waiting list takes the seat and is told."""
    found = await _own_registration(ctx, msg.option or "")
    if found is None:
        return [Reply("training/registration_missing")]
    reg, course = found
    await ctx.repos.training.lock_course(course.id)
    promoted = await ctx.repos.training.withdraw(reg, ctx.now)
    for row in promoted:
        await tell_promoted(ctx, row, course)
    await ctx.repos.audit.record(
        action="training.unregister",
        target_type="registration",
        target_id=reg.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"course_id": course.id, "promoted": [r.id for r in promoted]},
    )
    return [Reply("training/unregistered", course_data(course))]
