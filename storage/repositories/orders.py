"""The agency-order ledger: record orders, change their status, read them per household,
station, county and month, and the monthly totals other features report from.

``monthly_totals`` is the contract the liaison's monthly report codes against: cancelled
orders never count; 代销 amounts are the station's 农村产品上行 sales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Order, OrderKind, OrderStatus, Person


@dataclass(frozen=True)
class OrderTotals:
    """One period's figures for a station, a county or a whole region (cancelled excluded)."""

    purchase_count: int = 0
    purchase_fen: int = 0
    sale_count: int = 0
    sale_fen: int = 0
    households: int = 0  # distinct households served
    poor_households: int = 0  # of them 建档立卡 when served

    @property
    def count(self) -> int:
        return self.purchase_count + self.sale_count

    @property
    def total_fen(self) -> int:
        return self.purchase_fen + self.sale_fen


@dataclass(frozen=True)
class ProductFigure:
    product: str
    kind: str
    count: int
    total_fen: int


def month_range(year: int, month: int) -> tuple[date, date]:
    """The first day of the month and the first day of the next (end exclusive)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} out of range")
    start = date(year, month, 1)
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start, end


_IS_PURCHASE = Order.kind == OrderKind.PURCHASE.value
_IS_SALE = Order.kind == OrderKind.SALE.value
_TOTAL_COLUMNS = (
    func.sum(case((_IS_PURCHASE, 1), else_=0)),
    func.sum(case((_IS_PURCHASE, Order.total_fen), else_=0)),
    func.sum(case((_IS_SALE, 1), else_=0)),
    func.sum(case((_IS_SALE, Order.total_fen), else_=0)),
    func.count(distinct(Order.person_id)),
    func.count(distinct(case((Order.poor_registered.is_(True), Order.person_id)))),
)


def _totals(row: Sequence[object]) -> OrderTotals:
    return OrderTotals(*(int(value or 0) for value in row))  # type: ignore[call-overload]


def _where(county: str | None, village: str | None, start: date, end: date) -> ColumnElement[bool]:
    conditions = [
        Order.ledger_date >= start,
        Order.ledger_date < end,
        Order.status != OrderStatus.CANCELLED.value,
    ]
    if county is not None:
        conditions.append(Order.county == county)
    if village is not None:
        conditions.append(Order.village == village)
    return and_(*conditions)


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- writes ---------------------------------------------------------------------
    async def create(
        self,
        *,
        kind: OrderKind,
        county: str,
        village: str,
        person_id: int,
        poor_registered: bool,
        product: str,
        quantity: Decimal,
        unit: str,
        unit_price_fen: int | None,
        total_fen: int,
        ledger_date: date,
        now: datetime,
        created_by: int | None,
        platform: str | None = None,
        note: str | None = None,
    ) -> Order:
        order = Order(
            kind=kind.value,
            status=OrderStatus.REGISTERED.value,
            county=county,
            village=village,
            person_id=person_id,
            poor_registered=poor_registered,
            product=product,
            quantity=quantity,
            unit=unit,
            unit_price_fen=unit_price_fen,
            total_fen=total_fen,
            platform=platform,
            note=note,
            ledger_date=ledger_date,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        self.session.add(order)
        await self.session.flush()
        return order

    @staticmethod
    def set_status(order: Order, status: OrderStatus, now: datetime) -> None:
        """Move ``order`` to ``status`` and stamp the time; the caller checks the transition."""
        order.status = status.value
        order.updated_at = now
        if status is OrderStatus.SHIPPED:
            order.shipped_at = now
        elif status is OrderStatus.DONE:
            order.completed_at = now
        elif status is OrderStatus.CANCELLED:
            order.cancelled_at = now

    # -- single orders --------------------------------------------------------------
    async def get(self, order_id: int) -> Order | None:
        return await self.session.get(Order, order_id)

    async def with_person(
        self, order_id: int, *, for_update: bool = False
    ) -> tuple[Order, Person] | None:
        """The order and its household; ``for_update`` locks the order row (PostgreSQL) so
        two staff pressing 已发货 at once cannot both move it."""
        stmt = select(Order, Person).join(Person, Person.id == Order.person_id)
        stmt = stmt.where(Order.id == order_id)
        if for_update:
            stmt = stmt.with_for_update(of=Order)
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def history(self, order_id: int, limit: int = 20) -> list[AuditEntry]:
        """The audit entries of one order, oldest first (who changed what, when)."""
        stmt = (
            select(AuditEntry)
            .where(AuditEntry.target_type == "order", AuditEntry.target_id == str(order_id))
            .order_by(AuditEntry.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    # -- lists ----------------------------------------------------------------------
    async def for_person(self, person_id: int, limit: int = 20) -> list[Order]:
        """A household's own orders, newest first (cancelled ones too, marked as such)."""
        stmt = (
            select(Order)
            .where(Order.person_id == person_id)
            .order_by(Order.ledger_date.desc(), Order.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    def _station_rows(
        self, county: str, village: str | None, start: date, end: date
    ) -> Select[tuple[Order, Person]]:
        stmt = (
            select(Order, Person)
            .join(Person, Person.id == Order.person_id)
            .where(Order.county == county, Order.ledger_date >= start, Order.ledger_date < end)
        )
        if village is not None:
            stmt = stmt.where(Order.village == village)
        return stmt.order_by(Order.ledger_date, Order.id)

    async def recent(
        self, *, county: str, village: str, limit: int = 10
    ) -> list[tuple[Order, Person]]:
        stmt = (
            select(Order, Person)
            .join(Person, Person.id == Order.person_id)
            .where(Order.county == county, Order.village == village)
            .order_by(Order.id.desc())
            .limit(limit)
        )
        return [(o, p) for o, p in (await self.session.execute(stmt)).all()]

    async def ledger_rows(
        self, *, county: str, village: str | None, year: int, month: int
    ) -> list[tuple[Order, Person]]:
        """Every order of a station (or a county) in a month, cancelled included, by date."""
        start, end = month_range(year, month)
        rows = await self.session.execute(self._station_rows(county, village, start, end))
        return [(o, p) for o, p in rows.all()]

    # -- figures --------------------------------------------------------------------
    async def totals(
        self, *, county: str | None, village: str | None, start: date, end: date
    ) -> OrderTotals:
        """Figures for ``start`` ≤ ledger date < ``end``; ``None`` widens to all of a level."""
        stmt = select(*_TOTAL_COLUMNS).where(_where(county, village, start, end))
        return _totals((await self.session.execute(stmt)).one())

    async def monthly_totals(
        self, *, county: str | None, village: str | None, year: int, month: int
    ) -> OrderTotals:
        """A station's (or with ``village=None`` a county's) figures for one month."""
        start, end = month_range(year, month)
        return await self.totals(county=county, village=village, start=start, end=end)

    async def monthly_totals_by_village(
        self, *, county: str, year: int, month: int
    ) -> list[tuple[str, OrderTotals]]:
        """Per station (village) of a county, by village name; stations without orders absent."""
        start, end = month_range(year, month)
        stmt = (
            select(Order.village, *_TOTAL_COLUMNS)
            .where(_where(county, None, start, end))
            .group_by(Order.village)
            .order_by(Order.village)
        )
        return [(row[0], _totals(row[1:])) for row in (await self.session.execute(stmt)).all()]

    async def monthly_totals_by_county(
        self, *, counties: Sequence[str] | None, year: int, month: int
    ) -> list[tuple[str, OrderTotals]]:
        """Per county (all counties, or those listed), by county name."""
        start, end = month_range(year, month)
        stmt = select(Order.county, *_TOTAL_COLUMNS).where(_where(None, None, start, end))
        if counties is not None:
            stmt = stmt.where(Order.county.in_(list(counties)))
        stmt = stmt.group_by(Order.county).order_by(Order.county)
        return [(row[0], _totals(row[1:])) for row in (await self.session.execute(stmt)).all()]

    async def top_products(
        self, *, county: str, village: str | None, start: date, end: date, limit: int = 5
    ) -> list[ProductFigure]:
        """The products with the largest amounts in the period (cancelled excluded)."""
        amount = func.sum(Order.total_fen)
        stmt = (
            select(Order.product, Order.kind, func.count(), amount)
            .where(_where(county, village, start, end))
            .group_by(Order.product, Order.kind)
            .order_by(amount.desc(), Order.product)
            .limit(limit)
        )
        return [
            ProductFigure(product, kind, int(count), int(total or 0))
            for product, kind, count, total in (await self.session.execute(stmt)).all()
        ]
