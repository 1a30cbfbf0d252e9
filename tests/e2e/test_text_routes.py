"""Free text goes to the first router whose matcher accepts it, with that route's roles
checked; what no matcher takes goes to the catch-all (policy questions)."""

from __future__ import annotations

from bot.app import CunzhanApp
from bot.context import Context
from bot.messages import Incoming, Reply
from bot.router import Router
from handlers import policy, start
from storage.models import Role
from tests.factories import ChatDriver, joined


def build_routers() -> list[Router]:
    ledger = Router("ledger")

    @ledger.text(match=lambda text: text.startswith("代销"), roles=(Role.STAFF,))
    async def one_line(msg: Incoming, ctx: Context) -> list[Reply]:
        return [Reply("system/empty")]

    prices = Router("prices")

    @prices.text(match=lambda text: text.endswith("多少钱"))
    async def price(msg: Incoming, ctx: Context) -> list[Reply]:
        return [Reply("system/unknown_command", {"command": "price"})]

    return [start.router, ledger, prices, policy.router]


async def test_matchers_then_roles_then_catch_all(database_url, settings_for, clock) -> None:
    app = CunzhanApp(settings_for(database_url), clock=clock, routers=build_routers())
    try:
        chat = ChatDriver(app.dispatcher)
        assert "/price" in joined(await chat.say("苹果多少钱"))
        assert "没有使用这项功能的权限" in joined(await chat.say("代销 苹果 200斤"))
        free = joined(await chat.say("服务站建设有什么标准"))
        assert free and "/price" not in free and "权限" not in free
    finally:
        await app.db.dispose()
