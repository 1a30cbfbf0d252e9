"""Report reminders and the /reports view at scale: 10,000 liaisons across 100 counties.

    .venv/bin/python -m bench.reports [--liaisons 10000] [--counties 100] [--database-url URL]

Builds a fresh database (a SQLite file by default), binds every liaison to a web chat
identity (and one administrator per county), then times (a) one reminder round, computing
who is due a reminder and enqueueing their outbox rows (the 3-day reminder of October's
progress report, on 22 October 2026, to all of them), its rerun (nothing to add), and,
after 40 % of the villages reported, the overdue round with the counties' escalations;
and (b) ``/reports 2026-10`` and ``/overdue 2026-10`` asked by a province administrator
through the real dispatcher (median of 5). The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.app import CunzhanApp
from bot.clock import ManualClock
from bot.settings import load_settings
from content.regions import Gazetteer
from scheduler.jobs.reports import REMINDER_KIND, remind
from storage import migrate
from storage.models import Identity, OutboxMessage, Report, Role, User


async def populate(
    app: CunzhanApp, liaisons: int, counties: int, now: datetime
) -> tuple[list[str], list[tuple[int, tuple[str, str]]]]:
    """Liaisons spread evenly over ``counties`` counties, plus one administrator per county."""
    gazetteer = Gazetteer.load()
    names = sorted({c.name for city in gazetteer.cities() for c in gazetteer.counties_of(city)})
    chosen = names[:counties]
    per_county = liaisons // len(chosen)
    async with app.db.transaction() as session:
        users, places = [], []
        for county in chosen:
            for n in range(per_county):
                village = f"{n + 1}村"
                users.append(
                    {
                        "display_name": f"联络员{len(users)}",
                        "role": Role.LIAISON.value,
                        "county": county,
                        "village": village,
                        "created_at": now,
                        "updated_at": now,
                        "bind_failures": 0,
                    }
                )
                places.append((county, village))
        admins = [
            {
                "display_name": f"{county}管理员",
                "role": Role.ADMIN.value,
                "county": county,
                "created_at": now,
                "updated_at": now,
                "bind_failures": 0,
            }
            for county in chosen
        ]
        ids: list[int] = []
        for start in range(0, len(users), 1000):
            result = await session.execute(
                insert(User).returning(User.id), users[start : start + 1000]
            )
            ids.extend(result.scalars())
        admin_ids = list(
            (await session.execute(insert(User).returning(User.id), admins)).scalars()
        )
        identities = [
            {
                "user_id": uid,
                "channel": "webchat",
                "external_id": f"bench-{uid}",
                "created_at": now,
                "last_seen_at": now,
            }
            for uid in ids + admin_ids
        ]
        for start in range(0, len(identities), 1000):
            await session.execute(insert(Identity), identities[start : start + 1000])
    return chosen, list(zip(ids, places, strict=True))


async def submit_some(app: CunzhanApp, members: list, now: datetime) -> int:
    """40 % of the villages report October's progress."""
    async with app.db.transaction() as session:
        reports = [
            {
                "type_code": "progress",
                "period": "2026-10",
                "county": county,
                "village": village,
                "user_id": uid,
                "figures": {"trained": 12, "sale_count": 8, "sale_amount": 320000},
                "recorded": {},
                "version": 1,
                "late": False,
                "first_submitted_at": now,
                "submitted_at": now,
            }
            for index, (uid, (county, village)) in enumerate(members)
            if index % 5 < 2
        ]
        for start in range(0, len(reports), 1000):
            await session.execute(insert(Report), reports[start : start + 1000])
    return len(reports)


async def main(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}"
    env = {
        "CUNZHAN_DATABASE_URL": url,
        "CUNZHAN_SECRET_KEY": "bench",
        "CUNZHAN_LOG_LEVEL": "WARNING",
    }
    clock = ManualClock(datetime(2026, 10, 21, 1, 0, tzinfo=UTC))
    app = CunzhanApp(load_settings(env, workdir=workdir), clock=clock)
    await migrate.upgrade(app.db)
    chosen, members = await populate(app, args.liaisons, args.counties, clock.now())

    from tests.factories import ChatDriver

    admin = ChatDriver(app.dispatcher, user="province-admin", channel="webchat")
    await admin.say("/start")
    async with app.db.transaction() as session:
        row = await session.scalar(
            select(User).join(Identity).where(Identity.external_id == "province-admin")
        )
        assert row is not None
        row.role = Role.ADMIN.value

    slot = datetime(2026, 10, 22, 1, 0, tzinfo=UTC)  # 09:00 on the 22nd: the 3-day reminder
    clock.set(slot)
    started = time.perf_counter()
    detail = await remind(app.scheduler.runtime, slot)
    round_s = time.perf_counter() - started
    started = time.perf_counter()
    again = await remind(app.scheduler.runtime, slot)
    rerun_s = time.perf_counter() - started
    async with app.db.transaction() as session:
        enqueued = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == REMINDER_KIND)
        )
    submitted = await submit_some(app, members, clock.now())
    overdue_slot = datetime(2026, 10, 26, 1, 0, tzinfo=UTC)  # Monday after the due Sunday
    clock.set(overdue_slot)
    started = time.perf_counter()
    overdue_detail = await remind(app.scheduler.runtime, overdue_slot)
    overdue_round_s = time.perf_counter() - started

    timings: dict[str, list[float]] = {"reports": [], "overdue": []}
    for _ in range(5):
        for command, text in (
            ("reports", "/reports 2026-10 progress"),
            ("overdue", "/overdue 2026-10 progress"),
        ):
            started = time.perf_counter()
            replies = await admin.say(text)
            timings[command].append(time.perf_counter() - started)
            assert replies and "没有" not in replies[0]["text"][:4], replies
    await app.db.dispose()
    return {
        "engine": "postgresql" if url.startswith("postgres") else "sqlite",
        "liaisons": args.liaisons,
        "counties": len(chosen),
        "reminder_round_s": round(round_s, 3),
        "reminders_enqueued": enqueued,
        "round_detail": detail,
        "rerun_s": round(rerun_s, 3),
        "rerun_detail": again,
        "submitted": submitted,
        "overdue_round_s": round(overdue_round_s, 3),
        "overdue_detail": overdue_detail,
        "reports_view_median_s": round(statistics.median(timings["reports"]), 3),
        "overdue_view_median_s": round(statistics.median(timings["overdue"]), 3),
    }


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--liaisons", type=int, default=10_000)
    parser.add_argument("--counties", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    figures = asyncio.run(main(parser.parse_args()))
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    cli()
