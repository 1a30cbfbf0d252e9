"""The background fan-out: one loop that turns posted notices (broadcasts, information
items) into one outbox row per recipient, chunk by chunk, outside the poster's transaction.

Each kind of notice is a ``FanoutSource``: it lists what is due, reads the next chunk of
recipients after the notice's cursor, makes their outbox rows, writes them (deduplicated by
key) together with the advanced cursor in one transaction, and tells senders about finished
notices. Rows are rendered outside any transaction, yielding to the event loop every few
rows, so the write transaction (on SQLite, the one writer lock) stays short and the bot keeps
answering. A crash mid-fan-out loses at most the chunk being written, and the next run
resumes at the committed cursor; a chunk whose cursor moved meanwhile (another process) is
read again, and one written twice adds nothing, as its dedupe keys exist already. Due
notices take turns chunk by chunk, so a large broadcast does not hold up a small item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.clock import Clock
from bot.notify import Notifier
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.fanout")

YIELD_EVERY = 10  # rows rendered between yields to the event loop


@dataclass(frozen=True)
class Recipient:
    user_id: int
    channel: str
    address: str


@dataclass
class Chunk:
    """The next recipients of a notice after ``after`` (its cursor when read); ``last`` is
    the last user id looked at, None when the audience is exhausted."""

    after: int
    last: int | None
    recipients: list[Recipient] = field(default_factory=list)
    skipped: int = 0  # people in scope without a reachable channel
    content: Any = None  # what the source needs to make each row (the rendered notice)


class FanoutSource(Protocol):
    """One kind of notice the fan-out writes outbox rows for."""

    name: str

    async def due(self, repos: Repositories, now: datetime) -> list[int]:
        """Ids of the notices whose fan-out should run now, in order."""
        ...

    async def read(
        self, repos: Repositories, key: int, *, now: datetime, limit: int
    ) -> Chunk | None:
        """The next chunk after the notice's cursor; None if it is not (or no longer) due."""
        ...

    def row(
        self, notifier: Notifier, chunk: Chunk, recipient: Recipient, now: datetime
    ) -> dict[str, Any]:
        """The outbox row (``enqueue_many``'s keywords) for one recipient; no I/O."""
        ...

    async def write(
        self,
        repos: Repositories,
        notifier: Notifier,
        key: int,
        chunk: Chunk,
        rows: list[dict[str, Any]],
        *,
        now: datetime,
    ) -> tuple[bool, int]:
        """In the caller's transaction: if the cursor is still ``chunk.after``, write the
        rows and advance it (or, for an exhausted audience, finish the notice); (whether
        more may follow, outbox rows written)."""
        ...

    async def report_finished(self, repos: Repositories, notifier: Notifier, now: datetime) -> int:
        """Tell senders about finished notices; how many were reported."""
        ...


def default_sources() -> tuple[FanoutSource, ...]:
    """Broadcasts and information items (imported here: both build on this module)."""
    from scheduler.broadcasts import BroadcastSource
    from scheduler.info_fanout import InfoItemSource

    return (BroadcastSource(), InfoItemSource())


class Fanout:
    """Started by the composition root next to the delivery worker; ``stop`` ends it."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        *,
        chunk: int = 500,
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
        """One chunk of one notice: read, rendered outside any transaction, then written
        with the notice's cursor in one short transaction."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            chunk = await source.read(Repositories.on(session), key, now=now, limit=self.chunk)
        if chunk is None:
            return False, 0
        rows = []
        for n, recipient in enumerate(chunk.recipients, 1):
            rows.append(source.row(self.notifier, chunk, recipient, now))
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        async with self.db.transaction() as session:
            return await source.write(
                Repositories.on(session), self.notifier, key, chunk, rows, now=now
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
