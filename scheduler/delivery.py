"""The outbox delivery worker: claims due rows, sends each through its channel within the
channel's rate limits, records the outcome.

How it runs: at most ``concurrency`` rows are claimed and not yet recorded at any time
(the rows "in flight"). Each claimed row gets a task that waits for its chat's slot and a
token of its channel's bucket (scheduler/limits.py), sends, and hands its outcome to the
recorder, which writes outcomes in batches and frees the slots. Claims are ordered by
priority, so direct answers and reminders overtake bulk rows within one claim.

What each outcome does to a row: sent → SENT; retry (429, 5xx, network) → PENDING again
after ``retry_after`` or an exponential backoff, FAILED after ``max_attempts``; blocked →
BLOCKED and the person's identity is marked unreachable; timed out → UNKNOWN (it may have
arrived: never resent); outside the channel's reply window → sent the channel's other way
(``OutsideWindowChannel``: WeChat template messages) when it has one, else HELD until the
person writes again.

Crash safety: a claim is a lease that the live worker renews. After a crash (kill -9) the
lease runs out and the rows it held are sent again by the next worker, so rows are never
lost and at most ``concurrency`` rows (those in flight) can arrive twice; a recorded SENT
row is never sent again. Claims skip rows claimed by another worker (SKIP LOCKED on
PostgreSQL, a write transaction on SQLite), so two processes never send the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from bot.channels.base import (
    Channel,
    DeliveryResult,
    DeliveryStatus,
    OutsideWindowChannel,
    PaidBroadcastChannel,
)
from bot.clock import Clock
from bot.messages import Attachment, Rendered, RenderedOption
from bot.settings import DeliveryConfig
from scheduler.limits import ChannelLimits, build_limits
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Priority
from storage.repositories import Repositories
from storage.repositories.outbox import OutboxRepository, Outcome

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
    concurrency: int = 32
    lease: timedelta = timedelta(seconds=30)
    idle_poll_s: float = 0.5
    max_attempts: int = 8
    base_backoff_s: float = 2.0
    max_backoff_s: float = 600.0
    record_every_s: float = 0.02
    stop_grace_s: float = 8.0

    @classmethod
    def from_config(cls, config: DeliveryConfig) -> DeliverySettings:
        return cls(
            concurrency=config.concurrency,
            lease=timedelta(seconds=config.lease_s),
            max_attempts=config.max_attempts,
        )


def database_locked(exc: BaseException) -> bool:
    """SQLite's write lock held past the busy timeout (a backup, another writer)."""
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()


LOCKED_BACKOFF_S = (0.2, 5.0)  # first wait and longest wait while the database stays locked


def backoff(attempts: int, settings: DeliverySettings) -> float:
    return min(settings.max_backoff_s, settings.base_backoff_s * 2 ** max(0, attempts - 1))


def rendered_from_row(row: OutboxMessage, attachment: Attachment | None = None) -> Rendered:
    """An outbox row back into what a channel sends."""
    options = tuple(RenderedOption(o["label"], o["token"]) for o in row.options or ())
    return Rendered(text=row.text, options=options, attachment=attachment)


@dataclass
class _Turn:
    """Rows for one person take turns (FIFO) so they arrive in the order they were claimed."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class DeliveryWorker:
    """Started by the composition root with the running channels; ``stop`` ends it."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        clock: Clock,
        settings: DeliverySettings | None = None,
        *,
        config: DeliveryConfig | None = None,
        holder: str | None = None,
    ) -> None:
        self.db = db
        self.channels = dict(channels)
        self.clock = clock
        self.config = config or DeliveryConfig()
        self.settings = settings or DeliverySettings.from_config(self.config)
        self.limits: dict[str, ChannelLimits] = build_limits(
            {n: c.capabilities for n, c in self.channels.items()}, self.config
        )
        self.holder = holder or f"{os.getpid()}-{secrets.token_hex(3)}"
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._recorded = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._rows: dict[int, OutboxMessage] = {}
        self._sending: set[int] = set()
        self._address_turns: dict[tuple[str, str], _Turn] = {}
        self._outcomes: list[tuple[Outcome, OutboxMessage]] = []
        self._last_upkeep = 0.0
        self._locked_since: float | None = None  # when the database was first found locked
        self._locked_tries = 0
        # claim in batches of at least a quarter of the window (fewer, larger transactions)
        self._claim_at_least = max(1, self.settings.concurrency // 4)
        self.sent = 0  # rows recorded SENT by this worker (figures for benchmarks)

    # -- life cycle -----------------------------------------------------------------------
    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._slot_free.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self) -> None:
        await self._recover_when_unlocked()
        if self._stopping:
            log.info("delivery worker stopped", extra={"holder": self.holder, "sent": 0})
            return
        recorder = asyncio.create_task(self._record_loop(), name="delivery-recorder")
        try:
            while not self._stopping:
                try:
                    claimed = await self._claim_round()
                    await self._upkeep()
                    self._locked_since = None
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not database_locked(exc):
                        log.exception("delivery round failed")
                    else:
                        await self._wait_for_lock()
                    claimed = 0
                if self._stopping:
                    break
                if self.in_flight > self.settings.concurrency - self._claim_at_least:
                    self._slot_free.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._slot_free.wait(), self.settings.idle_poll_s)
                elif claimed == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.idle_poll_s)
        finally:
            await self._drain_in_flight()
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder
            await self._flush()
            log.info("delivery worker stopped", extra={"holder": self.holder, "sent": self.sent})

    async def _drain_in_flight(self) -> None:
        """On stop: rows still waiting for a rate slot go back unsent; sends finish."""
        for row_id, task in list(self._in_flight.items()):
            if row_id not in self._sending:
                task.cancel()
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=self.settings.stop_grace_s)
        recorded = {o.id for o, _ in self._outcomes}
        for row_id, row in list(self._rows.items()):
            if row_id not in recorded and row_id not in self._sending:
                self._done(Outcome(row_id, OutboxStatus.PENDING, refund=True), row)

    async def _recover_when_unlocked(self) -> None:
        """``recover`` at start-up, waiting out a database locked by another writer."""
        while not self._stopping:
            try:
                await self.recover()
            except Exception as exc:
                if not database_locked(exc):
                    raise
                await self._wait_for_lock()
            else:
                self._locked_since = None
                return

    async def _wait_for_lock(self) -> None:
        """The database is locked: one warning per locked spell (no traceback), then a
        growing pause before the next try; ``stop`` cuts the pause short."""
        if self._locked_since is None:
            self._locked_since = time.monotonic()
            self._locked_tries = 0
            log.warning("database busy; delivery waits", extra={"holder": self.holder})
        first, longest = LOCKED_BACKOFF_S
        pause = min(longest, first * 2**self._locked_tries)
        self._locked_tries += 1
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), pause)

    async def recover(self) -> int:
        """Rows whose worker died (lease expired) are queued again (see the module docstring)."""
        async with self.db.transaction() as session:
            count = await Repositories.on(session).outbox.expire_stale_claims(
                self.clock.now(), max_attempts=self.settings.max_attempts
            )
        if count:
            log.warning("outbox rows were in flight when a worker stopped", extra={"rows": count})
        return count

    async def _upkeep(self) -> None:
        """Every third of a lease: renew this worker's leases, recover dead workers' rows,
        release held rows of people who wrote again."""
        tick = time.monotonic()
        if tick - self._last_upkeep < self.settings.lease.total_seconds() / 3:
            return
        self._last_upkeep = tick
        now = self.clock.now()
        async with self.db.transaction() as session:
            outbox = Repositories.on(session).outbox
            await outbox.renew(self.holder, now=now, lease=self.settings.lease)
            await outbox.expire_stale_claims(now, max_attempts=self.settings.max_attempts)
            for name, channel in self.channels.items():
                window = channel.capabilities.reply_window_s
                if window:
                    since = now - timedelta(seconds=window)
                    await outbox.release_held(name, seen_since=since, now=now)

    # -- claiming and sending -------------------------------------------------------------
    async def _claim_round(self) -> int:
        free = self.settings.concurrency - self.in_flight
        if free <= 0:
            return 0
        now = self.clock.now()
        async with self.db.transaction() as session:
            outbox = Repositories.on(session).outbox
            rows = await outbox.claim(
                self.holder,
                now=now,
                limit=free,
                lease=self.settings.lease,
                channels=list(self.channels),
            )
            held = await self._outside_window(outbox, rows, now) if rows else set()
        for row in rows:
            self._rows[row.id] = row
            outside = row.id in held
            if outside and not self._reaches_outside_window(row.channel):
                hours = self.channels[row.channel].capabilities.reply_window_s or 0
                error = f"outside the {hours / 3600:g}-hour reply window"
                self._done(Outcome(row.id, OutboxStatus.HELD, error=error), row)
                continue
            self._in_flight[row.id] = asyncio.create_task(self._deliver(row, outside=outside))
        return len(rows)

    async def _outside_window(
        self, outbox: OutboxRepository, rows: list[OutboxMessage], now: datetime
    ) -> set[int]:
        """Rows for people outside their channel's reply window (WeChat's 48 hours)."""
        held: set[int] = set()
        for name, channel in self.channels.items():
            window = channel.capabilities.reply_window_s
            mine = [r for r in rows if r.channel == name]
            if not window or not mine:
                continue
            seen = await outbox.last_seen(name, [r.address for r in mine])
            oldest = now - timedelta(seconds=window)
            held |= {r.id for r in mine if seen.get(r.address) is None or seen[r.address] < oldest}
        return held

    def _reaches_outside_window(self, name: str) -> bool:
        channel = self.channels[name]
        return isinstance(channel, OutsideWindowChannel) and channel.can_send_outside_window()

    async def _deliver(self, row: OutboxMessage, *, outside: bool = False) -> None:
        """One row, after the rows claimed before it for the same person: a long answer's
        pieces and a notice's follow-ups arrive in the order they were written."""
        key = (row.channel, row.address)
        turn = self._address_turns.setdefault(key, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                await self._deliver_one(row, outside=outside)
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._address_turns[key]

    async def _deliver_one(self, row: OutboxMessage, *, outside: bool) -> None:
        limits = self.limits[row.channel]
        try:
            wait = limits.chat_wait(row.address)
            if wait is None:
                retry_at = self.clock.now() + timedelta(seconds=limits.max_chat_wait)
                self._done(
                    Outcome(row.id, OutboxStatus.PENDING, retry_at=retry_at, refund=True), row
                )
                return
            if wait > 0:
                await asyncio.sleep(wait)
            channel = self.channels[row.channel]
            paid = (
                limits.paid is not None
                and row.priority >= Priority.BULK
                and isinstance(channel, PaidBroadcastChannel)
            )
            await limits.bucket(paid=paid).acquire()
        except asyncio.CancelledError:
            self._done(Outcome(row.id, OutboxStatus.PENDING, refund=True), row)
            raise
        self._sending.add(row.id)
        result = await self._send(channel, row, paid=paid, outside=outside)
        if result.status is DeliveryStatus.RETRY and result.retry_after:
            limits.rate_limited(row.address, result.retry_after, paid=paid)
        self._done(self._outcome(row, result), row)

    async def _send(
        self, channel: Channel, row: OutboxMessage, *, paid: bool, outside: bool
    ) -> DeliveryResult:
        try:
            attachment = await self._attachment(row)
            rendered = rendered_from_row(row, attachment)
            if outside:
                return await channel.send_outside_window(row.address, rendered)  # type: ignore[attr-defined]
            if paid:
                return await channel.send_paid(row.address, rendered)  # type: ignore[attr-defined]
            return await channel.send(row.address, rendered)
        except Exception as exc:  # a channel bug must not stop the queue
            log.exception("channel send raised", extra={"outbox_id": row.id})
            return DeliveryResult(DeliveryStatus.UNKNOWN, error=f"{type(exc).__name__}")

    async def _attachment(self, row: OutboxMessage) -> Attachment | None:
        if row.blob_id is None:
            return None
        async with self.db.transaction() as session:
            blob = await Repositories.on(session).outbox.blob(row.blob_id)
        return None if blob is None else Attachment(blob.filename, blob.content, blob.mime_type)

    def _outcome(self, row: OutboxMessage, result: DeliveryResult) -> Outcome:
        if result.status is not DeliveryStatus.RETRY:
            return Outcome(row.id, OUTCOME[result.status], error=result.error)
        if row.attempts >= self.settings.max_attempts:
            return Outcome(row.id, OutboxStatus.FAILED, error=result.error)
        delay = result.retry_after or backoff(row.attempts, self.settings)
        retry_at = self.clock.now() + timedelta(seconds=delay)
        return Outcome(row.id, OutboxStatus.PENDING, error=result.error, retry_at=retry_at)

    def _done(self, outcome: Outcome, row: OutboxMessage) -> None:
        self._outcomes.append((outcome, row))
        self._recorded.set()

    # -- recording ------------------------------------------------------------------------
    async def _record_loop(self) -> None:
        locked = False
        while True:
            await self._recorded.wait()
            self._recorded.clear()
            await asyncio.sleep(self.settings.record_every_s)
            try:
                await self._flush()
                locked = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if database_locked(exc):
                    if not locked:
                        log.warning("database busy; outcomes recorded later")
                    locked = True
                else:
                    log.exception("recording outcomes failed; retrying")
                self._recorded.set()
                await asyncio.sleep(0.5)

    async def _flush(self) -> None:
        """Write the outcomes gathered so far in one transaction, then free their slots."""
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        now = self.clock.now()
        try:
            async with self.db.transaction() as session:
                repos = Repositories.on(session)
                await repos.outbox.finish_many(self.holder, [o for o, _ in batch], now)
                for outcome, row in batch:
                    if outcome.status is OutboxStatus.BLOCKED:
                        await repos.users.mark_unreachable(row.channel, row.address, now)
        except BaseException:
            self._outcomes = batch + self._outcomes
            raise
        for outcome, row in batch:
            self._in_flight.pop(row.id, None)
            self._rows.pop(row.id, None)
            self._sending.discard(row.id)
            if outcome.status is OutboxStatus.SENT:
                self.sent += 1
            elif outcome.status is not OutboxStatus.PENDING:
                log.warning(
                    "outbox message not delivered",
                    extra={
                        "outbox_id": row.id,
                        "status": outcome.status.value,
                        "channel": row.channel,
                    },
                )
        self._slot_free.set()
