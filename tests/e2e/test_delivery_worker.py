"""The delivery worker on a real database with a recording channel at the network edge:
its pace under a rate limit, per-chat spacing, priorities, two workers sharing a queue,
reply windows (held rows), retries and a clean stop."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select, update

from bot.channels.base import Capabilities, DeliveryResult, DeliveryStatus
from bot.clock import SystemClock
from bot.messages import Rendered
from bot.settings import DeliveryConfig
from scheduler.delivery import DeliverySettings, DeliveryWorker
from storage.db import Database
from storage.models import Identity, OutboxMessage, Priority
from storage.repositories import Repositories

CAPS = Capabilities(buttons=True, max_text_chars=4000, messages_per_second=0)


class Recorder:
    """Records each send with its time; ``script`` maps an address to results to return."""

    name = "test"

    def __init__(self, capabilities: Capabilities = CAPS, delay: float = 0.0) -> None:
        self.capabilities = capabilities
        self.delay = delay
        self.sent: list[tuple[str, str, float]] = []
        self.script: dict[str, list[DeliveryResult]] = {}

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        queued = self.script.get(address)
        if queued:
            return queued.pop(0)
        self.sent.append((address, rendered.text, time.monotonic()))
        return DeliveryResult(DeliveryStatus.SENT)


async def enqueue(db: Database, rows: list[dict]) -> None:
    now = SystemClock().now()
    async with db.transaction() as session:
        await Repositories.on(session).outbox.enqueue_many(
            [{"user_id": None, "channel": "test", "now": now, "kind": "t", **r} for r in rows]
        )


def worker(db: Database, channel: Recorder, **settings) -> DeliveryWorker:
    config = settings.pop("config", DeliveryConfig())
    base = replace(DeliverySettings(), idle_poll_s=0.05, **settings)
    return DeliveryWorker(db, {"test": channel}, SystemClock(), base, config=config)


async def run_until(w: DeliveryWorker, condition, timeout: float = 15.0) -> None:
    task = asyncio.create_task(w.run())
    try:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            assert not task.done(), task
            await asyncio.sleep(0.02)
    finally:
        w.stop()
        await task


async def statuses(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        return await Repositories.on(session).outbox.counts()


async def test_rate_limit_paces_sends(db: Database) -> None:
    channel = Recorder(replace(CAPS, messages_per_second=50.0))
    await enqueue(db, [{"address": f"a{n}", "text": str(n)} for n in range(100)])
    w = worker(db, channel)
    await run_until(w, lambda: len(channel.sent) == 100)
    times = [t for _, _, t in channel.sent]
    elapsed = times[-1] - times[0]
    assert 0.95 <= elapsed <= 6.0  # a burst of 50, then 50 more at 50 per second
    for start in times:  # never faster than the pace after the burst (some slack for load)
        assert sum(1 for t in times if start + 0.1 <= t < start + 0.6) <= 25 + 15
    assert await statuses(db) == {"sent": 100}


async def test_one_chat_gets_at_most_one_message_a_second(db: Database) -> None:
    channel = Recorder(replace(CAPS, per_chat_per_second=1.0))
    await enqueue(db, [{"address": "same", "text": str(n)} for n in range(3)])
    await enqueue(db, [{"address": f"x{n}", "text": "other"} for n in range(3)])
    w = worker(db, channel)
    await run_until(w, lambda: len(channel.sent) == 6)
    same = [t for a, _, t in channel.sent if a == "same"]
    assert [round(b - a, 1) >= 0.9 for a, b in itertools.pairwise(same)] == [True, True]
    assert [text for a, text, _ in channel.sent if a == "same"] == ["0", "1", "2"]
    assert await statuses(db) == {"sent": 6}
    async with db.transaction() as session:
        attempts = list(await session.scalars(select(OutboxMessage.attempts)))
    assert attempts == [1] * 6  # a row put back for its chat's turn was not an attempt


async def test_direct_messages_overtake_a_bulk_broadcast(db: Database) -> None:
    channel = Recorder(replace(CAPS, messages_per_second=40.0))
    await enqueue(
        db, [{"address": f"b{n}", "text": "bulk", "priority": Priority.BULK} for n in range(80)]
    )
    w = worker(db, channel, concurrency=4)
    task = asyncio.create_task(w.run())
    try:
        while len(channel.sent) < 45:
            await asyncio.sleep(0.01)
        await enqueue(db, [{"address": "d", "text": "direct", "priority": Priority.DIRECT}])
        queued_at = len(channel.sent)
        w.wake()
        while len(channel.sent) < 81:
            await asyncio.sleep(0.01)
    finally:
        w.stop()
        await task
    position = [a for a, _, _ in channel.sent].index("d")
    assert queued_at <= position <= queued_at + 4 + 1  # after the rows already in flight


async def test_two_workers_never_send_the_same_row(database_url: str) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        await enqueue(first, [{"address": f"a{n}", "text": str(n)} for n in range(300)])
        one, two = Recorder(delay=0.002), Recorder(delay=0.002)
        w1, w2 = worker(first, one, concurrency=8), worker(second, two, concurrency=8)
        t1, t2 = asyncio.create_task(w1.run()), asyncio.create_task(w2.run())
        deadline = time.monotonic() + 30
        while len(one.sent) + len(two.sent) < 300 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        w1.stop(), w2.stop()
        await asyncio.gather(t1, t2)
        addresses = [a for a, _, _ in one.sent + two.sent]
        assert len(addresses) == len(set(addresses)) == 300
        assert one.sent and two.sent
        assert await statuses(first) == {"sent": 300}
    finally:
        await first.dispose()
        await second.dispose()


async def test_rows_outside_the_reply_window_are_held_until_the_person_writes(db) -> None:
    channel = Recorder(replace(CAPS, reply_window_s=48 * 3600))
    channel.name = "test"
    now = SystemClock().now()
    async with db.transaction() as session:
        repos = Repositories.on(session)
        await repos.users.create("test", "old", "老王", now - timedelta(hours=49))
        await repos.users.create("test", "new", "小李", now - timedelta(hours=1))
    await enqueue(db, [{"address": "old", "text": "a"}, {"address": "new", "text": "b"}])
    w = worker(db, channel, lease=timedelta(seconds=0.6))
    task = asyncio.create_task(w.run())
    try:
        while len(channel.sent) < 1:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert [a for a, _, _ in channel.sent] == ["new"]
        assert await statuses(db) == {"sent": 1, "held": 1}
        async with db.transaction() as session:
            await session.execute(
                update(Identity).where(Identity.external_id == "old").values(last_seen_at=now)
            )
        deadline = time.monotonic() + 5
        while len(channel.sent) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        w.stop()
        await task
    assert [a for a, _, _ in channel.sent] == ["new", "old"]
    assert await statuses(db) == {"sent": 2}


async def test_retries_back_off_then_fail_and_blocked_people_are_marked(db: Database) -> None:
    channel = Recorder()
    now = SystemClock().now()
    async with db.transaction() as session:
        await Repositories.on(session).users.create("test", "gone", "走了", now)
    retry = DeliveryResult(DeliveryStatus.RETRY, error="502")
    channel.script = {
        "flaky": [retry],
        "broken": [retry, retry, retry],
        "gone": [DeliveryResult(DeliveryStatus.BLOCKED, error="403")],
        "lost": [DeliveryResult(DeliveryStatus.UNKNOWN, error="timed out")],
    }
    await enqueue(db, [{"address": a, "text": a} for a in ("flaky", "broken", "gone", "lost")])
    w = worker(db, channel, base_backoff_s=0.05, max_attempts=3)
    await run_until(w, lambda: not channel.script["broken"] and len(channel.sent) == 1)
    await asyncio.sleep(0.1)
    async with db.transaction() as session:
        rows = {r.address: r for r in await session.scalars(select(OutboxMessage))}
        repos = Repositories.on(session)
        gone = await repos.users.by_identity("test", "gone")
        assert await repos.users.reachable_identity(gone.id) is None
    assert (rows["flaky"].status, rows["flaky"].attempts) == ("sent", 2)
    assert (rows["broken"].status, rows["broken"].attempts) == ("failed", 3)
    assert rows["gone"].status == "blocked" and rows["lost"].status == "unknown"
    assert [a for a, _, _ in channel.sent] == ["flaky"]  # the timed-out row was not resent


async def test_stopping_puts_back_rows_still_waiting_for_their_turn(db: Database) -> None:
    channel = Recorder(replace(CAPS, messages_per_second=5.0))
    await enqueue(db, [{"address": f"a{n}", "text": str(n)} for n in range(20)])
    w = worker(db, channel, concurrency=20)
    await run_until(w, lambda: len(channel.sent) >= 5)
    counts = await statuses(db)
    assert counts == {"sent": len(channel.sent), "pending": 20 - len(channel.sent)}
    async with db.transaction() as session:
        pending = await session.scalars(
            select(OutboxMessage.attempts).where(OutboxMessage.status == "pending")
        )
        assert set(pending) == {0}


class TemplateRecorder(Recorder):
    """A channel with a reply window and template messages for people outside it."""

    def __init__(self, configured: bool) -> None:
        super().__init__(replace(CAPS, reply_window_s=48 * 3600))
        self.configured = configured
        self.templates: list[str] = []

    def can_send_outside_window(self) -> bool:
        return self.configured

    async def send_outside_window(self, address: str, rendered: Rendered) -> DeliveryResult:
        self.templates.append(address)
        return DeliveryResult(DeliveryStatus.SENT)


async def test_a_template_reaches_people_outside_the_window_when_configured(db) -> None:
    now = SystemClock().now()
    async with db.transaction() as session:
        repos = Repositories.on(session)
        await repos.users.create("test", "old", "老王", now - timedelta(hours=49))
        await repos.users.create("test", "new", "小李", now - timedelta(hours=1))
    rows = [{"address": "old", "text": "a"}, {"address": "new", "text": "b"}]
    await enqueue(db, rows)
    unconfigured = TemplateRecorder(configured=False)
    await run_until(worker(db, unconfigured), lambda: len(unconfigured.sent) == 1)
    assert unconfigured.templates == [] and await statuses(db) == {"sent": 1, "held": 1}
    await enqueue(db, [{**r, "dedupe_key": f"again-{r['address']}"} for r in rows])
    configured = TemplateRecorder(configured=True)
    w = worker(db, configured)
    await run_until(w, lambda: len(configured.sent) == 1 and configured.templates == ["old"])
    assert await statuses(db) == {"sent": 3, "held": 1}
