"""The outbox: enqueue messages idempotently, let workers claim due rows, record outcomes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Blob, OutboxMessage, OutboxStatus, Priority
from storage.upsert import insert_ignore, insert_many_ignore

MAX_ERROR_CHARS = 500


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
        """Bulk form of ``enqueue``: each dict takes ``enqueue``'s keyword arguments."""
        return await insert_many_ignore(
            self.session, OutboxMessage, [_row(**r) for r in rows], ["dedupe_key"]
        )

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
        values: dict[str, Any] = {
            "status": status.value,
            "claimed_by": None,
            "claimed_until": None,
            "error": error[:MAX_ERROR_CHARS] if error else None,
        }
        if status is OutboxStatus.SENT:
            values["sent_at"] = now
        if status is OutboxStatus.PENDING:
            values["next_attempt_at"] = retry_at or now
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.claimed_by == holder,
                OutboxMessage.status == OutboxStatus.SENDING.value,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    async def expire_stale_claims(self, now: datetime) -> int:
        """Rows whose worker died mid-send: they may have arrived, so they become UNKNOWN."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.SENDING.value,
                OutboxMessage.claimed_until < now,
            )
            .values(
                status=OutboxStatus.UNKNOWN.value,
                claimed_by=None,
                claimed_until=None,
                error="worker stopped while sending",
            )
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
