"""Appends to the audit log and reads it back (newest first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        action: str,
        target_type: str,
        target_id: str | int,
        at: datetime,
        actor_id: int | None = None,
        actor_label: str = "",
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            at=at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            details=details or {},
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def recent(
        self, *, action: str | None = None, target_type: str | None = None, limit: int = 50
    ) -> list[AuditEntry]:
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if target_type:
            stmt = stmt.where(AuditEntry.target_type == target_type)
        return list((await self.session.execute(stmt)).scalars())
