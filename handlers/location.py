"""A shared location (WeChat's 位置, Telegram's location): acknowledged, and the county in
its address suggested as the person's county, set with one choice."""

from __future__ import annotations

from bot.context import Context
from bot.messages import ContentKind, Incoming, Option, Reply
from bot.router import Router

router = Router("location")


@router.kind(ContentKind.LOCATION)
async def shared_location(msg: Incoming, ctx: Context) -> list[Reply]:
    """Suggest the county named in the location's address (WeChat sends it as a label)."""
    found = ctx.services.regions.find_in(msg.text) if msg.text else []
    if len(found) != 1:
        return [Reply("location/unknown_place", {"label": msg.text})]
    county = found[0]
    if ctx.user.county == county.name:
        return [Reply("location/same_county", {"county": county.name})]
    choice = Option("location_set_county", f"loc:{county.name}", {"county": county.name})
    data = {"label": msg.text, "county": county.name, "city": county.city}
    return [Reply("location/suggest", data, (choice,))]


@router.option("loc")
async def set_county(msg: Incoming, ctx: Context) -> list[Reply]:
    """Set the suggested county (the option is signed, the name is checked again)."""
    county = ctx.services.regions.county((msg.option or "").split(":", 1)[1])
    if county is None:
        return [Reply("system/stale_option")]
    user = ctx.user
    before = user.county
    village_cleared = before != county.name and user.village is not None
    user.county = county.name
    if village_cleared:
        user.village = None
    if before != county.name:
        await ctx.repos.audit.record(
            action="profile.update",
            target_type="user",
            target_id=user.id,
            at=ctx.now,
            actor_id=user.id,
            details={"changed": ["county"], "via": "location"},
        )
    return [
        Reply("location/county_set", {"county": county.name, "village_cleared": village_cleared})
    ]
