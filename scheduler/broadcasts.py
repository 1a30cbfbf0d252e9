"""The broadcast fan-out: turns a confirmed broadcast, once its start time has come, into
one outbox row per recipient, chunk by chunk.

Each chunk is one transaction that writes the chunk's rows (dedupe key
``bc:<broadcast>:<user>``, batch id = the broadcast) together with the broadcast's cursor
(the last user id done). A crash mid-fan-out loses at most the chunk being written, and
the next run resumes at the cursor; a chunk written twice (two processes) adds nothing,
as its dedupe keys exist already. The rows are bulk priority, so direct answers and
reminders overtake them in the delivery worker. Once nothing of a broadcast is left to
send, its sender gets a report: how many got it, failed, or could not be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.clock import Clock
from bot.messages import Reply
from bot.notify import Notifier
from storage.db import Database
from storage.models import BroadcastStatus, Priority
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.broadcasts")

KIND = "broadcast"
REPORT_KIND = "broadcast_report"


def dedupe_key(broadcast_id: int, user_id: int) -> str:
    return f"bc:{broadcast_id}:{user_id}"


class BroadcastFanout:
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
    ) -> None:
        self.db = db
        self.notifier = notifier
        self.clock = clock
        self.chunk = chunk
        self.poll_s = poll_s
        self.on_enqueued = on_enqueued
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
                log.exception("broadcast fan-out failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def step(self, *, max_chunks: int | None = None) -> int:
        """Fan out every due broadcast; the number of outbox rows written."""
        async with self.db.transaction() as session:
            due = await Repositories.on(session).broadcasts.due(self.clock.now())
        written = 0
        for broadcast_id in due:
            written += await self.fan_out(broadcast_id, max_chunks=max_chunks)
        await self.report_finished()
        return written

    async def report_finished(self) -> int:
        """Tell each sender how their finished broadcast went (sent, failed, unreachable)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            repos = Repositories.on(session)
            finished = await repos.broadcasts.finished_unreported()
            for row in finished:
                row.reported_at = now
                if row.created_by is None:
                    continue
                progress = await repos.broadcasts.progress(row, now)
                data = {
                    "id": row.id,
                    "region": row.region,
                    "total": progress.total,
                    "sent": progress.sent,
                    "failed": progress.failed + progress.unknown,
                    "unreachable": progress.unreachable,
                }
                await self.notifier.send(
                    repos,
                    row.created_by,
                    Reply("broadcast/finished", data),
                    now=now,
                    kind=REPORT_KIND,
                    priority=Priority.DIRECT,
                    dedupe_key=f"bc-report:{row.id}",
                )
        if finished and self.on_enqueued is not None:
            self.on_enqueued()
        return len(finished)

    async def fan_out(self, broadcast_id: int, *, max_chunks: int | None = None) -> int:
        written = chunks = 0
        while not self._stopping and (max_chunks is None or chunks < max_chunks):
            more, rows = await self._chunk(broadcast_id)
            written += rows
            chunks += 1
            if rows and self.on_enqueued is not None:
                self.on_enqueued()
            if not more:
                break
        return written

    async def _chunk(self, broadcast_id: int) -> tuple[bool, int]:
        """Write one chunk; (whether more may follow, rows written)."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            repos = Repositories.on(session)
            row = await repos.broadcasts.lock(broadcast_id)
            startable = (BroadcastStatus.SCHEDULED.value, BroadcastStatus.FANNING_OUT.value)
            if row is None or row.status not in startable or row.start_at > now:
                return False, 0
            page = await repos.broadcasts.audience_page(row, after=row.cursor, limit=self.chunk)
            if page.last_user_id is None:
                row.status = BroadcastStatus.QUEUED.value
                row.fanned_out_at = now
                log.info("broadcast fanned out", extra={"broadcast": row.id, "rows": row.enqueued})
                return False, 0
            reply = Reply("broadcast/notice", {"text": row.text, "region": row.region})
            values = []
            for person in page.recipients:
                rendered = self.notifier.render_for(person.user_id, reply)
                values.append(
                    {
                        **self.notifier.row(
                            rendered, person.user_id, person.channel, person.address
                        ),
                        "now": now,
                        "kind": KIND,
                        "priority": Priority.BULK,
                        "dedupe_key": dedupe_key(row.id, person.user_id),
                        "batch_id": row.id,
                    }
                )
            inserted = await repos.outbox.enqueue_many(values)
            row.status = BroadcastStatus.FANNING_OUT.value
            row.started_at = row.started_at or now
            row.enqueued += len(inserted)
            row.skipped += page.skipped
            row.cursor = page.last_user_id
        return True, len(inserted)
