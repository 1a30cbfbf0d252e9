"""Updates as they arrived from a platform, committed before the platform is told they were
received: a crash after that moment loses nothing, and a platform's retry of the same
update (same ``channel`` + ``key``) is recognised instead of handled twice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class InboxStatus(StrEnum):
    RECEIVED = "received"
    HANDLED = "handled"
    FAILED = "failed"  # handling raised; kept for inspection, not retried forever


class InboxItem(Base):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "key"),
        Index("ix_inbox_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))  # update_id, MsgId, FromUserName+CreateTime
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=InboxStatus.RECEIVED.value)
    attempts: Mapped[int] = mapped_column(default=0)
    handled_at: Mapped[datetime | None]
    # The rendered replies, kept so that a retried request can be answered the same way.
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
