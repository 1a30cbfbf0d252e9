"""The one-trip SQLite cursor behaves as the DB-API cursor SQLAlchemy expects."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import sqlite_driver
from storage.db import Database


async def test_engine_uses_one_trip_connections(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        async with db.transaction() as session:
            conn = await session.connection()
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_driver.OneTripConnection)
            await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            inserted = await session.execute(
                text("INSERT INTO t (v) VALUES ('a'), ('b'), ('c') RETURNING id")
            )
            assert [row.id for row in inserted] == [1, 2, 3]
            changed = await session.execute(text("UPDATE t SET v = 'z' WHERE id > 1"))
            assert changed.rowcount == 2
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "d"}, {"v": "e"}])
            rows = (await session.execute(text("SELECT v FROM t ORDER BY id"))).scalars()
            assert list(rows) == ["a", "z", "z", "d", "e"]
        with pytest.raises(Exception, match="UNIQUE"):
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t (id, v) VALUES (1, 'dup')"))
        async with db.transaction() as session:  # the failed transaction was rolled back
            count = await session.scalar(text("SELECT count(*) FROM t"))
            assert count == 5
    finally:
        await db.dispose()


async def test_cursor_buffers_rows_and_reports_counts(tmp_path: Path) -> None:
    conn = await sqlite_driver.connect(tmp_path / "y.sqlite3", isolation_level=None)
    try:
        cursor = conn.cursor()
        await cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        assert cursor.description is None
        await cursor.executemany("INSERT INTO t (v) VALUES (?)", [("a",), ("b",), ("c",)])
        assert cursor.rowcount == 3
        await cursor.execute("INSERT INTO t (v) VALUES (?)", ("d",))
        assert cursor.lastrowid == 4
        await cursor.execute("SELECT id, v FROM t ORDER BY id")
        assert [d[0] for d in cursor.description] == ["id", "v"]
        assert await cursor.fetchone() == (1, "a")
        assert await cursor.fetchmany(2) == [(2, "b"), (3, "c")]
        assert await cursor.fetchall() == [(4, "d")]
        assert await cursor.fetchone() is None
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            await cursor.execute("SELECT * FROM missing")
    finally:
        await conn.close()
