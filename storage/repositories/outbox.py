"""The outbox: enqueue messages idempotently, let workers claim due rows, record outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Blob, Identity, OutboxMessage, OutboxStatus, Priority
from storage.upsert import insert_ignore

MAX_ERROR_CHARS = 500
STALE_CLAIM = "worker stopped while sending; sent again"


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row. ``refund``: the row was not tried (put back before
    its send), so the claim's attempt does not count."""

    id: int
    status: OutboxStatus
    error: str | None = None
    retry_at: datetime | None = None
    refund: bool = False


def _held_by(holder: str) -> tuple[ColumnElement[bool], ...]:
    """The rows ``holder`` claimed and is still sending."""
    return (
        OutboxMessage.claimed_by == holder,
        OutboxMessage.status == OutboxStatus.SENDING.value,
    )


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _is_postgres(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def enqueue(
        self,
        *,
        user_id: int | None,
        channel: str,
        address: str,
        text: str,
        now: datetime,
        kind: str,
        options: Sequence[dict[str, str]] = (),
        priority: int = Priority.NOTICE,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
        batch_id: int | None = None,
        blob_id: int | None = None,
    ) -> int | None:
        """Add one message; None (and nothing written) if ``dedupe_key`` was enqueued before."""
        values = _row(
            user_id=user_id,
            channel=channel,
            address=address,
            text=text,
            now=now,
            kind=kind,
            options=options,
            priority=priority,
            dedupe_key=dedupe_key,
            not_before=not_before,
            batch_id=batch_id,
            blob_id=blob_id,
        )
        if dedupe_key is None:
            row = OutboxMessage(**values)
            self.session.add(row)
            await self.session.flush()
            return row.id
        return await insert_ignore(self.session, OutboxMessage, values, ["dedupe_key"])

    async def enqueue_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Bulk form of ``enqueue``: each dict takes ``enqueue``'s keyword arguments; the ids
        of the rows inserted (those whose dedupe key was new). One cached statement run
        for many parameter sets: several times faster than one multi-row VALUES."""
        if not rows:
            return []
        table = OutboxMessage.__table__
        stmt = (
            (postgresql if self._is_postgres else sqlite)
            .insert(table)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.id)
        )
        result = await self.session.execute(stmt, [_row(**r) for r in rows])
        return list(result.scalars())

    async def put_blob(self, filename: str, mime_type: str, content: bytes) -> int:
        digest = hashlib.sha256(content).hexdigest()
        values = {
            "sha256": digest,
            "filename": filename[:128],
            "mime_type": mime_type[:64],
            "content": content,
        }
        blob_id = await insert_ignore(self.session, Blob, values, ["sha256"])
        if blob_id is not None:
            return blob_id
        return (
            await self.session.execute(select(Blob.id).where(Blob.sha256 == digest))
        ).scalar_one()

    async def blob(self, blob_id: int) -> Blob | None:
        return await self.session.get(Blob, blob_id)

    async def claim(
        self,
        holder: str,
        *,
        now: datetime,
        limit: int,
        lease: timedelta,
        channels: Sequence[str] | None = None,
    ) -> list[OutboxMessage]:
        """Mark up to ``limit`` due rows as being sent by ``holder``; others skip them."""
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING.value,
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.priority, OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if channels is not None:
            due = due.where(OutboxMessage.channel.in_(list(channels)))
        if self._is_postgres:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(
                status=OutboxStatus.SENDING.value,
                claimed_by=holder,
                claimed_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(OutboxMessage)
            .execution_options(synchronize_session=False)
        )
        rows = list((await self.session.execute(stmt)).scalars())
        return sorted(rows, key=lambda r: (r.priority, r.id))

    async def finish(
        self,
        message_id: int,
        holder: str,
        status: OutboxStatus,
        *,
        now: datetime,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Record a send's outcome; False if the row was no longer claimed by ``holder``."""
        return await self._finish(message_id, holder, status, now, error, retry_at, {}) == 1

    async def finish_many(self, holder: str, outcomes: Sequence[Outcome], now: datetime) -> int:
        """Record many outcomes at once (sent rows in one statement); rows no longer
        claimed by ``holder`` are left alone. The number of rows recorded."""
        sent = [o.id for o in outcomes if o.status is OutboxStatus.SENT]
        done = 0
        for start in range(0, len(sent), 500):
            ids = sent[start : start + 500]
            result = await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), *_held_by(holder))
                .values(
                    status=OutboxStatus.SENT.value,
                    sent_at=now,
                    claimed_by=None,
                    claimed_until=None,
                    error=None,
                )
                .execution_options(synchronize_session=False)
            )
            done += result.rowcount or 0
        for o in outcomes:
            if o.status is OutboxStatus.SENT:
                continue
            values: dict[str, Any] = {}
            if o.refund:
                values["attempts"] = OutboxMessage.attempts - 1
            done += await self._finish(o.id, holder, o.status, now, o.error, o.retry_at, values)
        return done

    async def _finish(
        self,
        message_id: int,
        holder: str,
        status: OutboxStatus,
        now: datetime,
        error: str | None,
        retry_at: datetime | None,
        extra: dict[str, Any],
    ) -> int:
        values: dict[str, Any] = {
            "status": status.value,
            "claimed_by": None,
            "claimed_until": None,
            "error": error[:MAX_ERROR_CHARS] if error else None,
            **extra,
        }
        if status is OutboxStatus.SENT:
            values["sent_at"] = now
        if status is OutboxStatus.PENDING:
            values["next_attempt_at"] = retry_at or now
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, *_held_by(holder))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def renew(self, holder: str, *, now: datetime, lease: timedelta) -> int:
        """Extend the lease on every row ``holder`` is still sending (a worker's heartbeat)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(*_held_by(holder))
            .values(claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def expire_stale_claims(self, now: datetime, *, max_attempts: int = 8) -> int:
        """Rows whose worker died (its lease ran out without a heartbeat) are sent again:
        at most the rows that worker had in flight can arrive twice, none is lost. A row
        that already used its attempts becomes UNKNOWN instead."""
        exhausted = OutboxMessage.attempts >= max_attempts
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.SENDING.value,
                OutboxMessage.claimed_until < now,
            )
            .values(
                status=case(
                    (exhausted, OutboxStatus.UNKNOWN.value), else_=OutboxStatus.PENDING.value
                ),
                next_attempt_at=now,
                claimed_by=None,
                claimed_until=None,
                error=STALE_CLAIM,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def last_seen(self, channel: str, addresses: Sequence[str]) -> dict[str, datetime]:
        """When each of these people last wrote on ``channel`` (for reply windows)."""
        if not addresses:
            return {}
        stmt = select(Identity.external_id, Identity.last_seen_at).where(
            Identity.channel == channel, Identity.external_id.in_(list(set(addresses)))
        )
        return {a: seen for a, seen in (await self.session.execute(stmt)).all() if seen}

    async def release_held(self, channel: str, *, seen_since: datetime, now: datetime) -> int:
        """Held rows of people who wrote again since ``seen_since`` go back to the queue."""
        wrote = exists().where(
            Identity.channel == OutboxMessage.channel,
            Identity.external_id == OutboxMessage.address,
            Identity.last_seen_at >= seen_since,
        )
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.HELD.value,
                OutboxMessage.channel == channel,
                wrote,
            )
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=now, error=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def cancel_batch(self, batch_id: int) -> int:
        """Rows of a batch that have not been sent yet will not be."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.batch_id == batch_id,
                OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.HELD.value]),
            )
            .values(status=OutboxStatus.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def counts(self, *, batch_id: int | None = None) -> dict[str, int]:
        stmt = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if batch_id is not None:
            stmt = stmt.where(OutboxMessage.batch_id == batch_id)
        return {status: n for status, n in (await self.session.execute(stmt)).all()}

    async def for_user(self, user_id: int, *, limit: int = 50) -> list[OutboxMessage]:
        stmt = (
            select(OutboxMessage)
            .where(OutboxMessage.user_id == user_id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())


def _row(
    *,
    user_id: int | None,
    channel: str,
    address: str,
    text: str,
    now: datetime,
    kind: str,
    options: Sequence[dict[str, str]] = (),
    priority: int = Priority.NOTICE,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    batch_id: int | None = None,
    blob_id: int | None = None,
) -> dict[str, Any]:
    return {
        "created_at": now,
        "user_id": user_id,
        "channel": channel,
        "address": address,
        "kind": kind,
        "priority": int(priority),
        "dedupe_key": dedupe_key,
        "batch_id": batch_id,
        "text": text,
        "options": [dict(o) for o in options],
        "blob_id": blob_id,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": max(now, not_before) if not_before else now,
    }
