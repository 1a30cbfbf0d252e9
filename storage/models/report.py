"""A village's report for one type and period (the latest figures) and every submission of
it (the first and each amendment), kept side by side with the figures cunzhan recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("type_code", "period", "county", "village"),
        Index("ix_reports_period", "type_code", "period", "county"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))  # 2026-10
    county: Mapped[str] = mapped_column(String(32))
    village: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the liaison confirmed
    recorded: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what cunzhan had recorded
    version: Mapped[int] = mapped_column(default=1)
    late: Mapped[bool] = mapped_column(default=False)
    first_submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportRevision(Base):
    """One submission: version 1 is the first, each amendment adds the next."""

    __tablename__ = "report_revisions"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    version: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recorded: Mapped[dict[str, Any]] = mapped_column(default=dict)
    late: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
