"""An information item's background fan-out on each engine: the post commits at once with
the item waiting, the outbox rows follow chunk by chunk, and a crash between chunks, inside
a chunk, or a SIGKILL of the process running the fan-out, followed by a resume (and a
second fan-out racing it), leaves exactly one row per subscriber and one report."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from scheduler.fanout import Fanout
from scheduler.info_fanout import InfoItemSource
from storage.models import InfoItem, OutboxMessage, Subscription
from tests.e2e.test_broadcasts import populate
from tests.e2e.test_info import staff_of
from tests.factories import joined

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


class Crash(Exception):
    pass


class CrashingSource(InfoItemSource):
    """Dies after ``commits`` chunks were committed: between chunks, or (``inside``) after
    writing the next chunk's rows but before its transaction commits."""

    def __init__(self, commits: int, *, inside: bool) -> None:
        super().__init__()
        self.commits, self.inside, self.calls = commits, inside, 0

    async def read(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.calls == self.commits and not self.inside:
            raise Crash
        return await super().read(*args, **kwargs)

    async def write(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = await super().write(*args, **kwargs)
        self.calls += 1
        if self.calls > self.commits:
            raise Crash
        return result


async def subscribers(core, count: int) -> list[int]:
    ids = await populate(core.db, count, county="滑县", prefix="hx", now=NOW)
    async with core.db.transaction() as session:
        for start in range(0, count, 2000):
            await session.execute(
                insert(Subscription),
                [
                    {
                        "user_id": i,
                        "topic": "agri",
                        "scope": "county",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in ids[start : start + 2000]
                ],
            )
    return ids


async def post(core, count: int) -> int:
    staff = await staff_of(core, "滑县")
    replies = await staff.say("/post 农业技术 滑县 冬灌 抓紧冬灌。")
    assert f"正在推送给 {count} 位订阅者" in joined(replies)
    async with core.db.transaction() as session:
        item = (await session.scalars(select(InfoItem))).one()
        assert (item.status, item.audience, item.recipients, item.cursor) == (
            "fanning_out",
            count,
            0,
            0,
        )
        return item.id


async def counts(core, item_id: int) -> tuple[int, int, int, InfoItem]:
    """(push rows, distinct people among them, reports to the author, the item)."""
    async with core.db.transaction() as session:
        rows, people = (
            await session.execute(
                select(func.count(), func.count(func.distinct(OutboxMessage.user_id))).where(
                    OutboxMessage.kind == "info:agri"
                )
            )
        ).one()
        reports = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == "info_report")
        )
        item = await session.get(InfoItem, item_id)
    return rows, people, reports or 0, item


async def assert_complete(core, item_id: int, count: int) -> None:
    rows, people, reports, item = await counts(core, item_id)
    assert rows == people == item.recipients == count
    assert item.status == "queued" and reports == 1


async def test_crash_between_and_inside_chunks_resumes_without_loss_or_duplicates(core) -> None:
    ids = await subscribers(core, 2500)
    item_id = await post(core, 2500)
    between = Fanout(
        core.db, core.notifier, core.clock, chunk=400, sources=[CrashingSource(2, inside=False)]
    )
    try:
        await between.step()
    except Crash:
        pass
    else:
        raise AssertionError("the fan-out should have crashed")
    rows, people, reports, item = await counts(core, item_id)
    assert rows == people == item.recipients == 800 and item.cursor == ids[799]
    assert reports == 0 and item.status == "fanning_out"
    inside = Fanout(
        core.db, core.notifier, core.clock, chunk=400, sources=[CrashingSource(1, inside=True)]
    )
    try:
        await inside.step()
    except Crash:
        pass
    else:
        raise AssertionError("the fan-out should have crashed")
    rows, _, _, item = await counts(core, item_id)
    assert rows == item.recipients == 1200 and item.cursor == ids[1199]  # chunk 4 rolled back
    first = Fanout(core.db, core.notifier, core.clock, chunk=400)
    second = Fanout(core.db, core.notifier, core.clock, chunk=400)
    assert sum(await asyncio.gather(first.step(), second.step())) == 1300
    await assert_complete(core, item_id, 2500)
    assert await first.step() == 0  # nothing left, and no second report
    await assert_complete(core, item_id, 2500)


FANOUT_PROCESS = """
import asyncio, sys
from bot.clock import SystemClock
from bot.notify import Notifier
from bot.render import Renderer, build_environment
from bot.tokens import OptionSigner
from scheduler.fanout import Fanout
from scheduler.info_fanout import InfoItemSource
from storage.db import Database


class Slow(InfoItemSource):
    async def write(self, *args, **kwargs):
        result = await super().write(*args, **kwargs)
        await asyncio.sleep(0.15)  # inside the chunk's transaction: a kill here loses it
        return result


async def main():
    db = Database(sys.argv[1])
    notifier = Notifier(Renderer(build_environment("Asia/Shanghai"), OptionSigner(sys.argv[2])))
    done = lambda: print("chunk", flush=True)
    fanout = Fanout(db, notifier, SystemClock(), chunk=100, on_enqueued=done, sources=[Slow()])
    await fanout.step()
    print("finished", flush=True)


asyncio.run(main())
"""


async def test_sigkill_mid_fanout_resumes_without_loss_or_duplicates(core) -> None:
    ids = await subscribers(core, 1500)
    item_id = await post(core, 1500)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FANOUT_PROCESS,
        core.settings.database.url,
        core.settings.secret_key,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    for _ in range(3):
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.strip() == b"chunk"
    process.send_signal(signal.SIGKILL)
    assert await process.wait() == -signal.SIGKILL
    rows, people, reports, item = await counts(core, item_id)
    assert 300 <= rows < 1500 and rows % 100 == 0  # whole chunks only
    assert rows == people == item.recipients and item.cursor == ids[rows - 1]
    assert reports == 0 and item.status == "fanning_out"
    await core.fanout.step()
    await assert_complete(core, item_id, 1500)
