"""One observed price: a product at a market (a county or a named market) on a local day,
in integer fen per unit, with where it came from. One row per (product, market, unit, day)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Price(Base):
    __tablename__ = "prices"
    __table_args__ = (
        UniqueConstraint("product", "market", "unit", "observed_on"),
        Index("ix_prices_product_observed", "product", "observed_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(32))
    market: Mapped[str] = mapped_column(String(32))
    county: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    price_fen: Mapped[int]
    unit: Mapped[str] = mapped_column(String(8))
    observed_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(8))  # "staff" | "import"
    source_label: Mapped[str | None] = mapped_column(String(64))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
