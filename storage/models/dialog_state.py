"""The form a person is filling in: which form, which step, and the answers so far."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class DialogState(Base):
    __tablename__ = "dialog_states"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    form: Mapped[str] = mapped_column(String(48))
    step: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    history: Mapped[list[int]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
