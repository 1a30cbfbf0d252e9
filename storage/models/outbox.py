"""Messages the bot sends on its own initiative, each a row before it is a send.

A row is written in the same transaction as the business change that caused it and
is delivered by scheduler/delivery.py, which claims rows, sends them through their
channel and records the outcome here. ``dedupe_key`` makes enqueueing idempotent.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its next_attempt_at
    SENDING = "sending"  # claimed by a worker until claimed_until
    SENT = "sent"
    FAILED = "failed"  # will not work however often it is tried
    BLOCKED = "blocked"  # the recipient blocked the bot or is gone
    UNKNOWN = "unknown"  # in flight when a send timed out or a worker died: never resent
    HELD = "held"  # cannot be sent now (e.g. outside WeChat's 48-hour window)
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset(
    {
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
        OutboxStatus.BLOCKED,
        OutboxStatus.UNKNOWN,
        OutboxStatus.CANCELLED,
    }
)


class Priority(IntEnum):
    """Lower goes first: direct answers and reminders before bulk."""

    DIRECT = 0
    REMINDER = 10
    NOTICE = 50
    BULK = 90


class Blob(Base):
    """A file sent with outbox messages (a chart, an export), stored once by content hash."""

    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(128))
    mime_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(24))
    priority: Mapped[int] = mapped_column(default=Priority.NOTICE.value)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    batch_id: Mapped[int | None] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
