"""A write lock held by another process: SQLite writes start with BEGIN IMMEDIATE and wait
the busy timeout; past it the person is asked to try again later, with no traceback, and
nothing half-written stays behind."""

from __future__ import annotations

import logging
import time

import pytest

import storage.db
from tests.factories import ChatDriver, joined
from tests.locks import write_lock


@pytest.fixture
def sqlite_only(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    return database_url


async def test_locked_database_asks_to_try_again_without_a_traceback(
    core, sqlite_only, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    chat = ChatDriver(core.dispatcher, user="locked")
    assert "欢迎使用" in joined(await chat.say("/start"))
    await core.db.dispose()  # new connections pick up the short busy timeout
    caplog.set_level(logging.INFO)
    async with write_lock(sqlite_only):
        started = time.monotonic()
        replies = await chat.say("/profile")
        waited = time.monotonic() - started
    assert joined(replies) == "系统正忙，请稍后再试。"
    assert 0.25 <= waited < 5
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert any(r.getMessage() == "database busy" for r in caplog.records)
    # the lock is gone: the same words now work, and no half-started form was kept
    assert "称呼" in joined(await chat.say("/profile"))


async def test_a_short_lock_is_waited_out(core, sqlite_only, monkeypatch) -> None:
    import asyncio

    chat = ChatDriver(core.dispatcher, user="patient")

    async def release_soon() -> None:
        async with write_lock(sqlite_only):
            await asyncio.sleep(1.0)

    holder = asyncio.create_task(release_soon())
    await asyncio.sleep(0.2)
    replies = await chat.say("/start")
    await holder
    assert "欢迎使用" in joined(replies)
