"""Soak: mixed traffic through the fake Telegram Bot API server (and the WeChat endpoint when
cunzhan has one) for a long time, with the bot SIGKILLed and restarted at intervals.

    .venv/bin/python -m bench.soak [--duration 3600] [--kill-every 600] [--rate 20]
                                   [--database-url URL]

Each kill comes ``--burst-lead`` seconds after a burst of ``--burst`` messages, so that
updates are in flight (fetched, confirmed, half-handled, replies unsent) when it lands.
Traffic: households ask for the menu, help, their data and policy questions, fill in the
profile form; administrators issue invite codes (one invite row per ``/invite``: the
business side effect counted for loss and duplication). At the end the bot drains what is
left and the ledger is read from the database. Printed: updates injected and handled,
lost (must be 0), duplicated side effects (must be 0), sends of unknown outcome, replies
resent after a crash, restarts, peak RSS; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.settings import normalise_database_url  # noqa: E402
from storage import migrate  # noqa: E402
from storage.base import Base  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import InboxItem, Invite, OutboxMessage  # noqa: E402
from tests.conftest import TOKEN, issue_invite, make_env  # noqa: E402
from tests.fakes.telegram_api_server import FakeTelegramServer  # noqa: E402
from tests.process import BotProcess  # noqa: E402

HOUSEHOLD_WORDS = ("/start", "/help", "/me", "/mydata", "服务站建设有什么标准", "培训怎么报名")
PROFILE = ("/profile", "老{n}", "郏县", "跳过")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), read before it is killed."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def empty_tables(db: Database) -> None:
    """A soak counts every row: it starts from empty tables (``--database-url`` is scratch)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "alembic_version"]
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))
        else:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


class Soak:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        default = f"sqlite+aiosqlite:///{workdir / 'soak.sqlite3'}"
        self.database_url = normalise_database_url(args.database_url or default)
        self.rng = random.Random(args.seed)
        self.injected: list[int] = []
        self.invites_asked = 0
        self.restarts = 0
        self.peak_rss = 0.0
        self.logs: list[str] = []
        self.proc: BotProcess | None = None

    async def start_bot(self, fake: FakeTelegramServer) -> None:
        env = make_env(
            self.database_url,
            CUNZHAN_TELEGRAM_TOKEN=TOKEN,
            CUNZHAN_TELEGRAM_API_URL=fake.base_url,
        )
        self.proc = BotProcess(env, self.workdir)
        await self.proc.start(timeout=60)

    async def kill_bot(self) -> None:
        assert self.proc is not None and self.proc.proc is not None
        self.peak_rss = max(self.peak_rss, peak_rss_mb(self.proc.proc.pid))
        await self.proc.kill()
        self.logs += self.proc.log

    async def admins(self, fake: FakeTelegramServer) -> list[int]:
        db = Database(self.database_url)
        chats = list(range(50_001, 50_001 + self.args.admins))
        try:
            for chat in chats:
                code = await issue_invite(db, "admin", county="郏县", days=30)
                self.injected.append(fake.inject_message(chat, f"/bind {code}"))
        finally:
            await db.dispose()
        return chats

    def traffic(self, fake: FakeTelegramServer, admins: list[int], forms: dict[int, int]) -> None:
        """One message from someone: mostly households, some forms, some invites."""
        roll = self.rng.random()
        if roll < 0.1:
            chat = self.rng.choice(admins)
            self.invites_asked += 1
            self.injected.append(fake.inject_message(chat, "/invite staff"))
            return
        chat = 60_000 + self.rng.randrange(self.args.households)
        if roll < 0.3 or chat in forms:
            step = forms.pop(chat, 0)
            text = PROFILE[step].format(n=self.rng.randrange(1000))
            if step + 1 < len(PROFILE):
                forms[chat] = step + 1
            self.injected.append(fake.inject_message(chat, text))
            return
        self.injected.append(fake.inject_message(chat, self.rng.choice(HOUSEHOLD_WORDS)))

    async def run(self) -> dict[str, Any]:
        db = Database(self.database_url)
        await migrate.upgrade(db)
        await empty_tables(db)
        await db.dispose()
        async with FakeTelegramServer(TOKEN, strict=False) as fake:
            await self.start_bot(fake)
            admins = await self.admins(fake)
            forms: dict[int, int] = {}
            started = time.monotonic()
            next_kill = started + self.args.kill_every
            interval = 1.0 / self.args.rate
            while (now := time.monotonic()) - started < self.args.duration:
                if now >= next_kill:
                    for _ in range(self.args.burst):  # kill while a burst is in flight
                        self.traffic(fake, admins, forms)
                    await asyncio.sleep(self.args.burst_lead)
                    await self.kill_bot()
                    self.restarts += 1
                    await self.start_bot(fake)
                    next_kill = time.monotonic() + self.args.kill_every
                    print(
                        f"[{now - started:7.0f}s] restart {self.restarts}: "
                        f"{len(self.injected)} injected, {len(fake.sent)} sent",
                        flush=True,
                    )
                self.traffic(fake, admins, forms)
                await asyncio.sleep(interval * self.rng.uniform(0.5, 1.5))
            await self.drain(fake)
            assert self.proc is not None and self.proc.proc is not None
            self.peak_rss = max(self.peak_rss, peak_rss_mb(self.proc.proc.pid))
            await self.proc.stop()
            self.logs += self.proc.log
            return await self.report(fake, time.monotonic() - started)

    async def drain(self, fake: FakeTelegramServer, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not fake.pending_updates and await self.unhandled() == 0:
                await asyncio.sleep(1.0)  # the replies of the last handled rows
                return
            await asyncio.sleep(0.5)

    async def unhandled(self) -> int:
        db = Database(self.database_url)
        try:
            async with db.transaction() as session:
                stmt = (
                    select(func.count())
                    .select_from(InboxItem)
                    .where(InboxItem.status == "received")
                )
                return int(await session.scalar(stmt) or 0)
        finally:
            await db.dispose()

    async def report(self, fake: FakeTelegramServer, elapsed: float) -> dict[str, Any]:
        db = Database(self.database_url)
        try:
            async with db.transaction() as session:
                rows = (await session.execute(select(InboxItem.key, InboxItem.status))).all()
                invites = await session.scalar(
                    select(func.count()).select_from(Invite).where(Invite.created_by.is_not(None))
                )
                unknown_outbox = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "unknown")
                )
        finally:
            await db.dispose()
        handled_keys = {key.split(":")[0] for key, status in rows if status == "handled"}
        lost_updates = [u for u in self.injected if str(u) not in handled_keys]
        invites = int(invites or 0)
        lines = [json.loads(line) for line in self.logs if line.startswith("{")]
        unknown_replies = sum(
            1
            for x in lines
            if x.get("msg") == "reply not delivered" and x.get("status") == "unknown"
        )
        resent = sum(
            int(x.get("rows", 0)) for x in lines if x.get("msg") == "replies resent after restart"
        )
        tracebacks = sum(1 for x in lines if "exc" in x)
        return {
            "duration_s": round(elapsed, 1),
            "restarts": self.restarts,
            "injected": len(self.injected),
            "handled": len(handled_keys),
            "failed": sum(1 for _, status in rows if status == "failed"),
            "lost": len(lost_updates) + max(0, self.invites_asked - invites),
            "duplicated_side_effects": max(0, invites - self.invites_asked),
            "invites_asked": self.invites_asked,
            "invites_made": invites,
            "unknown_sends": unknown_replies + int(unknown_outbox or 0),
            "replies_resent_after_crash": resent,
            "replies_sent": len(fake.sent),
            "tracebacks_logged": tracebacks,
            "peak_rss_mb": round(self.peak_rss, 1),
            "wechat": "present" if importlib.util.find_spec("bot.channels.wechat") else "absent",
            "database": "postgresql" if "postgresql" in self.database_url else "sqlite",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds of traffic")
    parser.add_argument("--kill-every", type=float, default=600.0, help="seconds between kills")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--burst", type=int, default=100, help="messages sent just before a kill")
    parser.add_argument("--burst-lead", type=float, default=0.2, help="seconds from burst to kill")
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--admins", type=int, default=10)
    parser.add_argument(
        "--database-url", help="a scratch database, emptied first (default: a new SQLite file)"
    )
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cunzhan-soak-") as tmp:
        result = asyncio.run(Soak(args, Path(tmp)).run())
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print(json.dumps(result, ensure_ascii=False))
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()


if __name__ == "__main__":
    main()
