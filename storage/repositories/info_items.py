"""Information items posted by staff and administrators."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InfoItem


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
    ) -> InfoItem:
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
