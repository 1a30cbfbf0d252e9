"""Scheduled-job runs: claim a (job, slot) once across processes and restarts, and record
how it ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun
from storage.upsert import insert_ignore


class JobRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, job: str, slot: datetime, *, holder: str, now: datetime) -> int | None:
        """The run's id if this caller is the first to claim ``slot`` of ``job``, else None."""
        values = {"job": job, "slot": slot, "holder": holder, "started_at": now}
        return await insert_ignore(self.session, JobRun, values, ["job", "slot"])

    async def finish(self, run_id: int, *, now: datetime, outcome: str, detail: str = "") -> None:
        await self.session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(finished_at=now, outcome=outcome, detail=detail[:500] or None)
        )

    async def last(self, job: str) -> JobRun | None:
        stmt = select(JobRun).where(JobRun.job == job).order_by(JobRun.slot.desc()).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()
