"""Follow-up after training: asked 30 and 90 days after a course ends, answered into the archive.

``asked_at`` is when the question was put (in chat, or left for staff to ask by phone when
the trainee does not chat); ``outcome`` is one of FollowUpOutcome once answered.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class FollowUpOutcome(StrEnum):
    SHOP = "shop"  # opened an online shop
    SELLING = "selling"  # selling online
    EMPLOYED = "employed"  # employed in e-commerce
    NOTHING = "nothing"  # nothing yet


class FollowUp(Base):
    __tablename__ = "followups"
    __table_args__ = (UniqueConstraint("registration_id", "round_days"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    round_days: Mapped[int]  # 30 | 90
    asked_at: Mapped[datetime]
    asked_in_chat: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(12))
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
