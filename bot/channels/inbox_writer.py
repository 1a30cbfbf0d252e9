"""Group commit for a channel's inbox: many "record this update" and "mark it handled"
writes share one transaction.

Under load a webhook channel would otherwise open two extra transactions per message
besides the dispatcher's own; on SQLite (one writer at a time) those queue behind each
other. ``record`` waits until its row is committed (an update is recorded before it is
answered), and so does ``finish`` (an update answered is marked handled). One writer
task drains both queues whenever something is waiting, so an idle channel adds no delay
and a busy one shares a commit among many updates. Used by the WeChat channel.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import Clock
from storage.db import Database
from storage.models import InboxItem, InboxStatus
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.inbox")


@dataclass(frozen=True)
class Recorded:
    """The outcome of ``record``: the row's id, and whether it was new."""

    item_id: int
    new: bool
    status: str


@dataclass
class _Add:
    key: str
    payload: dict[str, Any]
    now: datetime
    future: asyncio.Future[Recorded]


class InboxWriter:
    """One per channel; ``start`` before use and ``stop`` on shutdown (flushes)."""

    def __init__(self, db: Database, channel: str, clock: Clock) -> None:
        self.db = db
        self.channel = channel
        self.clock = clock
        self._adds: list[_Add] = []
        self._finishes: list[tuple[int, InboxStatus, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"inbox-{self.channel}")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def record(self, key: str, payload: dict[str, Any]) -> Recorded:
        """Commit the update under ``key``; an existing row is returned with new=False."""
        if self._task is None or self._stopping:
            raise RuntimeError("the inbox writer is not running")
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._adds.append(_Add(key, payload, self.clock.now(), future))
        self._wake.set()
        return await future

    async def finish(self, item_id: int, status: InboxStatus) -> bool:
        """Mark a recorded update handled (or failed); True once that is committed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._finishes.append((item_id, status, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            adds, self._adds = self._adds, []
            finishes, self._finishes = self._finishes, []
            if adds or finishes:
                await self._write(adds, finishes)
            if self._stopping and not self._adds and not self._finishes:
                return

    async def _write(
        self, adds: list[_Add], finishes: list[tuple[int, InboxStatus, asyncio.Future[bool]]]
    ) -> None:
        try:
            results: list[Recorded] = []
            async with self.db.transaction() as session:
                inbox = Repositories.on(session).inbox
                # Finishes first: a retry recorded in the same batch as its original's
                # finish must see it handled, not as left over by a process that died.
                now = self.clock.now()
                for item_id, status, _ in finishes:
                    await inbox.finish(item_id, now=now, status=status)
                for add in adds:
                    item_id = await inbox.add(self.channel, add.key, add.payload, add.now)
                    if item_id is not None:
                        results.append(Recorded(item_id, True, InboxStatus.RECEIVED.value))
                        continue
                    row: InboxItem | None = await inbox.get(self.channel, add.key)
                    assert row is not None
                    results.append(Recorded(row.id, False, row.status))
        except Exception as exc:
            log.exception("inbox write failed", extra={"adds": len(adds), "done": len(finishes)})
            for add in adds:
                if not add.future.done():
                    add.future.set_exception(exc)
            for *_, done in finishes:
                if not done.done():
                    done.set_result(False)
            return
        for *_, done in finishes:
            if not done.done():
                done.set_result(True)
        for add, result in zip(adds, results, strict=True):
            if not add.future.done():
                add.future.set_result(result)
