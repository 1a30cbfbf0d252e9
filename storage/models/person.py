"""A person the programme serves (a household member, a trainee), whether or not they chat.

Station staff enter people who have no phone; a person who does chat is linked by
``user_id``. The ID-card number is stored once, encrypted, beside a keyed hash for
finding duplicates (storage/crypto.py); the phone is kept in full and masked on display.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (Index("ix_people_place_name", "county", "village", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str | None] = mapped_column(String(11), index=True)
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    birth_date: Mapped[date | None]
    sex: Mapped[str | None] = mapped_column(String(2))
    county: Mapped[str | None] = mapped_column(String(32))
    township: Mapped[str | None] = mapped_column(String(32))
    village: Mapped[str | None] = mapped_column(String(32))
    poor_registered: Mapped[bool | None]  # 建档立卡; None when not asked
    category: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None]  # consent to keep the record for the programme
    id_consent_at: Mapped[datetime | None]  # separate consent for the ID number (PIPL art. 29)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
