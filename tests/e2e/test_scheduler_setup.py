"""The APScheduler wiring: every job fires once at start (catch-up), each slot runs once
across processes and restarts, and stop lets a running job finish."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.notify import Notifier
from bot.render import Renderer, build_environment
from bot.tokens import OptionSigner
from scheduler.jobs.base import JobSpec
from scheduler.setup import SchedulerService, build_runtime
from storage.models import JobRun


def runtime(db, clock, holder: str):
    renderer = Renderer(build_environment("Asia/Shanghai"), OptionSigner("k"))
    return build_runtime(
        db=db, notifier=Notifier(renderer), clock=clock, timezone="Asia/Shanghai", holder=holder
    )


async def test_catch_up_once_across_two_processes_and_a_restart(db) -> None:
    clock = ManualClock(datetime(2026, 10, 12, 1, 30, tzinfo=UTC))
    slots: list[tuple[str, datetime]] = []

    async def job(rt, slot: datetime) -> str:
        slots.append((rt.holder, slot))
        return "done"

    spec = JobSpec("test.hourly", job, timedelta(hours=1))
    first = SchedulerService(runtime(db, clock, "a"), [spec])
    second = SchedulerService(runtime(db, clock, "b"), [spec])
    await asyncio.gather(first.start(), second.start())
    await first.idle()
    await second.idle()
    await first.stop()
    await second.stop()
    # A restart in the same slot runs nothing again.
    again = SchedulerService(runtime(db, clock, "c"), [spec])
    await again.start()
    await again.idle()
    nxt = again.next_run_times()["test.hourly"]
    await again.stop()
    assert [slot for _, slot in slots] == [datetime(2026, 10, 12, 1, 0, tzinfo=UTC)]
    assert nxt.minute == 0 and nxt.second == 0  # later runs are aligned to the hour
    async with db.transaction() as session:
        runs = list(await session.scalars(select(JobRun)))
    assert [(r.job, r.outcome, r.detail) for r in runs] == [("test.hourly", "ok", "done")]


async def test_stop_waits_for_a_running_job(db) -> None:
    clock = ManualClock(datetime(2026, 10, 12, 1, 30, tzinfo=UTC))
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow(rt, slot: datetime) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.set()

    spec = JobSpec("test.slow", slow, timedelta(days=1))
    service = SchedulerService(runtime(db, clock, "a"), [spec])
    await service.start()
    await asyncio.wait_for(started.wait(), 5)
    await service.stop()
    assert finished.is_set()
    async with db.transaction() as session:
        run = (await session.scalars(select(JobRun))).one()
    assert run.outcome == "ok" and run.finished_at is not None


def test_duplicate_job_names_are_refused() -> None:
    async def job(rt, slot):
        return None

    spec = JobSpec("x", job, timedelta(hours=1))
    try:
        SchedulerService(None, [spec, spec])  # type: ignore[arg-type]
    except ValueError:
        return
    raise AssertionError("duplicate names accepted")


async def test_the_app_starts_the_scheduler_with_every_job(app) -> None:
    from scheduler.jobs import JOBS

    await app.scheduler.idle()
    assert set(app.scheduler.next_run_times()) == {spec.name for spec in JOBS}
    async with app.db.transaction() as session:
        ran = set(await session.scalars(select(JobRun.job)))
    assert "reports.remind" in ran
