"""Ledger query times on a large ledger: 100,000 orders across 500 stations (a year).

    .venv/bin/python -m bench.orders [--orders 100000] [--stations 500] [--pg URL]

Times /ledger for one station-month (staff, through the real dispatcher: routing,
queries, rendering, commit) and a county-month aggregate (a county administrator's
/ledger: per village and total), plus the bare repository queries underneath. SQLite
always; PostgreSQL too with --pg (or CUNZHAN_BENCH_PG_URL); the database given is wiped.
The last line printed is one JSON object of the figures (milliseconds, median and p95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bot.app import CunzhanApp
from bot.clock import ManualClock
from bot.settings import load_settings, normalise_database_url
from content.regions import Gazetteer
from handlers.order_line import parse_order_line
from storage import migrate
from storage.db import Database
from storage.models import Order, Person, Role
from storage.repositories import Repositories
from tests.factories import incoming

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 2026-11-20 10:00 in Shanghai
HOUSEHOLDS_PER_STATION = 20
PRODUCTS = ("苹果", "红薯", "核桃", "香菇", "小米", "鸡蛋", "蜂蜜", "土鸡")
INPUTS = ("化肥", "种子", "农药", "饲料", "日用品", "手机")
RUNS = 30


def stations(count: int) -> list[tuple[str, str]]:
    """``count`` (county, village) stations spread over the province's counties."""
    regions = Gazetteer.load()
    counties = [c.name for city in regions.cities() for c in regions.counties_of(city)]
    return [(counties[i % len(counties)], f"{i // len(counties) + 1}号村") for i in range(count)]


async def seed(db: Database, n_orders: int, n_stations: int) -> tuple[str, str]:
    rng = random.Random(5)
    places = stations(n_stations)
    async with db.transaction() as session:
        people = [
            {
                "name": f"农户{s}-{h}",
                "county": county,
                "village": village,
                "poor_registered": rng.random() < 0.3,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for s, (county, village) in enumerate(places)
            for h in range(HOUSEHOLDS_PER_STATION)
        ]
        await session.execute(insert(Person), people)
        ids = list((await session.execute(text("SELECT id FROM people ORDER BY id"))).scalars())
        start = date(2025, 12, 1)
        batch: list[dict[str, Any]] = []
        for i in range(n_orders):
            station = i % n_stations
            person = station * HOUSEHOLDS_PER_STATION + rng.randrange(HOUSEHOLDS_PER_STATION)
            sale = rng.random() < 0.55
            county, village = places[station]
            batch.append(
                {
                    "kind": "sale" if sale else "purchase",
                    "status": rng.choice(("registered", "shipped", "done", "done", "cancelled")),
                    "county": county,
                    "village": village,
                    "person_id": ids[person],
                    "poor_registered": people[person]["poor_registered"],
                    "product": rng.choice(PRODUCTS if sale else INPUTS),
                    "quantity": rng.randint(1, 500),
                    "unit": "斤",
                    "unit_price_fen": None,
                    "total_fen": rng.randint(500, 500_000),
                    "ledger_date": start + timedelta(days=rng.randrange(365)),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
            if len(batch) == 5000:
                await session.execute(insert(Order), batch)
                batch = []
        if batch:
            await session.execute(insert(Order), batch)
    return places[0]


async def add_user(
    db: Database, role: Role, county: str | None, village: str | None, ext: str
) -> None:
    async with db.transaction() as session:
        user, _ = await Repositories.on(session).users.create("bench", ext, "bench", NOW)
        user.role, user.county, user.village = role.value, county, village


async def timed(call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await call()  # warm-up (statement caches, page cache)
    samples = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
    }


async def run(url: str, n_orders: int, n_stations: int, workdir: Path) -> dict[str, Any]:
    db = Database(url)
    if url.startswith("postgresql"):
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await migrate.upgrade(db)
    began = time.perf_counter()
    county, village = await seed(db, n_orders, n_stations)
    seeded_s = time.perf_counter() - began
    if url.startswith("postgresql"):
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await add_user(db, Role.STAFF, county, village, "staff")
    await add_user(db, Role.ADMIN, county, None, "admin")
    await add_user(db, Role.ADMIN, None, None, "province")
    await db.dispose()
    env = {"CUNZHAN_DATABASE_URL": url, "CUNZHAN_SECRET_KEY": "bench", "CUNZHAN_HTTP_PORT": "0"}
    env["CUNZHAN_FLOOD_MESSAGES"] = "100000"
    app = CunzhanApp(load_settings(env, workdir=workdir), clock=ManualClock(NOW))
    try:
        staff = incoming("/ledger 2026-10", user="staff", channel="bench")
        admin = incoming("/ledger 2026-10", user="admin", channel="bench")
        province = incoming("/ledger 2026-10", user="province", channel="bench")
        reply = (await app.dispatcher.handle(staff))[0].text
        assert "2026年10月" in reply and "代购" in reply, reply
        assert "合计" in (await app.dispatcher.handle(admin))[0].text

        async def station_query() -> None:
            async with app.db.transaction() as session:
                await Repositories.on(session).orders.monthly_totals(
                    county=county, village=village, year=2026, month=10
                )

        async def county_query() -> None:
            async with app.db.transaction() as session:
                await Repositories.on(session).orders.monthly_totals_by_village(
                    county=county, year=2026, month=10
                )

        return {
            "engine": url.split(":", 1)[0].split("+")[0],
            "orders": n_orders,
            "stations": n_stations,
            "seed_s": round(seeded_s, 1),
            "ledger_station_month": await timed(lambda: app.dispatcher.handle(staff)),
            "ledger_county_month": await timed(lambda: app.dispatcher.handle(admin)),
            "ledger_province_month": await timed(lambda: app.dispatcher.handle(province)),
            "query_station_month": await timed(station_query),
            "query_county_month": await timed(county_query),
        }
    finally:
        await app.db.dispose()


def parse_rate() -> float:
    """Microseconds per one-line order parsed (the grammar alone)."""
    lines = [
        "代销 苹果 200斤 3.5元/斤 张三 13812345678",
        "代购 化肥 ５袋 一百二十元 李四 建档立卡",
    ]
    began = time.perf_counter()
    for i in range(2000):
        parse_order_line(lines[i % 2])
    return round((time.perf_counter() - began) / 2000 * 1e6, 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--pg", default=os.environ.get("CUNZHAN_BENCH_PG_URL"))
    args = parser.parse_args()
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        urls = [f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"]
        if args.pg:
            urls.append(normalise_database_url(args.pg))
        for url in urls:
            result = await run(url, args.orders, args.stations, workdir)
            print(
                f"{result['engine']}: {args.orders} orders, {args.stations} stations; "
                f"/ledger station-month {result['ledger_station_month']['median_ms']} ms "
                f"(p95 {result['ledger_station_month']['p95_ms']}); "
                f"/ledger county-month {result['ledger_county_month']['median_ms']} ms "
                f"(p95 {result['ledger_county_month']['p95_ms']}); "
                f"province-month (per city) {result['ledger_province_month']['median_ms']} ms"
            )
            figures.append(result)
    parse_us = parse_rate()
    print(f"one-line parse: {parse_us} µs per line")
    print(json.dumps({"engines": figures, "parse_us": parse_us}, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
