"""Follow-up after training: a trainee's answer to the 30/90-day question (asked by the job
in scheduler/jobs/training.py), and the staff list of who has not answered, where staff can
record an answer they got by phone."""

from __future__ import annotations

from bot.context import Context
from bot.messages import Incoming, Option, Reply
from handlers.training.common import MANAGERS, can_manage, parse_id, router, scope_county
from storage.models import FollowUp, FollowUpOutcome

OUTCOMES = frozenset(o.value for o in FollowUpOutcome)
LISTED = 20


async def _allowed(ctx: Context, followup: FollowUp) -> tuple[bool, dict[str, object]]:
    """Whether this person may answer the follow-up, and what templates say about it."""
    reg = await ctx.repos.training.registration(followup.registration_id)
    course = reg and await ctx.repos.training.course(reg.course_id)
    person = reg and await ctx.repos.people.get(reg.person_id)
    if reg is None or course is None or person is None:
        return False, {}
    data = {"name": person.name, "title": course.title, "days": followup.round_days}
    own = reg.user_id == ctx.user.id
    return own or can_manage(ctx, course), {**data, "by_staff": not own}


@router.option("tfu")
async def answer(msg: Incoming, ctx: Context) -> list[Reply]:
    """``tfu:<id>:<outcome>``: the trainee (or staff for them) answers a follow-up."""
    parts = (msg.option or "").split(":")
    followup_id = parse_id(parts[1]) if len(parts) == 3 else None
    followup = None if followup_id is None else await ctx.repos.training.followup(followup_id)
    if followup is None or parts[2] not in OUTCOMES:
        return [Reply("training/followup_missing")]
    allowed, data = await _allowed(ctx, followup)
    if not allowed:
        return [Reply("training/followup_missing")]
    followup.outcome, followup.answered_at = parts[2], ctx.now
    followup.answered_by = ctx.user.id
    await ctx.repos.audit.record(
        action="training.followup",
        target_type="followup",
        target_id=followup.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"outcome": followup.outcome, "round": followup.round_days},
    )
    return [Reply("training/followup_saved", {**data, "outcome": followup.outcome})]


@router.command(
    "followups", aliases=("未回访", "回访名单"), roles=MANAGERS, summary="help_followups"
)
async def unanswered(msg: Incoming, ctx: Context) -> list[Reply]:
    """Trainees of the county who have not answered a follow-up, oldest first."""
    county = scope_county(ctx)
    rows = await ctx.repos.training.unanswered(county, limit=LISTED)
    items = [
        {
            "name": p.name,
            "phone": p.phone,
            "title": c.title,
            "days": f.round_days,
            "asked_at": f.asked_at,
            "in_chat": f.asked_in_chat,
        }
        for f, p, c in rows
    ]
    options = tuple(
        Option("followup_record", f"tfuask:{f.id}", {"name": p.name, "days": f.round_days})
        for f, p, _ in rows
    )
    total = await ctx.repos.training.count_unanswered(county)
    return [Reply("training/followups", {"rows": items, "total": total}, options)]


@router.option("tfuask", roles=MANAGERS)
async def record_for(msg: Incoming, ctx: Context) -> list[Reply]:
    """Offer the answers for one trainee's follow-up, for staff who asked by phone."""
    followup_id = parse_id((msg.option or "").split(":")[-1])
    followup = None if followup_id is None else await ctx.repos.training.followup(followup_id)
    if followup is None:
        return [Reply("training/followup_missing")]
    allowed, data = await _allowed(ctx, followup)
    if not allowed:
        return [Reply("system/forbidden")]
    options = tuple(
        Option(f"outcome_{o.value}", f"tfu:{followup.id}:{o.value}") for o in FollowUpOutcome
    )
    return [Reply("training/followup_record", data, options)]
