"""Messages the bot sends on its own: written to the outbox in a transaction, delivered by
the running worker through the real channel (Telegram via the fake Bot API server, the web
chat's event stream), with retries, blocked users and signed buttons."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.messages import Option, Reply
from storage.models import OutboxMessage
from storage.repositories import Repositories
from tests.factories import WebChatClient


async def notify(app, external_id: str, channel: str, reply: Reply, **extra) -> int | None:
    async with app.db.transaction() as session:
        repos = Repositories.on(session)
        user = await repos.users.by_identity(channel, external_id)
        assert user is not None
        row = await app.notifier.send(
            repos, user.id, reply, now=app.clock.now(), kind="test", **extra
        )
    app.delivery.wake()
    return row


async def wait_status(app, row_id: int, status: str, timeout: float = 10.0) -> OutboxMessage:
    for _ in range(int(timeout / 0.05)):
        row = await outbox_row(app, row_id)
        if row.status == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox row {row_id} is {row.status}, not {status}")


async def outbox_row(app, row_id: int) -> OutboxMessage:
    async with app.db.transaction() as session:
        return (
            await session.execute(select(OutboxMessage).where(OutboxMessage.id == row_id))
        ).scalar_one()


async def test_pushed_message_arrives_with_a_working_button(fake, telegram_app) -> None:
    fake.inject_message(901, "/start")
    await fake.wait_for_sent(1, chat_id=901)
    reply = Reply("profile/bind_usage", {}, (Option("menu_me", "/me"),))
    row_id = await notify(telegram_app, "901", "telegram", reply, dedupe_key="once")
    assert await notify(telegram_app, "901", "telegram", reply, dedupe_key="once") is None
    sent = await fake.wait_for_sent(2, chat_id=901)
    [[(_label, data)]] = fake.buttons(sent[1])
    fake.inject_callback(901, data)
    after = await fake.wait_for_sent(3, chat_id=901)
    assert "身份：农户" in after[2].text
    row = await wait_status(telegram_app, row_id, "sent")
    assert row.attempts == 1 and row.sent_at is not None


async def test_rate_limited_send_is_retried_after_retry_after(fake, telegram_app) -> None:
    fake.inject_message(902, "/start")
    await fake.wait_for_sent(1, chat_id=902)
    fake.fail_next("sendMessage", status=429, retry_after=1)
    row_id = await notify(telegram_app, "902", "telegram", Reply("profile/bind_usage"))
    await fake.wait_for_sent(2, chat_id=902, timeout=10)
    row = await wait_status(telegram_app, row_id, "sent")
    assert row.attempts == 2


async def test_blocked_user_is_marked_unreachable(fake, telegram_app) -> None:
    fake.inject_message(903, "/start")
    await fake.wait_for_sent(1, chat_id=903)
    fake.block_chat(903)
    row_id = await notify(telegram_app, "903", "telegram", Reply("profile/bind_usage"))
    await wait_status(telegram_app, row_id, "blocked")
    assert await notify(telegram_app, "903", "telegram", Reply("profile/bind_usage")) is None
    fake.unblock_chat(903)
    fake.inject_message(903, "/me")
    await fake.wait_for_sent(2, chat_id=903)
    assert await notify(telegram_app, "903", "telegram", Reply("profile/bind_usage")) is not None


async def test_webchat_receives_pushes_on_its_event_stream(app) -> None:
    client = WebChatClient(f"http://127.0.0.1:{app.http_port}")
    try:
        await client.open()
        await client.say("/start")
        async with app.db.transaction() as session:
            from storage.models import Identity

            identity = (
                await session.execute(select(Identity).where(Identity.channel == "webchat"))
            ).scalar_one()
            external_id = identity.external_id
        await notify(app, external_id, "webchat", Reply("profile/bind_usage"))
        async with client.session.get(client.base_url + "/api/events?after=0") as response:
            events = (await response.json())["events"]
        assert len(events) == 1 and "/bind" in events[0]["text"]
    finally:
        await client.close()


async def test_server_errors_are_retried_with_backoff(fake, telegram_app) -> None:
    fake.inject_message(904, "/start")
    await fake.wait_for_sent(1, chat_id=904)
    fake.fail_next("sendMessage", status=502)
    row_id = await notify(telegram_app, "904", "telegram", Reply("profile/bind_usage"))
    row = await wait_status(telegram_app, row_id, "sent", timeout=15)
    assert row.attempts == 2 and len(fake.messages_to(904)) == 2


async def test_a_timed_out_send_is_unknown_and_never_sent_again(fake, telegram_app) -> None:
    fake.inject_message(905, "/start")
    await fake.wait_for_sent(1, chat_id=905)
    fake.fail_next("sendMessage", status=200, delay=5.5)  # answered after the read timeout
    row_id = await notify(telegram_app, "905", "telegram", Reply("profile/bind_usage"))
    row = await wait_status(telegram_app, row_id, "unknown", timeout=15)
    await asyncio.sleep(1.0)
    assert row.attempts == 1 and "Timed out" in (row.error or "")
    # the slow answer did deliver it: exactly once, never resent
    assert len(fake.messages_to(905)) == 2
    assert (await outbox_row(telegram_app, row_id)).status == "unknown"


async def test_bulk_rows_go_as_paid_broadcasts_when_a_paid_rate_is_set(
    fake, database_url, settings_for
) -> None:
    from bot.app import CunzhanApp
    from storage.models import Priority
    from tests.conftest import TOKEN

    settings = settings_for(
        database_url,
        CUNZHAN_TELEGRAM_TOKEN=TOKEN,
        CUNZHAN_TELEGRAM_API_URL=fake.base_url,
        CUNZHAN_TELEGRAM_PAID_RATE="500",
    )
    app = CunzhanApp(settings)
    await app.start()
    try:
        fake.inject_message(906, "/start")
        await fake.wait_for_sent(1, chat_id=906)
        bulk = await notify(
            app, "906", "telegram", Reply("profile/bind_usage"), priority=Priority.BULK
        )
        await wait_status(app, bulk, "sent")
        direct = await notify(app, "906", "telegram", Reply("profile/bind_usage"))
        await wait_status(app, direct, "sent")
    finally:
        await app.stop()
    sends = [p for m, p in fake.requests if m == "sendMessage" and p.get("chat_id") == 906]
    assert [p.get("allow_paid_broadcast") for p in sends] == [None, True, None]
