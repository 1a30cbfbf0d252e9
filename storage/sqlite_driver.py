"""aiosqlite connections whose statements each take one trip to the driver thread.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches and closes it as four
separate calls, and aiosqlite runs each on its connection thread: four hand-offs between
the event loop and that thread (and four fights over the GIL) per statement. The cursor
here does all of it in one call on that thread and keeps the rows, the description, the
row count and the last row id; ``fetch*`` and ``close`` then cost nothing. Semantics are
the DB-API's (errors are sqlite3's, raised on the awaiting side as before); results are
always buffered, which is what SQLAlchemy's non-streaming cursor does anyway.

``Database`` installs it for every SQLite URL (``connect`` below, via the dialect's
``async_creator_fn``).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

_NO_PARAMETERS: tuple[Any, ...] = ()


class OneTripCursor:
    """A DB-API cursor for SQLAlchemy's async adapter: ``execute``/``executemany`` run,
    fetch and close the sqlite3 cursor in one call on the connection's thread."""

    __slots__ = ("_conn", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, conn: OneTripConnection) -> None:
        self._conn = conn
        self._rows: deque[Any] = deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def _run(self, many: bool, sql: str, parameters: Any) -> None:
        cursor = self._conn._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            description = cursor.description
            self._rows = deque(cursor.fetchall()) if description else deque()
            self.description = description
            self.rowcount = cursor.rowcount
            self.lastrowid = cursor.lastrowid
        finally:
            cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> OneTripCursor:
        args = _NO_PARAMETERS if parameters is None else parameters
        await self._conn._execute(self._run, False, sql, args)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        await self._conn._execute(self._run, True, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(count, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_: Any) -> None:
        return None


class OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection (same thread, queue, close and stop) with ``OneTripCursor``."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


def connect(database: str | Path, **kwargs: Any) -> OneTripConnection:
    """``aiosqlite.connect`` with the one-trip cursor; the thread is a daemon, as
    SQLAlchemy makes aiosqlite's own (a forgotten connection never blocks exit)."""
    kwargs.pop("iter_chunk_size", None)
    location = database if isinstance(database, str) else str(database)

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(location, **kwargs)

    connection = OneTripConnection(connector, 64)
    connection._thread.daemon = True
    return connection
