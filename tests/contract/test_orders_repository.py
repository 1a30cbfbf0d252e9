"""The order ledger's repository on SQLite and PostgreSQL: the monthly totals other
features report from (cancelled excluded, distinct households, 建档立卡 of them, month
boundaries, village=None for a whole county), per-village and per-county figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from storage.db import Database
from storage.models import OrderKind, OrderStatus
from storage.repositories import OrderTotals, Repositories

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


async def seed(db: Database) -> list[int]:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        people = [
            await repos.people.create(name=name, now=NOW, created_by=None, county=c, village=v)
            for name, c, v in (
                ("张三", "滑县", "王庄村"),
                ("李四", "滑县", "王庄村"),
                ("王五", "滑县", "李庄村"),
                ("赵六", "内黄县", "东村"),
            )
        ]
        rows = [
            # person, kind, fen, poor, date, cancelled
            (0, OrderKind.SALE, 70000, True, date(2026, 11, 1), False),
            (0, OrderKind.PURCHASE, 12000, True, date(2026, 11, 30), False),
            (1, OrderKind.PURCHASE, 5000, False, date(2026, 11, 15), False),
            (1, OrderKind.SALE, 99900, False, date(2026, 11, 15), True),
            (1, OrderKind.SALE, 30000, False, date(2026, 10, 31), False),
            (1, OrderKind.SALE, 40000, False, date(2026, 12, 1), False),
            (2, OrderKind.SALE, 15000, True, date(2026, 11, 3), False),
            (3, OrderKind.PURCHASE, 800, True, date(2026, 11, 3), False),
        ]
        ids = []
        for person, kind, fen, poor, day, cancelled in rows:
            order = await repos.orders.create(
                kind=kind,
                county=people[person].county or "",
                village=people[person].village or "",
                person_id=people[person].id,
                poor_registered=poor,
                product="苹果" if kind is OrderKind.SALE else "化肥",
                quantity=Decimal("2.5"),
                unit="斤",
                unit_price_fen=None,
                total_fen=fen,
                ledger_date=day,
                now=NOW,
                created_by=None,
            )
            if cancelled:
                repos.orders.set_status(order, OrderStatus.CANCELLED, NOW)
            ids.append(order.id)
    return ids


async def test_monthly_totals_contract(db: Database) -> None:
    await seed(db)
    async with db.transaction() as session:
        orders = Repositories.on(session).orders
        station = await orders.monthly_totals(county="滑县", village="王庄村", year=2026, month=11)
        county = await orders.monthly_totals(county="滑县", village=None, year=2026, month=11)
        october = await orders.monthly_totals(county="滑县", village="王庄村", year=2026, month=10)
        empty = await orders.monthly_totals(county="滑县", village="王庄村", year=2026, month=9)
    assert station == OrderTotals(
        purchase_count=2,
        purchase_fen=17000,
        sale_count=1,
        sale_fen=70000,
        households=2,
        poor_households=1,
    )
    assert county == OrderTotals(2, 17000, 2, 85000, 3, 2)
    assert october == OrderTotals(0, 0, 1, 30000, 1, 0)
    assert empty == OrderTotals() and empty.count == 0 and station.total_fen == 87000


async def test_breakdowns_products_and_reading_back(db: Database) -> None:
    ids = await seed(db)
    async with db.transaction() as session:
        orders = Repositories.on(session).orders
        villages = await orders.monthly_totals_by_village(county="滑县", year=2026, month=11)
        counties = await orders.monthly_totals_by_county(counties=None, year=2026, month=11)
        some = await orders.monthly_totals_by_county(counties=["内黄县"], year=2026, month=11)
        top = await orders.top_products(
            county="滑县", village=None, start=date(2026, 11, 1), end=date(2026, 12, 1)
        )
        ledger = await orders.ledger_rows(county="滑县", village="王庄村", year=2026, month=11)
        order = await orders.get(ids[0])
    assert [v for v, _ in villages] == ["李庄村", "王庄村"]
    assert [(c, t.count) for c, t in counties] == [("内黄县", 1), ("滑县", 4)]
    assert [c for c, _ in some] == ["内黄县"]
    assert [(p.product, p.kind, p.count, p.total_fen) for p in top] == [
        ("苹果", "sale", 2, 85000),
        ("化肥", "purchase", 2, 17000),
    ]
    assert [o.ledger_date.day for o, _ in ledger] == [1, 15, 15, 30]  # cancelled listed too
    assert ledger[2][0].status == "cancelled" and ledger[2][1].name == "李四"
    assert order is not None and order.quantity == Decimal("2.5")
