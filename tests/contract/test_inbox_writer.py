"""The channel inbox's group commit on both engines: records are committed before
``record`` returns, duplicates are recognised, and a finish queued before a retry's
record is seen by it (or a retry would look like a message a dead process left)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bot.channels.inbox_writer import InboxWriter
from bot.clock import ManualClock
from storage.models import InboxStatus
from storage.repositories import Repositories


async def test_group_commit_dedupes_and_orders_finishes_first(db) -> None:
    writer = InboxWriter(db, "wechat", ManualClock(datetime(2026, 11, 2, tzinfo=UTC)))
    writer.start()
    try:
        first = await writer.record("m1", {"n": 1})
        assert first.new
        async with db.transaction() as session:
            assert await Repositories.on(session).inbox.get("wechat", "m1") is not None
        finished = asyncio.ensure_future(writer.finish(first.item_id, InboxStatus.HANDLED))
        retry = await writer.record("m1", {"n": 1})  # same batch as the finish
        assert await finished
        assert (retry.new, retry.status, retry.item_id) == (False, "handled", first.item_id)
        many = await asyncio.gather(*(writer.record(f"k{i % 5}", {}) for i in range(20)))
        assert sum(r.new for r in many) == 5
        assert len({r.item_id for r in many}) == 5
    finally:
        await writer.stop()
    async with db.transaction() as session:
        assert await Repositories.on(session).inbox.unhandled("wechat") != []
