"""Fault injection with real processes: ``cunzhan run`` as a subprocess against the fake Bot
API server, killed with SIGKILL at the worst moments, restarted, then the ledger checked."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from storage.db import Database
from storage.models import InboxItem, Invite, OutboxMessage
from tests.conftest import TOKEN, make_env
from tests.process import BotProcess

SETTLED_OUTBOX = ("sent", "failed", "blocked", "unknown", "cancelled")


class Bots:
    """Starts cunzhan processes for one test; kills whatever is left at the end."""

    def __init__(self, database_url: str, workdir: Path, fake: Any) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.fake = fake
        self.procs: list[BotProcess] = []

    async def start(self, *, extra_path: Path | None = None, **env: str) -> BotProcess:
        settings = make_env(
            self.database_url,
            CUNZHAN_TELEGRAM_TOKEN=TOKEN,
            CUNZHAN_TELEGRAM_API_URL=self.fake.base_url,
            **env,
        )
        proc = BotProcess(settings, self.workdir, extra_path=extra_path)
        self.procs.append(proc)
        await proc.start()
        return proc

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for proc in self.procs:
            for raw in proc.log:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    lines.append({"level": "raw", "msg": raw})
        return lines

    def tracebacks(self) -> list[dict[str, Any]]:
        return [
            line
            for line in self.log_lines()
            if "exc" in line or line.get("level") in ("error", "critical", "raw")
        ]


@pytest.fixture
async def bots(database_url: str, tmp_path: Path, fake) -> AsyncIterator[Bots]:
    runner = Bots(database_url, tmp_path, fake)
    yield runner
    for proc in runner.procs:
        await proc.kill()


async def ledger(database_url: str) -> dict[str, Any]:
    """What the database says after a run: inbox and outbox by status, invites, integrity."""
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            inbox = dict(
                (
                    await session.execute(
                        select(InboxItem.status, func.count()).group_by(InboxItem.status)
                    )
                ).all()
            )
            outbox = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    )
                ).all()
            )
            invites = await session.scalar(
                select(func.count()).select_from(Invite).where(Invite.created_by.is_not(None))
            )
            if db.is_sqlite:
                integrity = (await session.execute(text("PRAGMA integrity_check"))).scalar()
            else:
                integrity = "ok" if await session.scalar(text("SELECT 1")) == 1 else "broken"
    finally:
        await db.dispose()
    return {"inbox": inbox, "outbox": outbox, "invites": invites or 0, "integrity": integrity}


def assert_ledger(book: dict[str, Any], *, handled: int) -> None:
    """Every inbox row handled, every outbox row settled, the database intact."""
    assert book["inbox"] == {"handled": handled}, book
    created = sum(book["outbox"].values())
    assert created == sum(book["outbox"].get(s, 0) for s in SETTLED_OUTBOX), book
    assert book["integrity"] == "ok", book


async def wait_for(
    condition: Callable[[], Any], *, timeout: float, what: str, every: float = 0.05
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)


def hold_sqlite_lock_script(path: str, seconds: float) -> list[str]:
    """A ``python -c`` command that holds SQLite's write lock for ``seconds`` then exits."""
    code = (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({path!r}, isolation_level=None)\n"
        "con.execute('BEGIN IMMEDIATE')\n"
        "print('LOCKED', flush=True)\n"
        f"time.sleep({seconds})\n"
        "con.execute('ROLLBACK')\n"
    )
    return ["-c", code]


def sqlite_path(database_url: str) -> str:
    path = database_url.split(":///", 1)[1]
    sqlite3.connect(path).close()
    return path
