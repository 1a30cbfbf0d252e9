"""A training course: what is taught, where and when, to whom, and how many may attend.

Staff and administrators create, edit and cancel courses; registrations (registration.py)
hang off a course. ``audience`` and the topics are stored as the short Chinese keywords
people pick (农户, 村干部, 电商带头人; 直播带货…), shown as they are.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class CourseStatus(StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_county_starts", "county", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    county: Mapped[str] = mapped_column(String(32))
    place: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    teacher: Mapped[str] = mapped_column(String(32))
    audience: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12), default=CourseStatus.OPEN.value)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None]

    @property
    def is_open(self) -> bool:
        return self.status == CourseStatus.OPEN.value
