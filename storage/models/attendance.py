"""Attendance: one row per registration per session (a local calendar day of the course)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("registration_id", "session_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    session_date: Mapped[date]
    method: Mapped[str] = mapped_column(String(8))  # "button" | "phone"
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
