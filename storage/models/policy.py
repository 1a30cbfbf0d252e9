"""Policy Q&A state: questions handed to staff, staff answers kept as FAQ entries, and each
person's last answer (for the 详细点 / 原文 / 来源 follow-ups)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class QuestionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class PolicyQuestion(Base):
    """A question the bot could not answer, waiting for (or answered by) an administrator."""

    __tablename__ = "policy_questions"
    __table_args__ = (Index("ix_policy_questions_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12), default=QuestionStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None]


class PolicyFaq(Base):
    """A staff answer saved for reuse: similar questions are answered from it."""

    __tablename__ = "policy_faqs"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text)
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("policy_questions.id", ondelete="SET NULL")
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PolicyLastAnswer(Base):
    """The last question a person asked and what answered it (one row per person)."""

    __tablename__ = "policy_last_answers"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    question: Mapped[str] = mapped_column(String(500))
    answered: Mapped[bool]
    parts: Mapped[list] = mapped_column(JSON)  # [{"source": {...}, "full": "..."}]
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
