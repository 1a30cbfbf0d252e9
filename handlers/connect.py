"""/connect: one person on two channels. ``/connect`` gives a one-time code; sending
``/connect <code>`` from another channel (WeChat, Telegram, the web chat) joins that
channel's identity to the person who asked for it, so registrations and orders made on
either channel follow the person."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.messages import Incoming, Reply
from bot.router import Router
from storage.models import Role
from storage.repositories import RedeemOutcome

router = Router("connect")

CODE_VALID = timedelta(minutes=15)
REFUSALS = {
    RedeemOutcome.UNKNOWN: "connect/unknown",
    RedeemOutcome.EXPIRED: "connect/expired",
    RedeemOutcome.USED: "connect/used",
}


@router.command("connect", aliases=("关联账号",), summary="help_connect")
async def connect(msg: Incoming, ctx: Context) -> list[Reply]:
    """Give a linking code, or redeem one typed after the command."""
    if not msg.args:
        code = await ctx.repos.links.issue(
            user_id=ctx.user.id, channel=msg.sender.channel, now=ctx.now, valid_for=CODE_VALID
        )
        minutes = int(CODE_VALID.total_seconds() // 60)
        return [Reply("connect/code", {"code": code, "minutes": minutes})]
    return await _redeem(msg, ctx, "".join(msg.args))


async def _redeem(msg: Incoming, ctx: Context, code: str) -> list[Reply]:
    """Move this channel's identity to the code's owner; wrong codes count like /bind's."""
    user, limits = ctx.user, ctx.settings.limits
    if user.bind_locked_until is not None and user.bind_locked_until > ctx.now:
        minutes = max(1, int((user.bind_locked_until - ctx.now).total_seconds() // 60) + 1)
        return [Reply("connect/locked", {"minutes": minutes})]
    identity = await ctx.repos.users.identity(msg.sender.channel, msg.sender.external_id)
    assert identity is not None
    redeemed = await ctx.repos.links.redeem(code, identity_id=identity.id, now=ctx.now)
    if redeemed.outcome is not RedeemOutcome.OK or redeemed.link is None:
        user.bind_failures += 1
        if user.bind_failures >= limits.bind_failures:
            user.bind_failures = 0
            user.bind_locked_until = ctx.now + timedelta(seconds=limits.bind_lockout_s)
        return [Reply(REFUSALS[redeemed.outcome])]
    target = await ctx.repos.users.get(redeemed.link.user_id)
    assert target is not None
    if target.id == user.id:
        return [Reply("connect/same_person")]
    if user.role != Role.HOUSEHOLD.value and user.role != target.role:
        return [Reply("connect/role_conflict", {"role": user.role, "other": target.role})]
    identity.user_id = target.id
    await ctx.repos.dialogs.clear(user.id)
    await ctx.repos.audit.record(
        action="identity.link",
        target_type="user",
        target_id=target.id,
        at=ctx.now,
        actor_id=target.id,
        details={"channel": identity.channel, "from_user": user.id},
    )
    channels = [i.channel for i in await ctx.repos.users.identities(target.id)]
    data = {"name": target.display_name, "role": target.role, "channels": channels}
    return [Reply("connect/ok", data)]
