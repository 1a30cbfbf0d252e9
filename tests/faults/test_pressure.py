"""Faults from outside the process: another process holding SQLite's write lock for 10 s, the
system clock jumping forward and back, and a 2-hour backlog of 3,000 updates waiting at
start-up. After each, the ledger is checked."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from storage.db import Database
from tests.conftest import free_port, issue_invite
from tests.faults.conftest import assert_ledger, hold_sqlite_lock_script, ledger, sqlite_path

BUSY = "系统正忙，请稍后再试。"
CLOCK_SHIM = """
import os
from datetime import timedelta

_path = os.environ.get("CUNZHAN_TEST_CLOCK_OFFSET_FILE")
if _path:
    import bot.clock as _clock

    _system_now = _clock.SystemClock.now

    def _now(self):
        try:
            with open(_path) as handle:
                offset = float(handle.read() or 0)
        except OSError:
            offset = 0.0
        return _system_now(self) + timedelta(seconds=offset)

    _clock.SystemClock.now = _now
"""


async def test_write_lock_held_ten_seconds_by_another_process(fake, bots, database_url) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    proc = await bots.start()
    fake.inject_message(600, "/start")
    await fake.wait_for_sent(1, chat_id=600)
    locker = await asyncio.create_subprocess_exec(
        sys.executable,
        *hold_sqlite_lock_script(sqlite_path(database_url), 10.0),
        stdout=asyncio.subprocess.PIPE,
    )
    assert locker.stdout is not None
    assert (await locker.stdout.readline()).strip() == b"LOCKED"
    locked_at = time.monotonic()
    chats = list(range(601, 606))
    for chat in chats:
        fake.inject_message(chat, "/help")
    url = f"{proc.base_url}/api/message"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"text": "/start"}) as res,
    ):
        assert res.status == 200
        web_reply = (await res.json())["replies"][0]["text"]
    assert "欢迎" in web_reply or web_reply == BUSY
    for chat in chats:
        await fake.wait_for_sent(1, chat_id=chat, timeout=30)
    assert await locker.wait() == 0
    waited = time.monotonic() - locked_at
    assert waited >= 9.5
    for chat in chats:
        [reply] = fake.messages_to(chat)
        assert "可以使用" in reply.text or reply.text == BUSY
    assert_ledger(await ledger(database_url), handled=1 + len(chats))
    handlers = ("cunzhan.turn", "cunzhan.middleware", "cunzhan.telegram", "cunzhan.webchat")
    assert [t for t in bots.tracebacks() if t.get("logger") in handlers] == []


async def test_clock_jumps_forward_and_back(fake, bots, database_url, tmp_path: Path) -> None:
    shim = tmp_path / "clockshim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(CLOCK_SHIM, encoding="utf-8")
    offset = tmp_path / "clock_offset"
    offset.write_text("0")
    port = free_port()
    env = {
        "CUNZHAN_HTTP_PORT": str(port),
        "CUNZHAN_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
        "CUNZHAN_TELEGRAM_WEBHOOK_SECRET": "hook-secret",
        "CUNZHAN_TEST_CLOCK_OFFSET_FILE": str(offset),
    }
    proc = await bots.start(extra_path=shim, **env)
    db = Database(database_url)
    code = await issue_invite(db, "admin", county="郏县")
    await db.dispose()
    assert await fake.post_update_to_webhook(fake.inject_message(620, f"/bind {code}")) == 200
    await fake.wait_for_sent(1, chat_id=620)
    invite = fake.inject_message(620, "/invite staff")
    payload = dict(next(u for u in fake.pending_updates if u["update_id"] == invite))
    assert await fake.post_update_to_webhook(invite) == 200
    await fake.wait_for_sent(2, chat_id=620)

    await asyncio.sleep(0.5)  # the replies are recorded as sent (else a restart resends them)
    offset.write_text(str(3 * 86400))  # three days ahead: handled rows look old
    await proc.kill()
    proc = await bots.start(extra_path=shim, **env)  # start-up purges old handled rows
    assert await fake.post_update_to_webhook(payload) == 200  # a late redelivery
    offset.write_text(str(-86400))  # and a day behind
    assert await fake.post_update_to_webhook(fake.inject_message(620, "/invite liaison")) == 200
    await fake.wait_for_sent(3, chat_id=620)
    await asyncio.sleep(0.5)
    assert len(fake.messages_to(620)) == 3  # the redelivery was recognised
    book = await ledger(database_url)
    assert book["invites"] == 2
    assert_ledger(book, handled=3)
    assert bots.tracebacks() == []


async def test_two_hour_backlog_of_three_thousand_updates(fake, bots, database_url) -> None:
    chats = list(range(10_000, 10_050))
    two_hours_ago = int(time.time()) - 7200
    for round_ in range(60):  # more per person than the flood limit lets through live
        for chat in chats:
            user = {"id": chat, "is_bot": False, "first_name": "测"}
            message = {
                "message_id": round_ + 1,
                "date": two_hours_ago + round_ * 60,
                "chat": {"id": chat, "type": "private", "first_name": "测"},
                "from": user,
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            }
            fake.inject_update({"message": message})
    assert len(fake.pending_updates) == 3000
    started = time.monotonic()
    await bots.start(CUNZHAN_FLOOD_MESSAGES="20")
    await fake.wait_for_sent(3000, timeout=120)
    elapsed = time.monotonic() - started
    per_chat = Counter(m.chat_id for m in fake.sent)
    assert all(per_chat[c] == 60 for c in chats)
    await fake.wait_until(lambda: not fake.pending_updates, what="all confirmed")
    assert_ledger(await ledger(database_url), handled=3000)
    assert bots.tracebacks() == []
    print(f"backlog of 3000 updates drained in {elapsed:.1f}s ({3000 / elapsed:.0f}/s)")
