"""A broadcast to 10,000 recipients through the outbox worker against the fake Bot API server.

    .venv/bin/python -m bench.broadcast [--recipients 10000] [--limited-seconds 60]
        [--fail-ratio 0.05] [--concurrency 256]

Two phases on one database (a fresh SQLite file unless BENCH_DATABASE_URL is set):

1. limited: the default limits (30 messages/s overall, 1/s per chat) with ``--fail-ratio``
   of sendMessage calls answered 429 (retry_after 1) by the fake server, for
   ``--limited-seconds`` (0: until every recipient has it). The achieved rate is the
   messages the server accepted per second, from its own clock, over the whole phase
   and over the steady part after the first second's burst.
2. ceiling: a second broadcast to everyone with every limit lifted and no faults; the
   rate is recipients over the time from the first send to the last outcome recorded.

The fake server runs in its own process; the fan-out and the worker run in this one, so
the peak RSS is theirs. The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-TOKEN"
FIRST_CHAT = 1_000_000


# -- the fake server with random 429s (run with --serve) ----------------------------------
async def _serve(port: int, fail_ratio: float, seed: int) -> None:
    from tests.fakes.telegram_api_server import FakeTelegramServer, _Fault

    class FlakyServer(FakeTelegramServer):
        """Answers ``fail_ratio`` of sendMessage calls with 429, retry_after 1."""

        rng = random.Random(seed)
        ratio = fail_ratio

        def _take_fault(self, key: str) -> _Fault | None:
            if key == "sendmessage" and self.ratio and self.rng.random() < self.ratio:
                return _Fault(429, 1, None, 1, 0.0)
            return super()._take_fault(key)

    server = FlakyServer(TOKEN, port=port, strict=False)
    await server.start()
    print(f"READY {server.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


async def _start_server(fail_ratio: float, seed: int) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.broadcast",
        "--serve",
        "--fail-ratio",
        str(fail_ratio),
        "--seed",
        str(seed),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if not line.startswith(b"READY"):
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, int(line.split()[1])


async def _stop_server(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


# -- the database ---------------------------------------------------------------------------
async def _populate(db: Any, count: int) -> None:
    from datetime import UTC, datetime

    from storage.models import Identity, User

    now = datetime.now(UTC)
    async with db.transaction() as session:
        for start in range(0, count, 2000):
            users = [
                {
                    "display_name": f"农户{n}",
                    "role": "household",
                    "county": "滑县",
                    "created_at": now,
                    "updated_at": now,
                    "bind_failures": 0,
                }
                for n in range(start, min(count, start + 2000))
            ]
            ids = list((await session.execute(insert(User).returning(User.id), users)).scalars())
            identities = [
                {
                    "user_id": user_id,
                    "channel": "telegram",
                    "external_id": str(FIRST_CHAT + n),
                    "created_at": now,
                    "last_seen_at": now,
                }
                for n, user_id in enumerate(ids, start)
            ]
            await session.execute(insert(Identity), identities)


async def _broadcast(db: Any, text: str) -> int:
    from datetime import UTC, datetime

    from storage.repositories import Repositories

    now = datetime.now(UTC)
    async with db.transaction() as session:
        repos = Repositories.on(session)
        row = await repos.broadcasts.create_draft(
            created_by=None,
            text=text,
            roles=["household"],
            scope="county",
            region="滑县",
            counties=["滑县"],
            village=None,
            owner_county=None,
            start_at=now,
            now=now,
        )
        await repos.broadcasts.confirm(row, now)
        return row.id


async def _fan_out(db: Any, notifier: Any) -> tuple[int, float]:
    from bot.clock import SystemClock
    from scheduler.fanout import Fanout

    started = time.perf_counter()
    rows = await Fanout(db, notifier, SystemClock(), chunk=1000).step()
    return rows, time.perf_counter() - started


async def _counts(db: Any, batch_id: int) -> dict[str, int]:
    from storage.repositories import Repositories

    async with db.transaction() as session:
        return await Repositories.on(session).outbox.counts(batch_id=batch_id)


# -- the phases -----------------------------------------------------------------------------
def _worker(db: Any, port: int, config: Any) -> tuple[Any, Any]:
    from bot.channels.telegram import TelegramChannel
    from bot.clock import SystemClock
    from bot.settings import TelegramSettings
    from scheduler.delivery import DeliveryWorker

    channel = TelegramChannel(
        TelegramSettings(
            token=TOKEN,
            api_url=f"http://127.0.0.1:{port}",
            connection_pool_size=max(32, config.concurrency),
        )
    )
    return channel, DeliveryWorker(db, {"telegram": channel}, SystemClock(), config=config)


async def _server_view(port: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    base = f"http://127.0.0.1:{port}/_control"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/sent") as response:
            sent = await response.json()
        async with http.get(f"{base}/requests") as response:
            requests = await response.json()
        stats = {"send_requests": sum(1 for r in requests if r["method"] == "sendMessage")}
        async with http.post(f"{base}/reset") as response:
            await response.read()
    return sent, stats


def _rates(sent: list[dict[str, Any]], skip_s: float) -> tuple[float, float, float]:
    """(messages/s over the whole run, over the run after ``skip_s``, run seconds)."""
    times = sorted(m["at"] for m in sent)
    if len(times) < 2:
        return 0.0, 0.0, 0.0
    span = times[-1] - times[0]
    steady = [t for t in times if t >= times[0] + skip_s]
    steady_span = steady[-1] - steady[0] if len(steady) > 1 else 0.0
    whole = (len(times) - 1) / span if span else 0.0
    rest = (len(steady) - 1) / steady_span if steady_span else 0.0
    return whole, rest, span


async def _limited(db: Any, notifier: Any, args: argparse.Namespace) -> dict[str, Any]:
    from bot.settings import DeliveryConfig
    from storage.repositories import Repositories

    server, port = await _start_server(args.fail_ratio, args.seed)
    try:
        batch_id = await _broadcast(db, "【测试】限速阶段的通知")
        rows, fan_s = await _fan_out(db, notifier)
        channel, worker = _worker(db, port, DeliveryConfig())
        await channel.application.bot.initialize()
        task = asyncio.create_task(worker.run())
        started = time.perf_counter()
        while True:
            await asyncio.sleep(1.0)
            elapsed = time.perf_counter() - started
            if args.limited_seconds and elapsed >= args.limited_seconds:
                break
            if not args.limited_seconds and (await _counts(db, batch_id)) == {"sent": rows}:
                break
        worker.stop()
        await task
        await channel.application.bot.shutdown()
        sent, stats = await _server_view(port)
        counts = await _counts(db, batch_id)
        async with db.transaction() as session:
            await Repositories.on(session).outbox.cancel_batch(batch_id)
    finally:
        await _stop_server(server)
    whole, steady, span = _rates(sent, 1.0)
    copies = Counter(m["chat_id"] for m in sent)
    requests = stats["send_requests"]
    return {
        "limited_fanout_rows": rows,
        "limited_fanout_s": round(fan_s, 2),
        "limited_run_s": round(span, 1),
        "limited_delivered": len(sent),
        "limited_requests": requests,
        "limited_429s": requests - len(sent),
        "limited_429_share": round((requests - len(sent)) / requests, 3) if requests else 0,
        "limited_rate_per_s": round(whole, 2),
        "limited_steady_rate_per_s": round(steady, 2),
        "limited_request_rate_per_s": round(requests / span, 2) if span else 0,
        "limited_duplicates": sum(n - 1 for n in copies.values()),
        "limited_outbox": counts,
    }


async def _ceiling(db: Any, notifier: Any, args: argparse.Namespace) -> dict[str, Any]:
    from bot.settings import DeliveryConfig

    server, port = await _start_server(0.0, args.seed)
    try:
        batch_id = await _broadcast(db, "【测试】不限速阶段的通知")
        rows, fan_s = await _fan_out(db, notifier)
        config = DeliveryConfig(
            telegram_rate=0, telegram_chat_rate=0, concurrency=args.concurrency
        )
        channel, worker = _worker(db, port, config)
        await channel.application.bot.initialize()
        started = time.perf_counter()
        task = asyncio.create_task(worker.run())
        while worker.sent < rows and not task.done():
            await asyncio.sleep(0.05)
        recorded = time.perf_counter() - started
        worker.stop()
        await task
        await channel.application.bot.shutdown()
        sent, _stats = await _server_view(port)
        counts = await _counts(db, batch_id)
    finally:
        await _stop_server(server)
    whole, _steady, _span = _rates(sent, 0.0)
    return {
        "ceiling_fanout_rows": rows,
        "ceiling_fanout_rows_per_s": round(rows / fan_s) if fan_s else None,
        "ceiling_delivered": len(sent),
        "ceiling_send_rate_per_s": round(whole),
        "ceiling_recorded_rate_per_s": round(rows / recorded) if recorded else None,
        "ceiling_concurrency": args.concurrency,
        "ceiling_outbox": counts,
    }


async def _drive(args: argparse.Namespace) -> dict[str, Any]:
    from bot.notify import Notifier
    from bot.render import Renderer, build_environment
    from bot.tokens import OptionSigner
    from storage import migrate
    from storage.db import Database

    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-bench-broadcast-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    db = Database(url)
    try:
        await migrate.upgrade(db)
        await _populate(db, args.recipients)
        notifier = Notifier(Renderer(build_environment("Asia/Shanghai"), OptionSigner("bench")))
        figures: dict[str, Any] = {
            "recipients": args.recipients,
            "database": db.engine.dialect.name,
        }
        if args.limited_seconds >= 0:
            figures.update(await _limited(db, notifier, args))
            print(json.dumps(figures, ensure_ascii=False), file=sys.stderr, flush=True)
        figures.update(await _ceiling(db, notifier, args))
    finally:
        await db.dispose()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--limited-seconds",
        type=float,
        default=60.0,
        help="length of the 30/s phase (0: until all are delivered; -1: skip it)",
    )
    parser.add_argument("--fail-ratio", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(0, args.fail_ratio, args.seed))
        return
    print(json.dumps(asyncio.run(_drive(args)), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
