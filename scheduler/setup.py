"""The APScheduler wiring for every scheduled job of the project.

One ``AsyncIOScheduler`` per process fires each ``JobSpec`` of ``scheduler.jobs.JOBS`` at
the start of each of its slots (aligned to UTC midnight, like ``scheduler.runner.slot_of``),
and ``start`` fires each once right away, which is the catch-up: the slot the process
starts in runs if no process ran it yet. What happens then is ``run_slot``'s business:
the ``job_runs`` row claimed in the project database lets one slot run once across
processes and restarts, so APScheduler itself keeps no state (its memory job store is
rebuilt from ``JOBS`` at every start) and several processes may all run a scheduler.

Jobs run as tasks this service owns, so ``stop`` lets a running job finish its
transaction instead of cancelling it half-way (APScheduler's asyncio executor cancels).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.calendar import WorkCalendar
from scheduler.jobs.base import JobRuntime, JobSpec
from scheduler.runner import EPOCH, run_slot

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.notify import Notifier
    from storage.crypto import PiiCipher
    from storage.db import Database

log = logging.getLogger("cunzhan.scheduler")

STOP_TIMEOUT_S = 30.0


class SchedulerService:
    """Built and started by the composition root after migrations; stopped before the
    database is disposed."""

    def __init__(self, runtime: JobRuntime, jobs: Sequence[JobSpec] | None = None) -> None:
        if jobs is None:
            from scheduler.jobs import JOBS

            jobs = JOBS
        names = [spec.name for spec in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.runtime = runtime
        self.jobs = tuple(jobs)
        self._scheduler: AsyncIOScheduler | None = None
        self._running: dict[str, asyncio.Task[bool]] = {}

    @property
    def started(self) -> bool:
        return self._scheduler is not None

    async def start(self) -> None:
        """Register every job and fire each once now (the catch-up of a missed slot)."""
        if self._scheduler is not None:
            return
        scheduler = AsyncIOScheduler(timezone="UTC", event_loop=asyncio.get_running_loop())
        for spec in self.jobs:
            scheduler.add_job(
                self._fire,
                trigger=IntervalTrigger(
                    seconds=spec.every.total_seconds(), start_date=EPOCH, timezone="UTC"
                ),
                args=(spec,),
                id=spec.name,
                name=spec.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(spec.every / timedelta(seconds=1))),
                replace_existing=True,
            )
        scheduler.start()
        self._scheduler = scheduler
        for spec in self.jobs:
            await self._fire(spec)
        log.info("scheduler started", extra={"jobs": [s.name for s in self.jobs]})

    async def _fire(self, spec: JobSpec) -> None:
        """APScheduler's callback: start the slot's run as our own task, unless one runs."""
        current = self._running.get(spec.name)
        if current is not None and not current.done():
            log.warning("job still running; slot left to the next run", extra={"job": spec.name})
            return
        task = asyncio.create_task(run_slot(self.runtime, spec), name=f"job:{spec.name}")
        self._running[spec.name] = task
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[bool]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("job runner failed", exc_info=task.exception())

    async def stop(self) -> None:
        """No new runs; running ones get ``STOP_TIMEOUT_S`` to finish, then are cancelled."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.shutdown(wait=False)
        pending = [t for t in self._running.values() if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        self._running.clear()
        log.info("scheduler stopped")

    async def idle(self) -> None:
        """Wait until no job is running (tests use it after ``start``)."""
        while pending := [t for t in self._running.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    def next_run_times(self) -> dict[str, object]:
        """When each job fires next (for logs and tests)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}


def build_runtime(
    *,
    db: Database,
    notifier: Notifier,
    clock: Clock,
    timezone: str,
    pii: PiiCipher | None = None,
    holder: str = "scheduler",
    calendar: WorkCalendar | None = None,
) -> JobRuntime:
    """The runtime every job gets; one working-day calendar per process."""
    return JobRuntime(
        db=db,
        notifier=notifier,
        clock=clock,
        timezone=timezone,
        pii=pii,
        holder=holder,
        calendar=calendar or WorkCalendar(),
    )
