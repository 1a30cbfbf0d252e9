"""A person's subscription to one information topic for a region relative to where they
live (their county, its city, or the province), with the local time of the daily price
digest (price topic only) and the last local day a digest went out.

The region is not copied: it follows the person's county, so a corrected /profile moves
their subscriptions with them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Subscription(Base):
    """``scope``: county (the person's county), city (its city) or province."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("user_id", "topic"),
        Index("ix_subscriptions_topic_scope", "topic", "scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(8))
    digest_time: Mapped[str | None] = mapped_column(String(5))  # "07:30", Asia/Shanghai
    last_digest_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
