"""An information item posted by staff or an administrator: topic, title, text, optional
image, the region and roles it is meant for, and how many people it was queued for.

Posting commits the item in the ``fanning_out`` state; the background fan-out then writes
its outbox rows chunk by chunk, each chunk committed with ``cursor`` (the last user id
done), and marks it ``queued`` once every subscriber in scope has a row."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class InfoItemStatus(StrEnum):
    FANNING_OUT = "fanning_out"  # posted; outbox rows are being written chunk by chunk
    QUEUED = "queued"  # every subscriber in scope has a row; the worker delivers them


class InfoItem(Base):
    """``scope`` is county, city or province, like a subscription's; ``roles`` empty means all."""

    __tablename__ = "info_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(8))
    county: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str | None] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(default=0)  # outbox rows written so far
    audience: Mapped[int] = mapped_column(default=0)  # subscribers in scope when posted
    status: Mapped[str] = mapped_column(
        String(16), default=InfoItemStatus.FANNING_OUT.value, index=True
    )
    cursor: Mapped[int] = mapped_column(default=0)  # the last user id fanned out
    fanned_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
