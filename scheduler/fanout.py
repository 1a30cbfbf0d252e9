"""The background fan-out: one loop that turns posted notices (broadcasts, information
items) into one outbox row per recipient, chunk by chunk, outside the poster's transaction.

Each kind of notice is a ``FanoutSource``: it lists what is due, writes one chunk (the rows,
deduplicated by key, together with the notice's cursor, in one transaction) and tells
senders about finished notices. A crash mid-fan-out loses at most the chunk being written,
and the next run resumes at the committed cursor; a chunk written twice (two processes, or
a resumed chunk) adds nothing, as its dedupe keys exist already. Due notices take turns
chunk by chunk, so a large broadcast does not hold up a small information item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.notify import Notifier
from scheduler.broadcasts import BroadcastSource
from scheduler.info_fanout import InfoItemSource
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.fanout")


class FanoutSource(Protocol):
    """One kind of notice the fan-out writes outbox rows for."""

    name: str

    async def due(self, repos: Repositories, now: datetime) -> list[int]:
        """Ids of the notices whose fan-out should run now, in order."""
        ...

    async def chunk(
        self, repos: Repositories, notifier: Notifier, key: int, *, now: datetime, limit: int
    ) -> tuple[bool, int]:
        """Write the next ``limit`` recipients of ``key`` and advance its cursor, in the
        caller's transaction; (whether more may follow, outbox rows written)."""
        ...

    async def report_finished(self, repos: Repositories, notifier: Notifier, now: datetime) -> int:
        """Tell senders about finished notices; how many were reported."""
        ...


def default_sources() -> tuple[FanoutSource, ...]:
    return (BroadcastSource(), InfoItemSource())


class Fanout:
    """Started by the composition root next to the delivery worker; ``stop`` ends it."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        *,
        chunk: int = 1000,
        poll_s: float = 1.0,
        on_enqueued: Callable[[], None] | None = None,
        sources: Iterable[FanoutSource] | None = None,
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.chunk = chunk
        self.poll_s = poll_s
        self.on_enqueued = on_enqueued
        self.sources = tuple(sources) if sources is not None else default_sources()
        self._stopping = False
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("fan-out failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def step(self, *, max_chunks: int | None = None) -> int:
        """Fan out everything due (at most ``max_chunks`` chunks of each notice), then
        report finished notices; the number of outbox rows written."""
        now = self.clock.now()
        active: list[tuple[FanoutSource, int]] = []
        async with self.db.transaction() as session:
            repos = Repositories.on(session)
            for source in self.sources:
                active.extend((source, key) for key in await source.due(repos, now))
        written = rounds = 0
        while active and not self._stopping and (max_chunks is None or rounds < max_chunks):
            still = []
            for source, key in active:
                more, rows = await self.run_chunk(source, key)
                written += rows
                if rows and self.on_enqueued is not None:
                    self.on_enqueued()
                if more:
                    still.append((source, key))
            active, rounds = still, rounds + 1
        await self.report_finished()
        return written

    async def run_chunk(self, source: FanoutSource, key: int) -> tuple[bool, int]:
        """One chunk of one notice in its own transaction."""
        async with self.db.transaction() as session:
            return await source.chunk(
                Repositories.on(session),
                self.notifier,
                key,
                now=self.clock.now(),
                limit=self.chunk,
            )

    async def report_finished(self) -> int:
        reported = 0
        for source in self.sources:
            async with self.db.transaction() as session:
                reported += await source.report_finished(
                    Repositories.on(session), self.notifier, self.clock.now()
                )
        if reported and self.on_enqueued is not None:
            self.on_enqueued()
        return reported
