"""/me, the edit-profile form, and /bind (redeeming an invite code for a role)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.context import Context
from bot.dialogs import Form, Step
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from handlers.fields import parse_county, parse_display_name, parse_village
from storage.models import Role
from storage.repositories import RedeemOutcome

router = Router("profile")
router.menu("menu_me", "/me", order=80)
router.menu("menu_profile", "/profile", order=81)

REFUSALS = {
    RedeemOutcome.UNKNOWN: "profile/bind_unknown",
    RedeemOutcome.EXPIRED: "profile/bind_expired",
    RedeemOutcome.USED: "profile/bind_used",
}


@router.command("me", aliases=("我的信息",), summary="help_me")
async def me(msg: Incoming, ctx: Context) -> list[Reply]:
    """Show the person's name, role and place."""
    channels = [i.channel for i in await ctx.repos.users.identities(ctx.user.id)]
    data = {
        "name": ctx.user.display_name,
        "role": ctx.user.role,
        "county": ctx.user.county,
        "village": ctx.user.village,
        "channels": channels,
    }
    return [Reply("profile/me", data, (Option("menu_profile", "/profile"),))]


@router.command("profile", aliases=("修改资料",), summary="help_profile")
async def edit_profile(msg: Incoming, ctx: Context) -> list[Reply]:
    """Start the edit-profile form."""
    return await ctx.start_form("profile")


async def save_profile(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    user = ctx.user
    before = {"display_name": user.display_name, "county": user.county, "village": user.village}
    user.display_name = answers["display_name"]
    user.county = answers["county"]
    user.village = answers.get("village")
    after = {"display_name": user.display_name, "county": user.county, "village": user.village}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        await ctx.repos.audit.record(
            action="profile.update",
            target_type="user",
            target_id=user.id,
            at=ctx.now,
            actor_id=user.id,
            details={"changed": sorted(changed)},
        )
    return [Reply("profile/saved", {**after, "role": user.role})]


router.form(
    Form(
        name="profile",
        title="form_profile",
        steps=(
            Step(
                "display_name",
                "forms/profile/ask_display_name",
                lambda text, ctx, _: parse_display_name(text),
                keep=lambda ctx: ctx.user.display_name or None,
            ),
            Step(
                "county",
                "forms/profile/ask_county",
                lambda text, ctx, _: parse_county(text, ctx.services.regions),
                keep=lambda ctx: ctx.user.county,
            ),
            Step(
                "village",
                "forms/profile/ask_village",
                lambda text, ctx, _: parse_village(text),
                optional=True,
                keep=lambda ctx: ctx.user.village,
            ),
        ),
        on_complete=save_profile,
    )
)


@router.command("bind", aliases=(), summary="help_bind")
async def bind(msg: Incoming, ctx: Context) -> list[Reply]:
    """Redeem a one-time invite code; repeated wrong codes lock the person out for a while."""
    user, limits = ctx.user, ctx.settings.limits
    if user.bind_locked_until is not None and user.bind_locked_until > ctx.now:
        minutes = max(1, int((user.bind_locked_until - ctx.now).total_seconds() // 60) + 1)
        return [Reply("profile/bind_locked", {"minutes": minutes})]
    if not msg.args or len(msg.args) > 3:
        return [Reply("profile/bind_usage")]
    code = "".join(msg.args)  # people type the code with spaces where it was printed with -
    redeemed = await ctx.repos.invites.redeem(code, user_id=user.id, now=ctx.now)
    if redeemed.outcome is not RedeemOutcome.OK or redeemed.invite is None:
        user.bind_failures += 1
        if user.bind_failures >= limits.bind_failures:
            user.bind_failures = 0
            user.bind_locked_until = ctx.now + timedelta(seconds=limits.bind_lockout_s)
        await ctx.repos.audit.record(
            action="invite.refused",
            target_type="user",
            target_id=user.id,
            at=ctx.now,
            actor_id=user.id,
            details={"outcome": redeemed.outcome.value},
        )
        return [Reply(REFUSALS[redeemed.outcome])]
    invite = redeemed.invite
    previous = user.role
    user.role = invite.role
    user.county = invite.county or user.county
    user.village = invite.village or user.village
    user.bind_failures = 0
    await ctx.repos.audit.record(
        action="role.bind",
        target_type="user",
        target_id=user.id,
        at=ctx.now,
        actor_id=user.id,
        details={
            "from": previous,
            "to": user.role,
            "invite_id": invite.id,
            "county": user.county,
            "village": user.village,
        },
    )
    options = tuple(
        Option(e.label, e.command) for e in ctx.services.catalog.menu_for(Role(user.role))
    )
    data = {"role": user.role, "county": user.county, "village": user.village}
    return [Reply("profile/bind_ok", data, options)]
