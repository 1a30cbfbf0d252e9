"""A notice from an administrator to roles in a region: drafted with a preview, confirmed,
optionally scheduled, then fanned out into outbox rows (``batch_id`` = the broadcast's id)
in chunks, each chunk committed with the cursor that says how far the fan-out got."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # previewed, waiting for the administrator's confirmation
    SCHEDULED = "scheduled"  # confirmed; the fan-out begins at start_at
    FANNING_OUT = "fanning_out"  # outbox rows are being written chunk by chunk
    QUEUED = "queued"  # every recipient has a row; the worker delivers them
    CANCELLED = "cancelled"


class BroadcastScope(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    VILLAGE = "village"


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(64))  # as shown: 河南省, 安阳市, 滑县 王庄村
    counties: Mapped[list[str] | None] = mapped_column(JSON)  # None: the whole province
    village: Mapped[str | None] = mapped_column(String(32))
    owner_county: Mapped[str | None] = mapped_column(String(32))  # a county admin's county
    start_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(
        String(16), default=BroadcastStatus.DRAFT.value, index=True
    )
    recipients: Mapped[int] = mapped_column(default=0)  # people in scope when confirmed
    enqueued: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)  # no reachable channel at fan-out
    cursor: Mapped[int] = mapped_column(default=0)  # the last user id fanned out
    confirmed_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    fanned_out_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]  # when its sender was told the outcome
