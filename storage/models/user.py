"""A person cunzhan knows: role, place, display name and bind-throttle counters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Role(StrEnum):
    HOUSEHOLD = "household"
    STAFF = "staff"
    LIAISON = "liaison"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.HOUSEHOLD.value, index=True)
    county: Mapped[str | None] = mapped_column(String(32))
    village: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_seen_at: Mapped[datetime | None]
    bind_failures: Mapped[int] = mapped_column(default=0)
    bind_locked_until: Mapped[datetime | None]

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
