"""How long posting an information item takes when it reaches many subscribers: the
fan-out (``handlers.info.publish``) writes one outbox row per person inside the posting
message's transaction, and the daily price digest job queues one digest per subscriber.

    .venv/bin/python -m bench.info_fanout [--subscribers 20000] [--database-url URL]

Default: a fresh SQLite file. The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bot.clock import ManualClock
from bot.notify import Notifier
from bot.render import Renderer, build_environment
from bot.settings import normalise_database_url
from bot.tokens import OptionSigner
from content.regions import Gazetteer
from handlers.info import publish
from scheduler.jobs.base import JobRuntime
from scheduler.jobs.info import price_digest
from storage import migrate
from storage.base import Base
from storage.db import Database
from storage.models import Identity, Subscription, User
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


async def main(subscribers: int, url: str | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        url = normalise_database_url(url) if url else f"sqlite+aiosqlite:///{Path(tmp) / 'b.db'}"
        db = Database(url)
        if db.engine.dialect.name == "postgresql":
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db)
        assert Base.metadata.tables
        await seed(db, subscribers)
        notifier = Notifier(Renderer(build_environment("Asia/Shanghai"), OptionSigner("bench")))
        started = time.perf_counter()
        async with db.transaction() as session:
            repos = Repositories.on(session)
            item = await repos.info_items.add(
                topic="agri",
                title="小麦冬灌",
                body="近期气温下降，请抓紧冬灌。",
                scope="county",
                county="灵宝市",
                city="三门峡市",
                roles=[],
                now=NOW,
            )
            queued = await publish(repos, notifier, item, now=NOW, regions=Gazetteer.load())
        fan_out_s = time.perf_counter() - started
        rt = JobRuntime(db=db, notifier=notifier, clock=ManualClock(NOW), timezone="Asia/Shanghai")
        started = time.perf_counter()
        detail = await price_digest(rt, NOW)
        digest_s = time.perf_counter() - started
        await db.dispose()
    return {
        "engine": url.split(":", 1)[0],
        "subscribers": subscribers,
        "fan_out_rows": queued,
        "fan_out_s": round(fan_out_s, 2),
        "fan_out_rows_per_s": round(queued / fan_out_s),
        "digest": detail,
        "digest_s": round(digest_s, 2),
        "digest_per_s": round(subscribers / digest_s),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.subscribers, args.database_url)), ensure_ascii=False))
