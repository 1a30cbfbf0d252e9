"""The daily price digest: at the local time each price subscriber chose, one message with
the latest prices in their region from the last two days.

Runs every 15 minutes; a slot sends to every subscription whose time has come today and
that has not had today's digest (``last_digest_on``, set in the same transaction as the
outbox row, whose dedupe key ``digest:price:<user>:<day>`` makes a second send impossible
even if two processes raced). A run after downtime still sends the day's digest, once.
Subscribers are taken a page at a time: each page is read, rendered outside any
transaction, then written in one short transaction, so 20,000 digests never hold the
database (on SQLite, its one writer) for more than a page's insert.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import Option, Reply
from content.regions import Gazetteer
from scheduler.jobs.base import JobRuntime, JobSpec
from storage.models import Price, Priority
from storage.repositories import Repositories

EVERY = timedelta(minutes=15)
TOPIC = "price"
PAGE = 500
SHOWN = 15
DAYS = 2
YIELD_EVERY = 50  # digests rendered between yields to the event loop


def _latest(rows: list[Price]) -> list[Price]:
    """Newest row per (product, market, unit); rows come newest first per product."""
    seen: dict[tuple[str, str, str], Price] = {}
    for row in rows:
        seen.setdefault((row.product, row.market, row.unit), row)
    return sorted(seen.values(), key=lambda r: (r.product, -r.observed_on.toordinal(), r.market))


Region = tuple[str, str | None, str | None]  # (scope, county, city)


def region_for(scope: str, county: str | None, regions: Gazetteer) -> Region:
    """The digest's region from the person's current county (the province without one)."""
    found = regions.county(county) if county else None
    if scope == "province" or found is None:
        return ("province", None, None)
    if scope == "city":
        return ("city", None, found.city)
    return ("county", found.name, found.city)


def digest_reply(region: Region, rows: list[Price], today: date) -> Reply:
    shown = [
        {
            "product": r.product,
            "market": r.market,
            "price_fen": r.price_fen,
            "unit": r.unit,
            "day": r.observed_on,
        }
        for r in rows[:SHOWN]
    ]
    data: dict[str, Any] = {
        "day": today,
        "scope": region[0],
        "county": region[1],
        "city": region[2],
        "rows": shown,
        "more": max(0, len(rows) - SHOWN),
    }
    options = (Option("unsubscribe_topic", f"unsub:{TOPIC}", {"topic": TOPIC}),)
    return Reply("info/digest", data, options)


async def price_digest(rt: JobRuntime, slot: datetime) -> str:
    local = slot.astimezone(ZoneInfo(rt.timezone))
    today, hhmm = local.date(), local.strftime("%H:%M")
    first_day = today - timedelta(days=DAYS - 1)
    by_region: dict[Region, list[Price]] = {}
    regions: Gazetteer | None = None
    queued = skipped = 0
    while True:
        async with rt.db.transaction() as session:  # read the next page
            repos = Repositories.on(session)
            due = await repos.subscriptions.due_digests(
                TOPIC, today=today, local_time=hhmm, limit=PAGE
            )
            if not due:
                break
            regions = regions or Gazetteer.load()
            identities = await repos.subscriptions.reachable_identities(
                [sub.user_id for sub, _ in due]
            )
            page = []
            for sub, county in due:
                key = region_for(sub.scope, county, regions)
                if key not in by_region:
                    by_region[key] = _latest(
                        await repos.prices.in_region(first_day, county=key[1], city=key[2])
                    )
                page.append((sub.user_id, key, identities.get(sub.user_id)))
        rows = []  # rendered outside any transaction, letting the bot answer meanwhile
        for n, (user_id, key, identity) in enumerate(page, 1):
            if not by_region[key] or identity is None:
                skipped += 1
                continue
            rendered = rt.notifier.render_for(user_id, digest_reply(key, by_region[key], today))
            row = rt.notifier.row(rendered, user_id, identity.channel, identity.external_id)
            row.update(
                now=rt.clock.now(),
                kind=f"digest:{TOPIC}",
                priority=Priority.BULK,
                dedupe_key=f"digest:{TOPIC}:{user_id}:{today.isoformat()}",
            )
            rows.append(row)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        async with rt.db.transaction() as session:  # the page's rows and its marks together
            repos = Repositories.on(session)
            await repos.subscriptions.mark_digested([sub.id for sub, _ in due], today)
            queued += len(await repos.outbox.enqueue_many(rows))
    return f"queued={queued} skipped={skipped}"


SPECS = (JobSpec("info.price_digest", price_digest, EVERY),)
