"""How long posting an information item takes when it reaches many subscribers, and how
long its fan-out takes: the poster's transaction (``handlers.info.save_item``'s writes: the
item, its audience count, the audit entry) commits the item waiting for the background
fan-out (scheduler/fanout.py), which then writes one outbox row per subscriber in chunks of
its own transactions. Also: a second post made while that fan-out runs (how long a writer
waits for a chunk), the longest write transaction of each phase, and the daily price digest
job (one digest per subscriber, pages of ``scheduler.jobs.info.PAGE`` per transaction).

    .venv/bin/python -m bench.info_fanout [--subscribers 20000] [--database-url URL]
                                          [--chunk 500]

Default: a fresh SQLite file. The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.notify import Notifier
from bot.render import Renderer, build_environment
from bot.settings import normalise_database_url
from bot.tokens import OptionSigner
from content.regions import Gazetteer
from handlers.info import publish
from scheduler.fanout import Fanout
from scheduler.jobs.base import JobRuntime
from scheduler.jobs.info import price_digest
from storage import migrate
from storage.base import Base
from storage.db import Database
from storage.models import Identity, InfoItem, Subscription, User
from storage.repositories import Repositories

NOW = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


async def seed(db: Database, count: int) -> None:
    async with db.transaction() as session:
        for start in range(0, count, 2000):
            ids = range(start + 1, min(count, start + 2000) + 1)
            await session.execute(
                insert(User),
                [
                    {
                        "id": i,
                        "display_name": f"u{i}",
                        "role": "household",
                        "county": "灵宝市",
                        "created_at": NOW,
                        "updated_at": NOW,
                        "bind_failures": 0,
                    }
                    for i in ids
                ],
            )
            await session.execute(
                insert(Identity),
                [
                    {
                        "user_id": i,
                        "channel": "telegram",
                        "external_id": str(i),
                        "created_at": NOW,
                        "last_seen_at": NOW,
                    }
                    for i in ids
                ],
            )
            for topic, digest in (("agri", None), ("price", "12:00")):
                await session.execute(
                    insert(Subscription),
                    [
                        {
                            "user_id": i,
                            "topic": topic,
                            "scope": "province",
                            "digest_time": digest,
                            "created_at": NOW,
                            "updated_at": NOW,
                        }
                        for i in ids
                    ],
                )
        if db.engine.dialect.name == "postgresql":
            await session.execute(text("SELECT setval('users_id_seq', :n)"), {"n": count})
        repos = Repositories.on(session)
        for back in range(2):
            await repos.prices.record(
                product="苹果",
                market="灵宝市",
                county="灵宝市",
                city="三门峡市",
                price_fen=320 + back,
                unit="斤",
                observed_on=date(2026, 11, 2) - timedelta(back),
                source="import",
                now=NOW,
            )


class TimedDatabase(Database):
    """Records how long each transaction stays open (a write holds SQLite's writer lock)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.held: list[float] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        started = time.perf_counter()
        async with super().transaction() as session:
            yield session
        self.held.append(time.perf_counter() - started)

    def longest(self) -> float:
        longest, self.held = max(self.held, default=0.0), []
        return longest


async def post(db: Database, regions: Gazetteer, title: str) -> tuple[int, int, float]:
    """The poster's transaction; (item id, audience, seconds until committed)."""
    started = time.perf_counter()
    async with db.transaction() as session:
        repos = Repositories.on(session)
        item = await repos.info_items.add(
            topic="agri",
            title=title,
            body="近期气温下降，请抓紧冬灌。",
            scope="county",
            county="灵宝市",
            city="三门峡市",
            roles=[],
            now=NOW,
            author_id=1,
        )
        audience = await publish(repos, item, regions=regions)
        await repos.audit.record(
            action="info.post",
            target_type="info_item",
            target_id=item.id,
            at=NOW,
            actor_id=1,
            details={"topic": item.topic, "scope": item.scope, "recipients": audience},
        )
    return item.id, audience, time.perf_counter() - started


async def main(subscribers: int, url: str | None, chunk: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = normalise_database_url(url) if url else f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}"
        db = TimedDatabase(url)
        if db.engine.dialect.name == "postgresql":
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db)
        assert Base.metadata.tables
        await seed(db, subscribers)
        notifier = Notifier(Renderer(build_environment("Asia/Shanghai"), OptionSigner("bench")))
        regions = Gazetteer.load()
        clock = ManualClock(NOW)
        db.longest()
        item_id, audience, reply_s = await post(db, regions, "小麦冬灌")
        first_chunk = asyncio.Event()
        fanout = Fanout(db, notifier, clock, chunk=chunk, on_enqueued=first_chunk.set)
        started = time.perf_counter()
        running = asyncio.create_task(fanout.step())
        await first_chunk.wait()
        _, _, during_s = await post(db, regions, "第二条")  # while the first one fans out
        queued = await running
        fan_out_s = time.perf_counter() - started
        queued += await fanout.step()  # the second item
        chunk_held_s = db.longest()
        async with db.transaction() as session:
            item = await session.get(InfoItem, item_id)
            assert item is not None and item.status == "queued"
            recipients = item.recipients
        rt = JobRuntime(db=db, notifier=notifier, clock=clock, timezone="Asia/Shanghai")
        started = time.perf_counter()
        detail = await price_digest(rt, NOW)
        digest_s = time.perf_counter() - started
        digest_held_s = db.longest()
        await db.dispose()
    return {
        "engine": url.split(":", 1)[0],
        "subscribers": subscribers,
        "audience": audience,
        "poster_reply_ms": round(reply_s * 1000, 1),
        "poster_reply_during_fanout_ms": round(during_s * 1000, 1),
        "fan_out_chunk": chunk,
        "fan_out_rows": recipients,
        "fan_out_rows_both_items": queued,
        "fan_out_s": round(fan_out_s, 2),
        "fan_out_rows_per_s": round(recipients / fan_out_s),
        "fan_out_longest_transaction_ms": round(chunk_held_s * 1000, 1),
        "digest": detail,
        "digest_s": round(digest_s, 2),
        "digest_per_s": round(subscribers / digest_s),
        "digest_longest_transaction_ms": round(digest_held_s * 1000, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--database-url")
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args()
    figures = asyncio.run(main(args.subscribers, args.database_url, args.chunk))
    print(json.dumps(figures, ensure_ascii=False))
