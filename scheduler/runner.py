"""Runs one slot of a job at most once across processes and restarts: the (job, slot)
row in ``job_runs`` is claimed before the job runs, and records how it ended."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from scheduler.jobs.base import JobRuntime, JobSpec
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.scheduler")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def slot_of(spec: JobSpec, now: datetime) -> datetime:
    """The start of the slot ``now`` falls in."""
    step = spec.every.total_seconds()
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=(elapsed // step) * step)


async def run_slot(rt: JobRuntime, spec: JobSpec, now: datetime | None = None) -> bool:
    """Run ``spec`` for the slot ``now`` falls in unless that slot already ran; True if it ran."""
    now = now or rt.clock.now()
    slot = slot_of(spec, now)
    async with rt.db.transaction() as session:
        run_id = await Repositories.on(session).jobs.claim(
            spec.name, slot, holder=rt.holder, now=now
        )
    if run_id is None:
        return False
    outcome, detail = "ok", ""
    try:
        detail = await spec.func(rt, slot) or ""
    except Exception as exc:
        outcome, detail = "error", type(exc).__name__
        log.exception("job failed", extra={"job": spec.name, "slot": slot.isoformat()})
    async with rt.db.transaction() as session:
        await Repositories.on(session).jobs.finish(
            run_id, now=rt.clock.now(), outcome=outcome, detail=detail
        )
    log.info("job ran", extra={"job": spec.name, "slot": slot.isoformat(), "outcome": outcome})
    return True
