"""A report period an administrator closed: its reports can no longer be amended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class ReportLock(Base):
    __tablename__ = "report_locks"
    __table_args__ = (UniqueConstraint("type_code", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))
    locked_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
