"""A person's own data (PIPL arts. 44–47): /mydata shows what cunzhan keeps about them,
masked; /forgetme erases it after a confirmation button, and both are written to the audit
log. The confirmation is a signed option that expires, so it cannot be typed or replayed."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from content.filters import mask_id, mask_phone
from storage.crypto import PiiKeyError
from storage.models import Role

router = Router("privacy")

CONFIRM_VALID = timedelta(minutes=10)


@router.command("mydata", aliases=("我的数据",), summary="help_mydata")
async def mydata(msg: Incoming, ctx: Context) -> list[Reply]:
    """Everything kept about this person, with phone and ID numbers masked."""
    held = await ctx.repos.privacy.holdings(ctx.user)
    person = held.person
    id_masked = None
    if person is not None and person.id_number_enc:
        try:
            id_masked = mask_id(ctx.repos.people.id_number(person))
        except PiiKeyError:
            id_masked = "******"
    await ctx.repos.audit.record(
        action="privacy.view",
        target_type="user",
        target_id=ctx.user.id,
        at=ctx.now,
        actor_id=ctx.user.id,
    )
    data = {
        "name": ctx.user.display_name,
        "role": ctx.user.role,
        "county": ctx.user.county,
        "village": ctx.user.village,
        "channels": held.channels,
        "person": None
        if person is None
        else {
            "name": person.name,
            "phone": mask_phone(person.phone),
            "id_number": id_masked,
            "place": " ".join(p for p in (person.county, person.township, person.village) if p),
            "consent_at": person.consent_at,
            "id_consent_at": person.id_consent_at,
        },
        "messages": sum(held.messages.values()),
        "audit_entries": held.audit_entries,
    }
    return [Reply("privacy/mydata", data)]


@router.command(
    "forgetme", aliases=("删除我的数据",), roles=(Role.HOUSEHOLD,), summary="help_forgetme"
)
async def forgetme(msg: Incoming, ctx: Context) -> list[Reply]:
    """Ask for confirmation before erasing; only the button that follows can confirm."""
    stamp = int(ctx.now.timestamp())
    options = (Option("forget_yes", f"forget:yes:{stamp}"), Option("forget_no", "forget:no"))
    return [Reply("privacy/forget_confirm", {"minutes": 10}, options)]


@router.option("forget", roles=(Role.HOUSEHOLD,))
async def forget_choice(msg: Incoming, ctx: Context) -> list[Reply]:
    """The confirmation button: erase (if pressed in time) or keep everything."""
    parts = (msg.option or "").split(":")
    if len(parts) != 3 or parts[1] != "yes" or not parts[2].isdigit():
        return [Reply("privacy/forget_kept")]
    asked = int(parts[2])
    age = ctx.now.timestamp() - asked
    if not 0 <= age <= CONFIRM_VALID.total_seconds():
        return [Reply("privacy/forget_expired")]
    done = await ctx.repos.privacy.forget(ctx.user, ctx.now)
    await ctx.repos.audit.record(
        action="privacy.forget",
        target_type="user",
        target_id=ctx.user.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details=done,
    )
    return [Reply("privacy/forgotten", done)]
