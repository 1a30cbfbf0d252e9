"""Administrator actions in chat: issuing invite codes (more arrive with later features)."""

from __future__ import annotations

from datetime import timedelta

from bot.context import Context
from bot.messages import Incoming, Reply
from bot.router import Router
from storage.models import Role

router = Router("admin")
router.menu("menu_invite", "/invite", roles=(Role.ADMIN,), order=70)

INVITABLE = {
    "admin": Role.ADMIN,
    "staff": Role.STAFF,
    "liaison": Role.LIAISON,
    "管理员": Role.ADMIN,
    "服务站": Role.STAFF,
    "站员": Role.STAFF,
    "联络员": Role.LIAISON,
}


@router.command("invite", aliases=("生成邀请码",), roles=(Role.ADMIN,), summary="help_invite")
async def invite(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/invite staff|liaison|admin [县] [村]``: a one-time code for that role and place."""
    if not msg.args or msg.args[0].lower() not in INVITABLE or len(msg.args) > 3:
        return [Reply("admin/invite_usage", {"days": ctx.settings.limits.invite_days})]
    role = INVITABLE[msg.args[0].lower()]
    county = village = None
    if len(msg.args) >= 2:
        found = ctx.services.regions.county(msg.args[1])
        if found is None:
            return [Reply("fields/county_unknown", {"text": msg.args[1][:20]})]
        county = found.name
    if len(msg.args) == 3:
        village = msg.args[2][:20]
    days = ctx.settings.limits.invite_days
    code, row = await ctx.repos.invites.issue(
        role=role,
        now=ctx.now,
        valid_for=timedelta(days=days),
        county=county,
        village=village,
        created_by=ctx.user.id,
    )
    await ctx.repos.audit.record(
        action="invite.issue",
        target_type="invite",
        target_id=row.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"role": role.value, "county": county, "village": village},
    )
    data = {
        "code": code,
        "role": role.value,
        "county": county,
        "village": village,
        "expires_at": row.expires_at,
    }
    return [Reply("admin/invite_created", data)]
