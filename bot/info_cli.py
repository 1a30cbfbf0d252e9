"""``cunzhan prices import FILE`` and ``cunzhan info post``: the administrator's command-line
side of prices and information items.

The import reads a CSV (product, market or county, price in yuan, unit, date; a header row
is recognised by its names, in Chinese or English, else that column order is assumed),
records each line idempotently (the same file twice changes nothing), commits in batches,
draws a progress bar on stderr and reports every refused line with its reason.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.clock import SystemClock
from bot.dialogs import Invalid
from bot.notify import Notifier
from bot.render import Renderer, build_environment
from bot.settings import Settings
from bot.tokens import OptionSigner
from content.regions import Gazetteer
from handlers.info import ROLE_CHOICES, parse_title, parse_topic, publish
from handlers.price_fields import (
    parse_amount,
    parse_day,
    parse_product,
    parse_unit,
    resolve_market,
)
from scheduler.fanout import Fanout
from scheduler.info_fanout import InfoItemSource
from storage import migrate
from storage.db import Database
from storage.repositories import Recorded, Repositories

COLUMNS = ("product", "market", "price", "unit", "date")
HEADER_NAMES = {
    "product": "product",
    "品名": "product",
    "产品": "product",
    "商品": "product",
    "market": "market",
    "county": "market",
    "市场": "market",
    "县": "market",
    "地区": "market",
    "price": "price",
    "价格": "price",
    "单价": "price",
    "unit": "unit",
    "单位": "unit",
    "date": "date",
    "日期": "date",
}
BATCH = 500
BAR_WIDTH = 30
MAX_IMAGE_BYTES = 5 * 1024 * 1024


def add_commands(sub: Any) -> None:
    """Register ``prices`` and ``info`` on the ``cunzhan`` parser's subcommands."""
    prices = sub.add_parser("prices", help="market prices")
    prices_sub = prices.add_subparsers(dest="prices_command", required=True)
    imp = prices_sub.add_parser("import", help="import prices from a CSV file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--source", help="source shown with the prices (default: the file name)")
    info = sub.add_parser("info", help="information items")
    info_sub = info.add_subparsers(dest="info_command", required=True)
    post = info_sub.add_parser("post", help="post an information item to its subscribers")
    post.add_argument("--topic", required=True, help="价格行情, 农业技术, 政策通知, …")
    post.add_argument("--region", default="全省", help="county, city or 全省 (default)")
    post.add_argument("--roles", default="all", choices=sorted(ROLE_CHOICES))
    post.add_argument("--title", required=True)
    post.add_argument("--text", required=True)
    post.add_argument("--image", type=Path, help="a PNG or JPEG sent with the item")


@dataclass(frozen=True)
class Line:
    number: int
    values: dict[str, Any]


class Progress:
    """A bar on stderr, redrawn when the percentage changes."""

    def __init__(self, total: int, out: IO[str]) -> None:
        self.total, self.out, self.shown = total, out, -1

    def update(self, done: int) -> None:
        percent = 100 if self.total == 0 else done * 100 // self.total
        if percent == self.shown:
            return
        self.shown = percent
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.out.write(f"\r[{bar}] {percent:3d}% {done}/{self.total}")
        self.out.flush()

    def close(self) -> None:
        self.out.write("\n")
        self.out.flush()


def read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty row; UTF-8 (with or without BOM) or GB18030."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    rows = csv.reader(text.splitlines())
    return [(n, [c.strip() for c in row]) for n, row in enumerate(rows, 1) if any(row)]


def header_map(cells: list[str]) -> dict[str, int] | None:
    found = {HEADER_NAMES[c.lower()]: i for i, c in enumerate(cells) if c.lower() in HEADER_NAMES}
    return found if found else None


def parse_line(cells: list[str], columns: dict[str, int], regions: Gazetteer) -> dict[str, Any]:
    def cell(name: str) -> str:
        index = columns.get(name)
        if index is None or index >= len(cells) or not cells[index]:
            raise Invalid("prices/import_missing", column=name)
        return cells[index]

    market = resolve_market(cell("market"), regions)
    if market is None:
        raise Invalid("prices/unknown_market", text=cell("market")[:20])
    return {
        "product": parse_product(cell("product")),
        "market": market.name,
        "county": market.county,
        "city": market.city,
        "price_fen": parse_amount(cell("price")),
        "unit": parse_unit(cell("unit")),
        "observed_on": parse_day(cell("date")),
    }


async def import_prices(settings: Settings, args: argparse.Namespace) -> int:
    env = build_environment(settings.timezone)

    def say(template: str, **data: Any) -> str:
        return env.get_template(f"{template}.j2").render(data).strip()

    try:
        rows = read_rows(args.file)
    except OSError as exc:
        reason = say("prices/import_unreadable", file=str(args.file), error=str(exc))
        print(reason, file=sys.stderr)
        return 2
    columns = dict(zip(COLUMNS, range(len(COLUMNS)), strict=True))
    if rows and (found := header_map(rows[0][1])) is not None:
        columns, rows = found, rows[1:]
    regions = Gazetteer.load()
    good: list[Line] = []
    errors: list[tuple[int, str]] = []
    for number, cells in rows:
        try:
            good.append(Line(number, parse_line(cells, columns, regions)))
        except Invalid as refusal:
            errors.append((number, say(refusal.template, **refusal.data)))
    source = (args.source or args.file.name)[:64]
    counts: Counter[str] = Counter()
    db = Database(settings.database.url)
    progress = Progress(len(rows), sys.stderr)
    try:
        await migrate.upgrade(db)
        clock = SystemClock()
        done = len(rows) - len(good)
        for start in range(0, len(good), BATCH):
            batch = good[start : start + BATCH]
            async with db.transaction() as session:
                repos = Repositories.on(session)
                for line in batch:
                    outcome = await repos.prices.record(
                        **line.values, source="import", source_label=source, now=clock.now()
                    )
                    counts[outcome.value] += 1
            done += len(batch)
            progress.update(done)
        progress.update(len(rows))
    finally:
        progress.close()
        await db.dispose()
    for number, reason in errors:
        print(say("prices/import_line_error", line=number, reason=reason), file=sys.stderr)
    summary = say(
        "prices/import_summary",
        new=counts[Recorded.NEW.value],
        updated=counts[Recorded.UPDATED.value],
        unchanged=counts[Recorded.UNCHANGED.value],
        errors=len(errors),
    )
    print(summary)
    return 1 if errors else 0


def resolve_region(text: str, regions: Gazetteer) -> dict[str, str | None] | None:
    word = "".join(text.split())
    if word in ("全省", "河南", "河南省", "province"):
        return {"scope": "province", "county": None, "city": None}
    county = regions.county(word)
    if county is not None:
        return {"scope": "county", "county": county.name, "city": county.city}
    city = regions.city(word)
    return None if city is None else {"scope": "city", "county": None, "city": city}


async def post_info(settings: Settings, args: argparse.Namespace) -> int:
    env = build_environment(settings.timezone)
    regions = Gazetteer.load()
    region = resolve_region(args.region, regions)
    try:
        topic, title = parse_topic(args.topic), parse_title(args.title)
        if region is None:
            raise Invalid("fields/county_unknown", text=args.region[:20])
        image = args.image.read_bytes() if args.image else None
    except Invalid as refusal:
        print(env.get_template(f"{refusal.template}.j2").render(refusal.data), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot read {args.image}: {exc}", file=sys.stderr)
        return 2
    if image is not None and (len(image) > MAX_IMAGE_BYTES or _image_type(image) is None):
        print(f"{args.image}: not a PNG or JPEG of at most 5 MB", file=sys.stderr)
        return 2
    notifier = Notifier(Renderer(env, OptionSigner(settings.secret_key)))
    db = Database(settings.database.url)
    try:
        await migrate.upgrade(db)
        now = SystemClock().now()
        async with db.transaction() as session:
            repos = Repositories.on(session)
            blob_id = None
            if image is not None:
                blob_id = await repos.outbox.put_blob(
                    args.image.name, _image_type(image) or "", image
                )
            item = await repos.info_items.add(
                topic=topic,
                title=title,
                body=args.text.strip(),
                roles=ROLE_CHOICES[args.roles],
                now=now,
                author_label=None,
                blob_id=blob_id,
                **region,
            )
            count = await publish(repos, item, regions=regions)
            await repos.audit.record(
                action="info.post",
                target_type="info_item",
                target_id=item.id,
                at=now,
                actor_label="cli",
                details={"topic": topic, "scope": item.scope, "recipients": count},
            )
        # The item is committed; queue its rows now, chunk by chunk (a running bot's fan-out
        # may share the work: chunks are locked and their dedupe keys make a repeat a no-op).
        fanout = Fanout(db, notifier, SystemClock(), sources=(InfoItemSource(regions),))
        await fanout.step()
        async with db.transaction() as session:
            queued = await Repositories.on(session).info_items.get(item.id)
            count = queued.recipients if queued is not None else count
    finally:
        await db.dispose()
    print(item.id)
    print(f"queued for {count} subscribers", file=sys.stderr)
    return 0


def _image_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None
