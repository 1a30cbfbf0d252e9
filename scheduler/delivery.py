"""The outbox delivery worker: claims due rows, sends each through its channel, records
the outcome.

What each outcome does to a row: sent → SENT; retry (429, 5xx, network) → PENDING again
after ``retry_after`` or an exponential backoff, FAILED after ``max_attempts``; blocked →
BLOCKED and the person's identity is marked unreachable; timed out → UNKNOWN (it may have
arrived: never resent blindly). Rows claimed by a worker that died are found by their
expired lease and become UNKNOWN for the same reason. Several workers (threads of one
process, or processes) may run at once: claims skip each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.channels.base import Channel, DeliveryResult, DeliveryStatus
from bot.clock import Clock
from bot.messages import Attachment, Rendered, RenderedOption
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from storage.repositories import Repositories

log = logging.getLogger("cunzhan.delivery")

OUTCOME = {
    DeliveryStatus.SENT: OutboxStatus.SENT,
    DeliveryStatus.BLOCKED: OutboxStatus.BLOCKED,
    DeliveryStatus.FAILED: OutboxStatus.FAILED,
    DeliveryStatus.UNKNOWN: OutboxStatus.UNKNOWN,
    DeliveryStatus.HELD: OutboxStatus.HELD,
}


@dataclass(frozen=True)
class DeliverySettings:
    batch: int = 50
    lease: timedelta = timedelta(seconds=120)
    idle_poll_s: float = 0.5
    max_attempts: int = 8
    base_backoff_s: float = 2.0
    max_backoff_s: float = 600.0


def backoff(attempts: int, settings: DeliverySettings) -> float:
    return min(settings.max_backoff_s, settings.base_backoff_s * 2 ** max(0, attempts - 1))


def rendered_from_row(row: OutboxMessage, attachment: Attachment | None = None) -> Rendered:
    """An outbox row back into what a channel sends."""
    options = tuple(RenderedOption(o["label"], o["token"]) for o in row.options or ())
    return Rendered(text=row.text, options=options, attachment=attachment)


class DeliveryWorker:
    """Started by the composition root with the running channels; ``stop`` ends it."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        settings: DeliverySettings | None = None,
        *,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.clock = clock
        self.settings = settings or DeliverySettings()
        self.holder = holder or f"{os.getpid()}-{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        await self.recover()
        while not self._stopping:
            try:
                handled = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery round failed")
                handled = 0
            if handled == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.idle_poll_s)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def recover(self) -> int:
        """Rows left SENDING by a worker that died become UNKNOWN (see the module docstring)."""
        async with self.db.transaction() as session:
            count = await Repositories.on(session).outbox.expire_stale_claims(self.clock.now())
        if count:
            log.warning("outbox rows were in flight when a worker stopped", extra={"rows": count})
        return count

    async def drain_once(self) -> int:
        """Claim and send one batch; the number of rows handled."""
        now = self.clock.now()
        async with self.db.transaction() as session:
            rows = await Repositories.on(session).outbox.claim(
                self.holder,
                now=now,
                limit=self.settings.batch,
                lease=self.settings.lease,
                channels=list(self.channels),
            )
        for row in rows:
            result = await self._send(row)
            await self._record(row, result)
        return len(rows)

    async def _send(self, row: OutboxMessage) -> DeliveryResult:
        attachment = None
        if row.blob_id is not None:
            async with self.db.transaction() as session:
                blob = await Repositories.on(session).outbox.blob(row.blob_id)
            if blob is not None:
                attachment = Attachment(blob.filename, blob.content, blob.mime_type)
        try:
            return await self.channels[row.channel].send(
                row.address, rendered_from_row(row, attachment)
            )
        except Exception as exc:  # a channel bug must not stop the queue
            log.exception("channel send raised", extra={"outbox_id": row.id})
            return DeliveryResult(DeliveryStatus.UNKNOWN, error=f"{type(exc).__name__}")

    async def _record(self, row: OutboxMessage, result: DeliveryResult) -> None:
        now = self.clock.now()
        retry_at = None
        if result.status is DeliveryStatus.RETRY:
            if row.attempts >= self.settings.max_attempts:
                status = OutboxStatus.FAILED
            else:
                status = OutboxStatus.PENDING
                delay = result.retry_after or backoff(row.attempts, self.settings)
                retry_at = now + timedelta(seconds=delay)
        else:
            status = OUTCOME[result.status]
        async with self.db.transaction() as session:
            repos = Repositories.on(session)
            await repos.outbox.finish(
                row.id, self.holder, status, now=now, error=result.error, retry_at=retry_at
            )
            if status is OutboxStatus.BLOCKED:
                await repos.users.mark_unreachable(row.channel, row.address, now)
        if status not in (OutboxStatus.SENT, OutboxStatus.PENDING):
            log.warning(
                "outbox message not delivered",
                extra={"outbox_id": row.id, "status": status.value, "channel": row.channel},
            )
