"""Observed prices: record one idempotently (same product, market, unit and day = one row),
read the latest per market and a product's daily series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Price


class Recorded(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        *,
        product: str,
        market: str,
        county: str | None,
        city: str | None,
        price_fen: int,
        unit: str,
        observed_on: date,
        source: str,
        now: datetime,
        source_label: str | None = None,
        reporter_id: int | None = None,
    ) -> Recorded:
        """Insert, or correct the day's price for that market; re-recording changes nothing."""
        stmt = select(Price).where(
            Price.product == product,
            Price.market == market,
            Price.unit == unit,
            Price.observed_on == observed_on,
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            self.session.add(
                Price(
                    product=product,
                    market=market,
                    county=county,
                    city=city,
                    price_fen=price_fen,
                    unit=unit,
                    observed_on=observed_on,
                    source=source,
                    source_label=source_label,
                    reporter_id=reporter_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self.session.flush()
            return Recorded.NEW
        if row.price_fen == price_fen and row.county == county and row.city == city:
            return Recorded.UNCHANGED
        row.price_fen, row.county, row.city = price_fen, county, city
        row.source, row.source_label, row.reporter_id = source, source_label, reporter_id
        row.updated_at = now
        return Recorded.UPDATED

    async def since(self, product: str, first_day: date) -> list[Price]:
        """Every observation of ``product`` from ``first_day`` on, newest first."""
        stmt = (
            select(Price)
            .where(Price.product == product, Price.observed_on >= first_day)
            .order_by(Price.observed_on.desc(), Price.id.desc())
        )
        return list((await self.session.execute(stmt)).scalars())

    async def in_region(
        self, first_day: date, *, county: str | None = None, city: str | None = None
    ) -> list[Price]:
        """Observations from ``first_day`` on in a county, a city, or (neither) anywhere."""
        stmt = select(Price).where(Price.observed_on >= first_day)
        if county is not None:
            stmt = stmt.where(Price.county == county)
        elif city is not None:
            stmt = stmt.where(Price.city == city)
        stmt = stmt.order_by(Price.product, Price.observed_on.desc(), Price.id.desc())
        return list((await self.session.execute(stmt)).scalars())

    async def products(self, names: Sequence[str]) -> list[str]:
        """Which of ``names`` have any price at all."""
        if not names:
            return []
        stmt = select(Price.product).where(Price.product.in_(list(names))).distinct()
        return list((await self.session.execute(stmt)).scalars())
