"""/start, /help and the role-specific menu."""

from __future__ import annotations

from bot.context import Context
from bot.messages import Incoming, Option, Reply
from bot.router import Router

router = Router("start")
router.menu("menu_help", "/help", order=90)


def menu_options(ctx: Context) -> tuple[Option, ...]:
    return tuple(
        Option(entry.label, entry.command) for entry in ctx.services.catalog.menu_for(ctx.role)
    )


@router.command("start", "menu", aliases=("开始", "菜单", "主菜单"), summary="help_start")
async def start(msg: Incoming, ctx: Context) -> list[Reply]:
    """Greet the person and show the menu for their role."""
    template = "start/welcome" if ctx.is_new_user else "start/menu"
    data = {"name": ctx.user.display_name, "role": ctx.user.role}
    return [Reply(template, data, menu_options(ctx))]


@router.command("help", aliases=("帮助",), summary="help_help")
async def help_(msg: Incoming, ctx: Context) -> list[Reply]:
    """List what this person's role can do."""
    commands = [
        {"command": name, "summary": summary}
        for name, summary in ctx.services.catalog.help_for(ctx.role)
    ]
    return [Reply("start/help", {"role": ctx.user.role, "commands": commands})]
