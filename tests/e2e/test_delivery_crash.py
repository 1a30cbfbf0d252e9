"""kill -9 in the middle of a 2,000-recipient broadcast: after a restart every recipient has
the notice, none twice except at most the rows that were in flight when the process died."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy import func, select

from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import TOKEN, make_env
from tests.e2e.test_broadcasts import populate
from tests.process import BotProcess

RECIPIENTS = 2000
CONCURRENCY = 16
FIRST_CHAT = 500_000


async def confirmed_broadcast(db: Database) -> int:
    from bot.clock import SystemClock
    from storage.repositories import Repositories

    now = SystemClock().now()
    async with db.transaction() as session:
        repos = Repositories.on(session)
        row = await repos.broadcasts.create_draft(
            created_by=None,
            text="防汛紧急通知：请各村做好准备。",
            roles=["household"],
            scope="county",
            region="滑县",
            counties=["滑县"],
            village=None,
            owner_county=None,
            start_at=now,
            now=now,
        )
        assert await repos.broadcasts.confirm(row, now)
        return row.id


async def batch_counts(db: Database, batch_id: int) -> dict[str, int]:
    async with db.transaction() as session:
        stmt = (
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.batch_id == batch_id)
            .group_by(OutboxMessage.status)
        )
        return dict((await session.execute(stmt)).all())


async def test_sigkill_mid_broadcast_loses_nothing_and_repeats_only_in_flight(
    fake, database_url, tmp_path
) -> None:
    db = Database(database_url)
    try:
        await populate(db, RECIPIENTS, county="滑县", channel="telegram", first_address=FIRST_CHAT)
        batch_id = await confirmed_broadcast(db)
        env = make_env(
            database_url,
            CUNZHAN_TELEGRAM_TOKEN=TOKEN,
            CUNZHAN_TELEGRAM_API_URL=fake.base_url,
            CUNZHAN_TELEGRAM_RATE="300",
            CUNZHAN_DELIVERY_CONCURRENCY=str(CONCURRENCY),
            CUNZHAN_DELIVERY_LEASE_S="1.5",
            CUNZHAN_BROADCAST_CHUNK="250",
        )
        first = BotProcess(env, tmp_path)
        await first.start()
        try:
            await fake.wait_until(lambda: len(fake.sent) >= 600, timeout=60, what="600 sends")
        finally:
            await first.kill()
        at_kill = len(fake.sent)
        before = await batch_counts(db, batch_id)
        assert before.get("sent", 0) < RECIPIENTS and before.get("sending", 0) <= CONCURRENCY

        second = BotProcess(env, tmp_path)
        await second.start()
        try:
            deadline = time.monotonic() + 90
            while (await batch_counts(db, batch_id)) != {"sent": RECIPIENTS}:
                assert time.monotonic() < deadline, await batch_counts(db, batch_id)
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)
        finally:
            assert await second.stop() == 0
    finally:
        await db.dispose()
    copies = Counter(m.chat_id for m in fake.sent)
    assert set(copies) == set(range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS))  # none lost
    twice = [chat for chat, n in copies.items() if n > 1]
    assert max(copies.values()) <= 2 and len(twice) <= CONCURRENCY, (at_kill, len(twice))
    assert all(m.text.startswith("【通知】") for m in fake.sent)


async def test_two_processes_share_a_broadcast_and_send_each_row_once(
    fake, database_url, tmp_path
) -> None:
    recipients = 1000
    db = Database(database_url)
    try:
        await populate(db, recipients, county="滑县", channel="telegram", first_address=FIRST_CHAT)
        batch_id = await confirmed_broadcast(db)
        env = make_env(
            database_url,
            CUNZHAN_TELEGRAM_TOKEN=TOKEN,
            CUNZHAN_TELEGRAM_API_URL=fake.base_url,
            # webhook mode: two processes, no competing getUpdates polls
            CUNZHAN_TELEGRAM_WEBHOOK_URL="http://127.0.0.1:9/telegram",
            CUNZHAN_TELEGRAM_WEBHOOK_SECRET="two-processes",
            CUNZHAN_TELEGRAM_RATE="250",
            CUNZHAN_DELIVERY_CONCURRENCY="8",
            CUNZHAN_BROADCAST_CHUNK="100",
        )
        processes = [BotProcess(env, tmp_path / str(n)) for n in range(2)]
        for process in processes:
            process.workdir.mkdir()
            await process.start()
        try:
            deadline = time.monotonic() + 90
            while (await batch_counts(db, batch_id)) != {"sent": recipients}:
                assert time.monotonic() < deadline, await batch_counts(db, batch_id)
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)
        finally:
            for process in processes:
                assert await process.stop() == 0
    finally:
        await db.dispose()
    copies = Counter(m.chat_id for m in fake.sent)
    assert set(copies) == set(range(FIRST_CHAT, FIRST_CHAT + recipients))
    assert set(copies.values()) == {1}
    shares = [sent_by(process) for process in processes]
    assert sum(shares) == recipients and min(shares) > 0, shares  # both took part


def sent_by(process: BotProcess) -> int:
    """The rows a process's worker recorded as sent, from its last log line about it."""
    import json

    [line] = [entry for entry in process.log if '"delivery worker stopped"' in entry]
    return int(json.loads(line)["sent"])
