"""Broadcasts: drafts, confirmation and cancellation, who receives them (page by page for
the fan-out), and their delivery progress read from the outbox rows of their batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, BroadcastStatus, Identity, OutboxMessage, OutboxStatus, User

RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    channel: str
    address: str


@dataclass(frozen=True)
class Page:
    """One page of a broadcast's audience: who can be reached and how many cannot."""

    recipients: list[Recipient]
    skipped: int
    last_user_id: int | None  # None: the audience is exhausted


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    pending: int
    failed: int
    unknown: int
    unreachable: int
    cancelled: int
    rate: float  # sends per second over the last minute
    average_rate: float  # sends per second from the first send to the last

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.unknown + self.unreachable + self.cancelled


class BroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _is_postgres(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def create_draft(
        self,
        *,
        created_by: int | None,
        text: str,
        roles: Sequence[str],
        scope: str,
        region: str,
        counties: Sequence[str] | None,
        village: str | None,
        owner_county: str | None,
        start_at: datetime,
        now: datetime,
    ) -> Broadcast:
        row = Broadcast(
            created_at=now,
            created_by=created_by,
            text=text,
            roles=list(roles),
            scope=scope,
            region=region,
            counties=None if counties is None else list(counties),
            village=village,
            owner_county=owner_county,
            start_at=start_at,
            status=BroadcastStatus.DRAFT.value,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def lock(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast, locked for this transaction (PostgreSQL; SQLite's write
        transaction already excludes other writers)."""
        stmt = select(Broadcast).where(Broadcast.id == broadcast_id)
        if self._is_postgres:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def confirm(self, row: Broadcast, now: datetime) -> bool:
        if row.status != BroadcastStatus.DRAFT.value:
            return False
        row.status = BroadcastStatus.SCHEDULED.value
        row.confirmed_at = now
        row.start_at = max(row.start_at, now)
        row.recipients = await self.count_audience(row, reachable_only=False)
        await self.session.flush()
        return True

    async def cancel(self, row: Broadcast, now: datetime) -> bool:
        """Only before the fan-out began: afterwards the notice is on its way."""
        if row.status not in (BroadcastStatus.DRAFT.value, BroadcastStatus.SCHEDULED.value):
            return False
        row.status = BroadcastStatus.CANCELLED.value
        row.cancelled_at = now
        await self.session.flush()
        return True

    async def due(self, now: datetime) -> list[int]:
        """Broadcasts whose fan-out should run now, in the order they were due."""
        stmt = (
            select(Broadcast.id)
            .where(
                (Broadcast.status == BroadcastStatus.FANNING_OUT.value)
                | (
                    (Broadcast.status == BroadcastStatus.SCHEDULED.value)
                    & (Broadcast.start_at <= now)
                )
            )
            .order_by(Broadcast.start_at, Broadcast.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def finished_unreported(self) -> list[Broadcast]:
        """Fanned-out broadcasts with nothing left to send whose sender was not yet told."""
        waiting = exists().where(
            OutboxMessage.batch_id == Broadcast.id,
            OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
        )
        stmt = (
            select(Broadcast)
            .where(
                Broadcast.status == BroadcastStatus.QUEUED.value,
                Broadcast.reported_at.is_(None),
                ~waiting,
            )
            .order_by(Broadcast.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def recent(self, *, limit: int = 10, county: str | None = None) -> list[Broadcast]:
        """The latest non-draft broadcasts; with ``county``, those of that county's admins."""
        stmt = select(Broadcast).where(Broadcast.status != BroadcastStatus.DRAFT.value)
        if county is not None:
            stmt = stmt.where(Broadcast.owner_county == county)
        stmt = stmt.order_by(Broadcast.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    # -- the audience ---------------------------------------------------------------------
    @staticmethod
    def _audience(row: Broadcast):  # type: ignore[no-untyped-def]
        stmt = select(User.id).where(User.role.in_(list(row.roles)))
        if row.counties is not None:
            stmt = stmt.where(User.county.in_(list(row.counties)))
        if row.village:
            stmt = stmt.where(User.village == row.village)
        return stmt

    async def count_audience(self, row: Broadcast, *, reachable_only: bool = True) -> int:
        """People in scope (by default only those who can be reached on some channel now)."""
        stmt = self._audience(row)
        if reachable_only:
            stmt = stmt.where(
                exists().where(Identity.user_id == User.id, Identity.unreachable_at.is_(None))
            )
        inner = stmt.subquery()
        return int(
            (await self.session.execute(select(func.count()).select_from(inner))).scalar_one()
        )

    async def audience_page(self, row: Broadcast, *, after: int, limit: int) -> Page:
        """The next ``limit`` people (by user id after ``after``) with the channel each is
        reached on: the reachable one they last wrote on."""
        ids = list(
            (
                await self.session.execute(
                    self._audience(row).where(User.id > after).order_by(User.id).limit(limit)
                )
            ).scalars()
        )
        if not ids:
            return Page([], 0, None)
        stmt = (
            select(Identity.user_id, Identity.channel, Identity.external_id)
            .where(Identity.user_id.in_(ids), Identity.unreachable_at.is_(None))
            .order_by(
                Identity.user_id,
                Identity.last_seen_at.desc().nulls_last(),
                Identity.id.desc(),
            )
        )
        chosen: dict[int, Recipient] = {}
        for user_id, channel, address in (await self.session.execute(stmt)).all():
            chosen.setdefault(user_id, Recipient(user_id, channel, address))
        recipients = [chosen[i] for i in ids if i in chosen]
        return Page(recipients, len(ids) - len(recipients), ids[-1])

    # -- progress -------------------------------------------------------------------------
    async def progress(self, row: Broadcast, now: datetime) -> Progress:
        stmt = (
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.batch_id == row.id)
            .group_by(OutboxMessage.status)
        )
        counts = {status: n for status, n in (await self.session.execute(stmt)).all()}
        recent = select(func.count()).where(
            OutboxMessage.batch_id == row.id,
            OutboxMessage.status == OutboxStatus.SENT.value,
            OutboxMessage.sent_at >= now - RATE_WINDOW,
        )
        in_window = int((await self.session.execute(recent)).scalar_one())
        span = select(func.min(OutboxMessage.sent_at), func.max(OutboxMessage.sent_at)).where(
            OutboxMessage.batch_id == row.id, OutboxMessage.status == OutboxStatus.SENT.value
        )
        first, last = (await self.session.execute(span)).one()
        sent = counts.get(OutboxStatus.SENT.value, 0)
        seconds = (last - first).total_seconds() if first and last else 0.0
        window = min(RATE_WINDOW.total_seconds(), (now - first).total_seconds()) if first else 0.0
        pending = sum(counts.get(s.value, 0) for s in (OutboxStatus.PENDING, OutboxStatus.SENDING))
        unreachable = (
            counts.get(OutboxStatus.BLOCKED.value, 0)
            + counts.get(OutboxStatus.HELD.value, 0)
            + row.skipped
        )
        queued = sum(counts.values()) + row.skipped
        fanning = row.status in (
            BroadcastStatus.SCHEDULED.value,
            BroadcastStatus.FANNING_OUT.value,
        )
        total = max(row.recipients, queued) if fanning else queued
        if fanning:  # recipients not yet written to the outbox are waiting too
            pending += max(0, total - queued)
        return Progress(
            total=total,
            sent=sent,
            pending=pending,
            failed=counts.get(OutboxStatus.FAILED.value, 0),
            unknown=counts.get(OutboxStatus.UNKNOWN.value, 0),
            unreachable=unreachable,
            cancelled=counts.get(OutboxStatus.CANCELLED.value, 0),
            rate=in_window / window if window > 0 else 0.0,
            average_rate=sent / seconds if seconds > 0 else 0.0,
        )
