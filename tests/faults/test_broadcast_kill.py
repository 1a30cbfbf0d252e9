"""SIGKILL in the middle of a 5,000-recipient broadcast sent through the fake Bot API server,
then a restart: every recipient has the notice, at most the rows in flight at the kill (no
more than the worker's concurrency) twice, none lost; the ledger balances."""

from __future__ import annotations

import time
from collections import Counter

from storage.db import Database
from tests.e2e.test_broadcasts import populate
from tests.e2e.test_delivery_crash import batch_counts, confirmed_broadcast
from tests.faults.conftest import SETTLED_OUTBOX, ledger, wait_for

RECIPIENTS = 5000
CONCURRENCY = 16
FIRST_CHAT = 700_000


async def test_sigkill_mid_broadcast_of_five_thousand(fake, bots, database_url) -> None:
    db = Database(database_url)
    try:
        await populate(db, RECIPIENTS, county="滑县", channel="telegram", first_address=FIRST_CHAT)
        batch_id = await confirmed_broadcast(db)
        env = {
            "CUNZHAN_TELEGRAM_RATE": "2000",
            "CUNZHAN_DELIVERY_CONCURRENCY": str(CONCURRENCY),
            "CUNZHAN_DELIVERY_LEASE_S": "1.0",
            "CUNZHAN_BROADCAST_CHUNK": "500",
        }
        first = await bots.start(**env)
        await fake.wait_until(lambda: len(fake.sent) >= 1500, timeout=60, what="1,500 sends")
        await first.kill()
        at_kill = len(fake.sent)
        before = await batch_counts(db, batch_id)
        assert 0 < before.get("sent", 0) < RECIPIENTS, before  # killed mid-way
        assert before.get("sending", 0) <= CONCURRENCY, before
        assert sum(before.values()) <= RECIPIENTS, before

        second = await bots.start(**env)
        started = time.monotonic()

        async def settled() -> bool:
            counts = await batch_counts(db, batch_id)
            return sum(counts.get(s, 0) for s in SETTLED_OUTBOX) == RECIPIENTS

        await wait_for(settled, timeout=90, what="every row settled", every=0.2)
        assert await second.stop() == 0
        after = await batch_counts(db, batch_id)
    finally:
        await db.dispose()
    # Ledger: one outbox row per recipient, each settled; sent+failed+blocked+unknown.
    assert sum(after.values()) == RECIPIENTS, after
    assert set(after) <= {"sent", "failed", "blocked", "unknown"}, after
    assert after.get("sent", 0) >= RECIPIENTS - CONCURRENCY, after
    book = await ledger(database_url)
    created = sum(book["outbox"].values())
    assert created == sum(book["outbox"].get(s, 0) for s in SETTLED_OUTBOX), book
    assert book["inbox"] == {} and book["integrity"] == "ok", book
    copies = Counter(m.chat_id for m in fake.sent)
    expected = set(range(FIRST_CHAT, FIRST_CHAT + RECIPIENTS))
    assert set(copies) == expected  # none lost
    twice = [chat for chat, n in copies.items() if n > 1]
    assert max(copies.values()) <= 2 and len(twice) <= CONCURRENCY, (at_kill, len(twice))
    assert all(m.text.startswith("【通知】") for m in fake.sent)
    assert bots.tracebacks() == [], bots.tracebacks()[:3]
    print(f"killed at {at_kill} sends; resent {len(twice)}; {time.monotonic() - started:.1f}s")
