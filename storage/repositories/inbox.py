"""The inbox: record an update once, hand out what is still to be handled, mark it done.

A channel adapter calls ``add``/``add_many`` and commits before it acknowledges the update
to its platform; the dispatcher ``claim``s the row in the message's own transaction (so a
row is handled at most once, however often it is delivered or replayed) and keeps the
rendered replies on it until the adapter reports them sent (``replies_sent``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxItem, InboxStatus
from storage.upsert import insert_ignore, insert_many_ignore

# ``claim`` runs once per message: its statements are built once, on the table (the ORM's
# bulk-update path would also search the session for rows to synchronise; none are loaded).
_INBOX = InboxItem.__table__
_CLAIM = (
    update(_INBOX)
    .where(_INBOX.c.id == bindparam("item_id"), _INBOX.c.status == InboxStatus.RECEIVED.value)
    .values(
        status=bindparam("new_status"),
        handled_at=bindparam("now"),
        attempts=_INBOX.c.attempts + 1,
    )
)
_CLAIM_KEEPING = _CLAIM.values(replies=bindparam("replies"))


class InboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self, channel: str, key: str, payload: dict[str, Any], now: datetime
    ) -> int | None:
        """The new row's id, or None when this update was recorded before (a redelivery)."""
        values = {
            "channel": channel,
            "key": key,
            "payload": payload,
            "received_at": now,
            "status": InboxStatus.RECEIVED.value,
            "attempts": 0,
        }
        return await insert_ignore(self.session, InboxItem, values, ["channel", "key"])

    async def add_many(
        self, channel: str, items: Sequence[tuple[str, dict[str, Any]]], now: datetime
    ) -> dict[str, int]:
        """Record a batch of (key, payload); the ids of the rows that are new, by key."""
        rows = [
            {
                "channel": channel,
                "key": key,
                "payload": payload,
                "received_at": now,
                "status": InboxStatus.RECEIVED.value,
                "attempts": 0,
            }
            for key, payload in items
        ]
        ids = await insert_many_ignore(self.session, InboxItem, rows, ["channel", "key"])
        if not ids:
            return {}
        stmt = select(InboxItem.key, InboxItem.id).where(InboxItem.id.in_(ids))
        return {key: item_id for key, item_id in (await self.session.execute(stmt)).all()}

    async def claim(
        self,
        item_id: int,
        *,
        now: datetime,
        status: InboxStatus = InboxStatus.HANDLED,
        replies: Sequence[dict[str, Any]] | None = None,
    ) -> bool:
        """Mark a received row ``status`` (keeping its rendered replies until
        ``replies_sent``); False when it was handled already, and then nothing changes."""
        params: dict[str, Any] = {"item_id": item_id, "new_status": status.value, "now": now}
        if replies:
            params["replies"] = list(replies)
        stmt = _CLAIM_KEEPING if replies else _CLAIM
        result = await self.session.execute(stmt, params)
        return bool(result.rowcount)

    async def keep_replies(self, item_id: int, replies: Sequence[dict[str, Any]]) -> None:
        """The rendered replies of a handled row, kept until ``replies_sent``."""
        await self.session.execute(
            update(InboxItem).where(InboxItem.id == item_id).values(replies=list(replies))
        )

    async def replies_sent(self, item_ids: Sequence[int]) -> None:
        if item_ids:
            await self.session.execute(
                update(InboxItem).where(InboxItem.id.in_(list(item_ids))).values(replies=null())
            )

    async def unsent_replies(self, channel: str, *, limit: int = 500) -> list[InboxItem]:
        """Handled rows whose replies may not have gone out (the process died in between)."""
        stmt = (
            select(InboxItem)
            .where(
                InboxItem.channel == channel,
                InboxItem.status == InboxStatus.HANDLED.value,
                InboxItem.replies.is_not(None),
            )
            .order_by(InboxItem.id)
            .limit(limit)
        )
        return [i for i in (await self.session.execute(stmt)).scalars() if i.replies]

    async def counts(self, channel: str | None = None) -> dict[str, int]:
        """Rows by status (the ledger check: nothing left ``received`` once drained)."""
        stmt = select(InboxItem.status, func.count()).group_by(InboxItem.status)
        if channel is not None:
            stmt = stmt.where(InboxItem.channel == channel)
        return {status: n for status, n in (await self.session.execute(stmt)).all()}

    async def get(self, channel: str, key: str) -> InboxItem | None:
        stmt = select(InboxItem).where(InboxItem.channel == channel, InboxItem.key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def unhandled(
        self, channel: str, *, limit: int = 100, after_id: int = 0
    ) -> list[InboxItem]:
        """Received but not yet handled, oldest first (what a restart must still do)."""
        stmt = (
            select(InboxItem)
            .where(
                InboxItem.channel == channel,
                InboxItem.status == InboxStatus.RECEIVED.value,
                InboxItem.id > after_id,
            )
            .order_by(InboxItem.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def finish(
        self,
        item_id: int,
        *,
        now: datetime,
        status: InboxStatus = InboxStatus.HANDLED,
        replies: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        await self.session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id)
            .values(
                status=status.value,
                handled_at=now,
                attempts=InboxItem.attempts + 1,
                replies=list(replies) if replies is not None else None,
            )
        )

    async def purge(self, *, handled_before: datetime, keep_last: int = 0) -> int:
        """Forget handled updates older than any platform would redeliver (Telegram: 24 h),
        except the newest ``keep_last`` rows: a clock that jumped forward must not make
        just-handled updates look old enough to forget (a redelivery would be handled again)."""
        newest = await self.session.scalar(select(func.max(InboxItem.id)))
        if newest is None:
            return 0
        result = await self.session.execute(
            delete(InboxItem).where(
                InboxItem.status != InboxStatus.RECEIVED.value,
                InboxItem.received_at < handled_before,
                InboxItem.id <= newest - keep_last,
            )
        )
        return result.rowcount or 0
