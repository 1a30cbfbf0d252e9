"""Information items posted by staff and administrators, and the ones whose fan-out into
outbox rows is still under way (locked chunk by chunk by the background fan-out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InfoItem, InfoItemStatus


class InfoItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        topic: str,
        title: str,
        body: str,
        scope: str,
        county: str | None,
        city: str | None,
        roles: Sequence[str],
        now: datetime,
        author_id: int | None = None,
        author_label: str | None = None,
        blob_id: int | None = None,
        audience: int = 0,
    ) -> InfoItem:
        """A new item waiting for its fan-out (``audience``: subscribers in scope now)."""
        item = InfoItem(
            topic=topic,
            title=title,
            body=body,
            scope=scope,
            county=county,
            city=city,
            roles=list(roles),
            author_id=author_id,
            author_label=author_label,
            blob_id=blob_id,
            recipients=0,
            audience=audience,
            status=InfoItemStatus.FANNING_OUT.value,
            cursor=0,
            created_at=now,
        )
        self.session.add(item)
        await self.session.flush()
        return item

    async def get(self, item_id: int) -> InfoItem | None:
        return await self.session.get(InfoItem, item_id)

    async def recent(self, *, limit: int = 20) -> list[InfoItem]:
        stmt = select(InfoItem).order_by(InfoItem.id.desc()).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def lock(self, item_id: int) -> InfoItem | None:
        """The item, locked for this transaction (PostgreSQL; SQLite's write transaction
        already excludes other writers)."""
        stmt = select(InfoItem).where(InfoItem.id == item_id)
        bind = self.session.bind
        if bind is not None and bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def fanning_out(self) -> list[int]:
        """Items whose outbox rows are not all written yet, oldest first."""
        stmt = (
            select(InfoItem.id)
            .where(InfoItem.status == InfoItemStatus.FANNING_OUT.value)
            .order_by(InfoItem.id)
        )
        return list((await self.session.execute(stmt)).scalars())
