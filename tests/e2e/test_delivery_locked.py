"""The delivery worker when another process holds SQLite's write lock: at start-up (its
``recover``) and between rounds it waits the lock out with one warning and no traceback,
then delivers what was queued."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import storage.db
from storage.db import Database
from tests.e2e.test_delivery_worker import Recorder, enqueue, statuses, worker
from tests.locks import write_lock


@pytest.fixture
def sqlite_only(database_url: str) -> str:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    return database_url


def noisy(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def busy_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "cunzhan.delivery" and r.getMessage().startswith("database busy")
    ]


async def wait_for(condition, task: asyncio.Task, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        assert not task.done(), task
        await asyncio.sleep(0.02)


async def test_worker_started_on_a_locked_database_waits_and_then_delivers(
    db: Database, sqlite_only, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    await enqueue(db, [{"address": "a", "text": "queued before"}])
    await db.dispose()  # new connections pick up the short busy timeout
    caplog.set_level(logging.INFO)
    channel = Recorder()
    w = worker(db, channel)
    async with write_lock(sqlite_only):
        task = asyncio.create_task(w.run())
        await asyncio.sleep(1.5)  # several tries of recover() while locked
        assert not task.done(), task.exception() if task.done() else None
        assert channel.sent == []
    try:
        await wait_for(lambda: len(channel.sent) == 1, task)
    finally:
        w.stop()
        await task
    assert [text for _, text, _ in channel.sent] == ["queued before"]
    assert await statuses(db) == {"sent": 1}
    assert len(busy_warnings(caplog)) == 1
    assert noisy(caplog) == []


async def test_a_lock_between_rounds_is_waited_out_with_one_warning(
    db: Database, sqlite_only, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    await db.dispose()
    caplog.set_level(logging.INFO)
    channel = Recorder()
    w = worker(db, channel)
    task = asyncio.create_task(w.run())
    try:
        await enqueue(db, [{"address": "a", "text": "first"}])
        await wait_for(lambda: len(channel.sent) == 1, task)
        async with write_lock(sqlite_only):
            await asyncio.sleep(1.5)  # claim rounds keep meeting the lock
            assert not task.done()
        await enqueue(db, [{"address": "b", "text": "after the lock"}])
        await wait_for(lambda: len(channel.sent) == 2, task)
    finally:
        w.stop()
        await task
    assert [text for _, text, _ in channel.sent] == ["first", "after the lock"]
    assert await statuses(db) == {"sent": 2}
    # one warning for the locked spell (and at most one more if an outcome met the lock too)
    said = [r.getMessage() for r in busy_warnings(caplog)]
    assert said.count("database busy; delivery waits") == 1
    assert len(said) == len(set(said))
    assert noisy(caplog) == []
