"""SQLite writers in two processes (two engines on one file): each transaction reads, waits,
then writes. With a deferred BEGIN the second upgrade to a write lock fails at once with
"database is locked" whatever the busy timeout; with BEGIN IMMEDIATE both succeed in turn."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text, update

from storage.db import Database
from storage.models import User


async def read_then_write(db: Database, user_id: int, started: asyncio.Event) -> None:
    async with db.transaction() as session:
        name = await session.scalar(select(User.display_name).where(User.id == user_id))
        started.set()
        await asyncio.sleep(0.3)
        await session.execute(
            update(User).where(User.id == user_id).values(display_name=(name or "") + "+")
        )


async def test_concurrent_read_then_write_transactions_both_commit(sqlite_url: str) -> None:
    setup = Database(sqlite_url)
    async with setup.transaction() as session:
        session.add(User(display_name="x"))
    await setup.dispose()
    first, second = Database(sqlite_url), Database(sqlite_url)
    try:
        one, two = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(read_then_write(first, 1, one))
        await one.wait()
        await read_then_write(second, 1, two)
        await task
        async with first.transaction() as session:
            assert await session.scalar(select(User.display_name)) == "x++"
            mode = await session.scalar(text("PRAGMA journal_mode"))
            timeout = await session.scalar(text("PRAGMA busy_timeout"))
        assert (mode, timeout) == ("wal", 10_000)
    finally:
        await first.dispose()
        await second.dispose()
