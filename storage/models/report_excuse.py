"""A liaison's request to be excused from a report period (请假, 本月无业务), and the county
administrator's decision on it; an accepted excuse stops reminders and is not late."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class ExcuseStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReportExcuse(Base):
    __tablename__ = "report_excuses"
    __table_args__ = (UniqueConstraint("type_code", "period", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    county: Mapped[str] = mapped_column(String(32))
    village: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))  # leave | no_business
    status: Mapped[str] = mapped_column(String(12), default=ExcuseStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
