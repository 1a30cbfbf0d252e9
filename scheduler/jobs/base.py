"""What a scheduled job is: its runtime and its spec. Each runs once per slot across processes.

A job is ``async def job(rt: JobRuntime, slot: datetime) -> str | None`` and must be
idempotent for its slot (it usually enqueues outbox rows with dedupe keys), so that a
catch-up run after downtime or a second process can never send anything twice.
Feature job modules (scheduler/jobs/<feature>.py) declare ``SPECS``; scheduler/jobs/__init__.py
joins them into ``JOBS``, which scheduler/setup.py registers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.notify import Notifier
    from scheduler.calendar import WorkCalendar
    from storage.crypto import PiiCipher
    from storage.db import Database


@dataclass(frozen=True)
class JobRuntime:
    """What a job gets: the database, the outbox writer, the clock and the local timezone."""

    db: Database
    notifier: Notifier
    clock: Clock
    timezone: str
    pii: PiiCipher | None = None
    holder: str = "scheduler"
    calendar: WorkCalendar | None = None  # working days; scheduler/setup.py always sets one


JobFunc = Callable[[JobRuntime, datetime], Awaitable[str | None]]


@dataclass(frozen=True)
class JobSpec:
    """``func`` runs once per slot of length ``every`` (slots are aligned to UTC midnight)."""

    name: str
    func: JobFunc
    every: timedelta


__all__ = ["JobFunc", "JobRuntime", "JobSpec"]
