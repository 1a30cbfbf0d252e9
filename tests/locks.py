"""Holding the database's write lock from outside cunzhan (another connection, or another
process), the way a backup job or a second writer would, on either engine."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from storage.db import Database


@asynccontextmanager
async def write_lock(
    database_url: str, tables: tuple[str, ...] = ("inbox",)
) -> AsyncIterator[None]:
    """While inside, no other connection can write (SQLite) or write ``tables`` (PostgreSQL)."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        # Taken in a thread: a synchronous wait here would block the event loop that the app's
        # own open write transaction needs to finish, a deadlock until the timeout.
        con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(con.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            con.execute("ROLLBACK")
            con.close()
        return
    db = Database(database_url)
    async with db.engine.connect() as conn:
        trans = await conn.begin()
        for table in tables:
            await conn.execute(text(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE'))
        try:
            yield
        finally:
            await trans.rollback()
    await db.dispose()
    await asyncio.sleep(0)
