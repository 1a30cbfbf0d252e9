"""The inbox: record an update once, hand out what is still to be handled, mark it done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxItem, InboxStatus
from storage.upsert import insert_ignore


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

    async def get(self, channel: str, key: str) -> InboxItem | None:
        stmt = select(InboxItem).where(InboxItem.channel == channel, InboxItem.key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def unhandled(self, channel: str, *, limit: int = 100) -> list[InboxItem]:
        """Received but not yet handled, oldest first (what a restart must still do)."""
        stmt = (
            select(InboxItem)
            .where(InboxItem.channel == channel, InboxItem.status == InboxStatus.RECEIVED.value)
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

    async def purge(self, *, handled_before: datetime) -> int:
        """Forget handled updates older than any platform would redeliver (Telegram: 24 h)."""
        result = await self.session.execute(
            delete(InboxItem).where(
                InboxItem.status != InboxStatus.RECEIVED.value,
                InboxItem.received_at < handled_before,
            )
        )
        return result.rowcount or 0
