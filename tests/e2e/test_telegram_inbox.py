"""The Telegram inbox through the fake Bot API server: an update is committed before it is
confirmed to Telegram, handled once however often it comes, and what a crash left undone is
done at start-up (tests/faults/ does the same with real processes and SIGKILL)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import storage.db
from bot.app import CunzhanApp
from storage.models import InboxStatus
from storage.repositories import Repositories
from tests.conftest import TOKEN, free_port
from tests.locks import write_lock


def message_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "测"}
    chat = {"id": chat_id, "type": "private", "first_name": "测"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


async def inbox_counts(app: CunzhanApp) -> dict[str, int]:
    async with app.db.transaction() as session:
        return await Repositories.on(session).inbox.counts("telegram")


async def test_update_is_not_confirmed_until_committed(
    fake, telegram_app, database_url, monkeypatch
) -> None:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    fake.inject_message(81, "/start")
    await fake.wait_for_sent(1, chat_id=81)
    async with write_lock(database_url):
        fake.inject_message(81, "/help")
        await asyncio.sleep(2.0)
        # fetched, but its commit could not happen: Telegram still holds it
        assert [u["message"]["text"] for u in fake.pending_updates] == ["/help"]
        assert len(fake.messages_to(81)) == 1
    await fake.wait_for_sent(2, chat_id=81, timeout=15)
    await fake.wait_until(lambda: not fake.pending_updates, what="confirmation")
    counts = await inbox_counts(telegram_app)
    assert counts == {InboxStatus.HANDLED.value: 2}


async def webhook_app(fake, database_url, settings_for) -> tuple[CunzhanApp, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = settings_for(
        database_url,
        CUNZHAN_HTTP_PORT=str(port),
        CUNZHAN_TELEGRAM_TOKEN=TOKEN,
        CUNZHAN_TELEGRAM_API_URL=fake.base_url,
        CUNZHAN_TELEGRAM_WEBHOOK_URL=url,
        CUNZHAN_TELEGRAM_WEBHOOK_SECRET="hook-secret",
    )
    app = CunzhanApp(settings)
    await app.start()
    return app, url


async def test_redelivered_update_is_handled_once_by_update_id(
    fake, database_url, settings_for
) -> None:
    app, _ = await webhook_app(fake, database_url, settings_for)
    start, help_ = message_update(1000, 91, "/start"), message_update(5, 91, "/help")
    try:
        assert await fake.post_update_to_webhook(start) == 200
        assert await fake.post_update_to_webhook(start) == 200
        await fake.wait_for_sent(1, chat_id=91)
        # a lower id than any seen is still new (Telegram restarts ids after a quiet week)
        assert await fake.post_update_to_webhook(help_) == 200
        await fake.wait_for_sent(2, chat_id=91)
        assert await fake.post_update_to_webhook(help_) == 200
        await asyncio.sleep(0.5)
        assert len(fake.messages_to(91)) == 2
        # the same id handed out again for another update is that other update
        assert await fake.post_update_to_webhook(message_update(5, 91, "/me")) == 200
        [*_, me] = await fake.wait_for_sent(3, chat_id=91)
        assert "身份" in me.text
        assert await inbox_counts(app) == {InboxStatus.HANDLED.value: 3}
    finally:
        await app.stop()


async def test_webhook_is_not_acknowledged_when_the_inbox_cannot_commit(
    fake, database_url, settings_for, monkeypatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL waits for the lock instead of reporting it")
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    app, _ = await webhook_app(fake, database_url, settings_for)
    update = message_update(7, 92, "/start")
    try:
        async with write_lock(database_url):
            status = await fake.post_update_to_webhook(update)
        assert status == 503
        assert fake.messages_to(92) == []
        assert await fake.post_update_to_webhook(update) == 200
        await fake.wait_for_sent(1, chat_id=92)
    finally:
        await app.stop()


async def test_start_up_handles_what_a_crash_left_in_the_inbox(
    fake, database_url, settings_for, clock
) -> None:
    settings = settings_for(
        database_url, CUNZHAN_TELEGRAM_TOKEN=TOKEN, CUNZHAN_TELEGRAM_API_URL=fake.base_url
    )
    app = CunzhanApp(settings)
    async with app.db.transaction() as session:
        inbox = Repositories.on(session).inbox
        # received, never handled
        await inbox.add("telegram", "501", message_update(501, 93, "/start"), clock.now())
        # handled, replies kept but never sent
        done = await inbox.add("telegram", "502", message_update(502, 94, "/help"), clock.now())
        assert done is not None
        await inbox.claim(done, now=clock.now())
        await inbox.keep_replies(done, [{"text": "补发的回复", "options": []}])
    await app.start()
    try:
        [menu] = await fake.wait_for_sent(1, chat_id=93)
        assert "欢迎使用" in menu.text
        [again] = await fake.wait_for_sent(1, chat_id=94)
        assert again.text == "补发的回复"

        async def settled() -> bool:
            async with app.db.transaction() as session:
                return not await Repositories.on(session).inbox.unsent_replies("telegram")

        for _ in range(50):
            if await settled():
                break
            await asyncio.sleep(0.1)
        assert await settled()
        assert await inbox_counts(app) == {InboxStatus.HANDLED.value: 2}
    finally:
        await app.stop()


async def test_webhook_before_start_is_not_acknowledged(database_url, settings_for) -> None:
    from aiohttp.test_utils import make_mocked_request

    from bot.channels.telegram import SECRET_HEADER, TelegramChannel
    from storage.db import Database

    settings = settings_for(
        database_url,
        CUNZHAN_TELEGRAM_TOKEN=TOKEN,
        CUNZHAN_TELEGRAM_WEBHOOK_URL="http://127.0.0.1:1/telegram/hook",
        CUNZHAN_TELEGRAM_WEBHOOK_SECRET="hook-secret",
    )
    db = Database(database_url)
    try:
        channel = TelegramChannel(settings.telegram, db)
        request = make_mocked_request(
            "POST", "/telegram/hook", headers={SECRET_HEADER: "hook-secret"}
        )
        assert (await channel.webhook(request)).status == 503
        async with db.transaction() as session:
            assert await Repositories.on(session).inbox.counts() == {}
    finally:
        await db.dispose()


async def test_a_cancelled_turn_leaves_its_row_to_the_next_start(
    database_url, settings_for, clock
) -> None:
    from bot.messages import Reply
    from bot.router import Router
    from tests.factories import incoming

    entered = asyncio.Event()
    slow = Router("slow")

    @slow.command("slow")
    async def slow_handler(msg, ctx):
        entered.set()
        await asyncio.sleep(30)
        return [Reply("system/empty")]

    app = CunzhanApp(settings_for(database_url), clock=clock, routers=(slow,))
    try:
        async with app.db.transaction() as session:
            row = await Repositories.on(session).inbox.add("telegram", "1", {}, clock.now())
        task = asyncio.create_task(app.dispatcher.handle(incoming("/slow"), inbox_id=row))
        await entered.wait()
        task.cancel()  # the process is stopping
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await inbox_counts(app) == {InboxStatus.RECEIVED.value: 1}
        await app.dispatcher.handle(incoming("/help"), inbox_id=row)
        assert await inbox_counts(app) == {InboxStatus.HANDLED.value: 1}
    finally:
        await app.db.dispose()
