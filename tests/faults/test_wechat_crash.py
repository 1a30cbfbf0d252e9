"""SIGKILL while a slow WeChat handler runs after WeChat was already answered "success":
WeChat will not send the message again, so the restarted process must handle it from the
inbox, once, and send its reply once as a customer-service message."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from storage.db import Database
from storage.models import AuditEntry, OutboxMessage
from tests.e2e.test_wechat import wechat_env
from tests.fakes.wechat_peer import FakeWechatApi, WechatPeer
from tests.faults.conftest import ledger, wait_for

# /mydata takes a minute in the first process (its transaction open, not yet committed)
# and writes a marker once it is under way; the restarted process runs it normally.
SLOW_SHIM = """
import os

_marker = os.environ.get("CUNZHAN_TEST_SLOW_MARKER")
if _marker:
    import asyncio
    import bot.dispatcher as _dispatcher

    _route = _dispatcher.Dispatcher._route

    async def _slow_route(self, turn, ctx):
        if turn.incoming.command == "mydata":
            with open(_marker, "w") as handle:
                handle.write("started")
            await asyncio.sleep(60)
        return await _route(self, turn, ctx)

    _dispatcher.Dispatcher._route = _slow_route
"""


async def test_kill_during_a_slow_wechat_handler_after_success(
    fake, bots, database_url, tmp_path: Path
) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SLOW_SHIM, encoding="utf-8")
    marker = tmp_path / "slow-started"
    openid = "o-killed"
    async with FakeWechatApi() as api:
        env = {**wechat_env(api, budget_ms=500), "CUNZHAN_DELIVERY_LEASE_S": "2"}
        proc = await bots.start(extra_path=shim, CUNZHAN_TEST_SLOW_MARKER=str(marker), **env)
        async with WechatPeer(f"{proc.base_url}/wechat") as peer:
            assert "欢迎" in await peer.say(openid, "/start")  # answered in the HTTP reply
            answer = await peer.post(peer.text(openid, "/mydata"))
        assert answer.status == 200 and answer.body == "success"  # WeChat is done with it
        await wait_for(marker.exists, timeout=10, what="the slow handler started")
        await proc.kill()
        assert api.to(openid) == []

        await bots.start(extra_path=shim, **env)
        sent = await api.wait_for_sent(1, touser=openid, timeout=20)
        assert "身份" in sent[0]
        await asyncio.sleep(1.0)  # nothing more arrives
        assert len(api.to(openid)) == 1
        assert api.errors == []

    book = await ledger(database_url)
    assert book["inbox"] == {"handled": 2}, book
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            views = await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "privacy.view")
            )
            replies = list(
                (
                    await session.execute(
                        select(OutboxMessage.status).where(OutboxMessage.address == openid)
                    )
                ).scalars()
            )
    finally:
        await db.dispose()
    assert views == 1  # the message was handled (committed) once
    assert replies == ["sent"]
    assert bots.tracebacks() == []
