"""Broadcasts by administrators: the /broadcast form (roles, region, when, text), the
preview with its recipient count, confirmation, cancellation before the start, and
/broadcasts with each broadcast's progress. County administrators reach only their own
county. The fan-out and delivery are scheduler/broadcasts.py and scheduler/delivery.py."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.dialogs import Form, Invalid, Step
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from handlers.fields import parse_village
from storage.models import Broadcast, BroadcastScope, BroadcastStatus, Role

router = Router("broadcast")
router.menu("menu_broadcast", "/broadcast", roles=(Role.ADMIN,), order=72)
router.menu("menu_broadcasts", "/broadcasts", roles=(Role.ADMIN,), order=73)

AUDIENCE = (Role.HOUSEHOLD, Role.STAFF, Role.LIAISON)
ROLE_WORDS = {
    "农户": Role.HOUSEHOLD,
    "贫困户": Role.HOUSEHOLD,
    "household": Role.HOUSEHOLD,
    "服务站": Role.STAFF,
    "服务站人员": Role.STAFF,
    "站员": Role.STAFF,
    "staff": Role.STAFF,
    "联络员": Role.LIAISON,
    "liaison": Role.LIAISON,
}
ALL_WORDS = frozenset({"全部", "所有人", "全体", "all"})
PROVINCE_WORDS = frozenset({"全省", "河南", "河南省", "province"})
NOW_WORDS = frozenset({"立即", "现在", "马上", "立即发送", "now"})
TEXT_MAX = 1000
MAX_AHEAD = timedelta(days=30)
LIST_LIMIT = 10


def is_county_admin(ctx: Context) -> bool:
    return ctx.role is Role.ADMIN and bool(ctx.user.county)


def may_manage(ctx: Context, row: Broadcast) -> bool:
    """Province admins manage every broadcast; county admins those of their county."""
    return not is_county_admin(ctx) or row.owner_county == ctx.user.county


def parse_roles(text: str, _ctx: Context, _answers: dict[str, Any]) -> list[str]:
    words = [w for w in re.split(r"[\s,，、;；和及]+", text.strip()) if w]
    if not words:
        raise Invalid("broadcast/roles_unknown")
    if any(w.lower() in ALL_WORDS for w in words):
        return [r.value for r in AUDIENCE]
    chosen: list[str] = []
    for word in words:
        role = ROLE_WORDS.get(word.lower())
        if role is None:
            raise Invalid("broadcast/roles_unknown")
        if role.value not in chosen:
            chosen.append(role.value)
    return chosen


def parse_region(text: str, ctx: Context, _answers: dict[str, Any]) -> dict[str, Any]:
    """全省, a city, a county, or a county and a village; county admins only their county."""
    words = text.split()
    own = ctx.user.county if is_county_admin(ctx) else None
    if len(words) == 1 and words[0] in PROVINCE_WORDS:
        if own:
            raise Invalid("broadcast/region_outside", county=own)
        return {"scope": BroadcastScope.PROVINCE.value, "region": "河南省", "counties": None}
    if not 1 <= len(words) <= 2:
        raise Invalid("broadcast/region_unknown", text=text[:20])
    match = ctx.services.regions.resolve(words[0])
    if match.county is None and match.city is not None and len(words) == 1:
        if own:
            raise Invalid("broadcast/region_outside", county=own)
        counties = [c.name for c in ctx.services.regions.counties_of(match.city)]
        return {"scope": BroadcastScope.CITY.value, "region": match.city, "counties": counties}
    if match.county is None:
        raise Invalid("broadcast/region_unknown", text=words[0][:20])
    county = match.county.name
    if own and county != own:
        raise Invalid("broadcast/region_outside", county=own)
    if len(words) == 1:
        return {"scope": BroadcastScope.COUNTY.value, "region": county, "counties": [county]}
    village = parse_village(words[1])
    return {
        "scope": BroadcastScope.VILLAGE.value,
        "region": f"{county} {village}",
        "counties": [county],
        "village": village,
    }


def parse_when(text: str, ctx: Context, _answers: dict[str, Any]) -> str | None:
    """立即 (None), or a local time: 2026-11-03 09:00, 11-03 09:00, 明天 9:00, 15:30."""
    word = text.strip().lower()
    if word in NOW_WORDS:
        return None
    zone = ZoneInfo(ctx.settings.timezone)
    local_now = ctx.now.astimezone(zone)
    when = _local_time(word, local_now)
    if when is None:
        raise Invalid("broadcast/when_invalid")
    if when <= local_now or when - local_now > MAX_AHEAD:
        raise Invalid("broadcast/when_out_of_range", days=MAX_AHEAD.days)
    return when.astimezone(ctx.now.tzinfo).isoformat()


def _local_time(text: str, now: datetime) -> datetime | None:
    text = text.replace("：", ":").replace("点", ":00").replace("/", "-")
    day_offset = None
    for word, offset in (("今天", 0), ("明天", 1), ("后天", 2)):
        if text.startswith(word):
            day_offset, text = offset, text[len(word) :].strip()
    match = re.fullmatch(r"(?:(?:(\d{4})-)?(\d{1,2})-(\d{1,2})\s+)?(\d{1,2}):(\d{2})", text)
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    try:
        if month is not None:
            if day_offset is not None:
                return None
            return now.replace(
                year=int(year or now.year),
                month=int(month),
                day=int(day),
                hour=int(hour),
                minute=int(minute),
                second=0,
                microsecond=0,
            )
        base = now.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
    except ValueError:
        return None
    if day_offset is not None:
        return base + timedelta(days=day_offset)
    return base if base > now else base + timedelta(days=1)


def parse_text(text: str, _ctx: Context, _answers: dict[str, Any]) -> str:
    body = text.strip()
    if len(body) < 2 or len(body) > TEXT_MAX:
        raise Invalid("broadcast/text_invalid", limit=TEXT_MAX)
    return body


def region_options(ctx: Context, _answers: dict[str, Any]) -> list[Option]:
    if is_county_admin(ctx):
        return [Option("place", ctx.user.county or "", {"name": ctx.user.county})]
    return [Option("place", "全省", {"name": "全省"})]


async def preview(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    """Save a draft and show it with its recipient count and the buttons to confirm it."""
    region = answers["region"]
    start_at = datetime.fromisoformat(answers["when"]) if answers.get("when") else ctx.now
    row = await ctx.repos.broadcasts.create_draft(
        created_by=ctx.user.id,
        text=answers["text"],
        roles=answers["roles"],
        scope=region["scope"],
        region=region["region"],
        counties=region["counties"],
        village=region.get("village"),
        owner_county=ctx.user.county if is_county_admin(ctx) else None,
        start_at=start_at,
        now=ctx.now,
    )
    reachable = await ctx.repos.broadcasts.count_audience(row)
    in_scope = await ctx.repos.broadcasts.count_audience(row, reachable_only=False)
    data = {
        "id": row.id,
        "roles": row.roles,
        "region": row.region,
        "start_at": start_at if answers.get("when") else None,
        "text": row.text,
        "recipients": reachable,
        "unreachable": in_scope - reachable,
    }
    options = (
        Option("broadcast_confirm", f"bc:confirm:{row.id}"),
        Option("broadcast_discard", f"bc:cancel:{row.id}"),
    )
    return [Reply("broadcast/preview", data, options)]


router.form(
    Form(
        name="broadcast",
        title="form_broadcast",
        steps=(
            Step(
                "roles",
                "forms/broadcast/ask_roles",
                parse_roles,
                options=(
                    Option("audience_all", "全部"),
                    Option("role", "农户", {"name": Role.HOUSEHOLD.value}),
                    Option("role", "服务站人员", {"name": Role.STAFF.value}),
                    Option("role", "联络员", {"name": Role.LIAISON.value}),
                ),
            ),
            Step("region", "forms/broadcast/ask_region", parse_region, options=region_options),
            Step(
                "when",
                "forms/broadcast/ask_when",
                parse_when,
                options=(Option("broadcast_now", "立即"),),
            ),
            Step("text", "forms/broadcast/ask_text", parse_text),
        ),
        on_complete=preview,
    )
)


@router.command(
    "broadcast", aliases=("发通知", "群发通知"), roles=(Role.ADMIN,), summary="help_broadcast"
)
async def broadcast(msg: Incoming, ctx: Context) -> list[Reply]:
    """Start the broadcast form."""
    return await ctx.start_form("broadcast")


@router.command(
    "broadcasts", aliases=("通知进度",), roles=(Role.ADMIN,), summary="help_broadcasts"
)
async def broadcasts(msg: Incoming, ctx: Context) -> list[Reply]:
    """Each recent broadcast's progress, with buttons to cancel scheduled ones and refresh."""
    county = ctx.user.county if is_county_admin(ctx) else None
    rows = await ctx.repos.broadcasts.recent(limit=LIST_LIMIT, county=county)
    items = [await _item(ctx, row) for row in rows]
    options = [
        Option("broadcast_cancel", f"bc:cancel:{row.id}", {"id": row.id})
        for row in rows
        if row.status == BroadcastStatus.SCHEDULED.value
    ]
    options.append(Option("broadcast_refresh", "bc:list:0"))
    return [Reply("broadcast/list", {"items": items}, tuple(options))]


@router.option("bc", roles=(Role.ADMIN,))
async def broadcast_action(msg: Incoming, ctx: Context) -> list[Reply]:
    """The buttons: bc:confirm:<id>, bc:cancel:<id>, bc:list:0."""
    _, action, raw_id = (msg.option or "").split(":", 2)
    if action == "list":
        return await broadcasts(msg, ctx)
    row = await ctx.repos.broadcasts.get(int(raw_id)) if raw_id.isdigit() else None
    if row is None or not may_manage(ctx, row):
        return [Reply("broadcast/not_found")]
    if action == "confirm":
        return await _confirm(ctx, row)
    if action == "cancel":
        return await _cancel(ctx, row)
    return [Reply("system/stale_option")]


async def _confirm(ctx: Context, row: Broadcast) -> list[Reply]:
    if row.created_by != ctx.user.id or not await ctx.repos.broadcasts.confirm(row, ctx.now):
        return [Reply("broadcast/not_draft", {"id": row.id, "status": row.status})]
    await ctx.repos.audit.record(
        action="broadcast.confirm",
        target_type="broadcast",
        target_id=row.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"roles": row.roles, "region": row.region, "recipients": row.recipients},
    )
    later = row.start_at > ctx.now
    data = {
        "id": row.id,
        "recipients": await ctx.repos.broadcasts.count_audience(row),
        "start_at": row.start_at if later else None,
    }
    options = (Option("broadcast_cancel", f"bc:cancel:{row.id}", {"id": row.id}),) if later else ()
    return [Reply("broadcast/confirmed", data, options)]


async def _cancel(ctx: Context, row: Broadcast) -> list[Reply]:
    was_draft = row.status == BroadcastStatus.DRAFT.value
    if not await ctx.repos.broadcasts.cancel(row, ctx.now):
        return [Reply("broadcast/too_late", {"id": row.id})]
    if not was_draft:
        await ctx.repos.audit.record(
            action="broadcast.cancel",
            target_type="broadcast",
            target_id=row.id,
            at=ctx.now,
            actor_id=ctx.user.id,
            details={},
        )
    return [Reply("broadcast/cancelled", {"id": row.id, "draft": was_draft})]


async def _item(ctx: Context, row: Broadcast) -> dict[str, Any]:
    progress = await ctx.repos.broadcasts.progress(row, ctx.now)
    return {
        "id": row.id,
        "status": row.status,
        "later": row.status == BroadcastStatus.SCHEDULED.value and row.start_at > ctx.now,
        "region": row.region,
        "roles": row.roles,
        "start_at": row.start_at,
        "text": row.text,
        "total": progress.total,
        "sent": progress.sent,
        "pending": progress.pending,
        "failed": progress.failed + progress.unknown,
        "unreachable": progress.unreachable,
        "rate": progress.rate,
    }
