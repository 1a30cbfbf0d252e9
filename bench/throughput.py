"""Updates answered per second through a fake Bot API server: a bare python-telegram-bot
echo bot against cunzhan answering /start, in the same run, with their ratio.

    .venv/bin/python -m bench.throughput [--updates 10000] [--chats 500]

The fake server runs in its own process; each bot runs in its own process too (so
its CPU and peak RSS are its own). All N updates are injected in one burst; the
rate is N over the time from the first injection to the last reply, and latency
is measured per update from injection to the reply that answers it. The last line
printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-TOKEN"


# -- the bots (run with --worker) -------------------------------------------------------
async def _echo_worker(api: str, pool: int, concurrency: int) -> None:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters
    from telegram.request import HTTPXRequest

    from bot.channels.telegram import api_urls

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    base, files = api_urls(api)
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(base)
        .base_file_url(files)
        .request(HTTPXRequest(connection_pool_size=pool, pool_timeout=30.0))
        .get_updates_request(HTTPXRequest(connection_pool_size=1, read_timeout=40.0))
        .concurrent_updates(concurrency)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0)
        await _serve_until_stopped()
        await app.updater.stop()
        await app.stop()


async def _cunzhan_worker(api: str, pool: int, concurrency: int) -> None:
    from bot import logs
    from bot.app import CunzhanApp
    from bot.settings import load_settings

    workdir = Path(tempfile.mkdtemp(prefix="cunzhan-bench-"))
    env = {
        "CUNZHAN_TELEGRAM_TOKEN": TOKEN,
        "CUNZHAN_TELEGRAM_API_URL": api,
        "CUNZHAN_HTTP_PORT": "0",
        "CUNZHAN_SECRET_KEY": "bench",
        "CUNZHAN_FLOOD_MESSAGES": "100000",
        "CUNZHAN_TELEGRAM_POOL_SIZE": str(pool),
        "CUNZHAN_TELEGRAM_CONCURRENT_UPDATES": str(concurrency),
        "CUNZHAN_DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", ""),
    }
    settings = load_settings(env, workdir=workdir)
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    logs.configure("INFO", "json")
    app = CunzhanApp(settings)
    await app.start()
    await _serve_until_stopped()
    await app.stop()


async def _serve_until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("READY", flush=True)
    await stop.wait()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"peak_rss_mb": round(rss_mb, 1), "cpu_s": round(cpu.ru_utime + cpu.ru_stime, 2)}
        ),
        flush=True,
    )


# -- the driver -------------------------------------------------------------------------
async def _spawn(*args: str, log: Path | None = None) -> asyncio.subprocess.Process:
    """Start ``python *args``; its stderr goes to ``log`` (the child keeps its own handle)."""

    async def start(stderr: Any) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    if log is None:
        return await start(asyncio.subprocess.DEVNULL)
    with open(log, "wb") as stderr:
        return await start(stderr)


async def _ready_line(proc: asyncio.subprocess.Process, timeout: float = 60.0) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    if not line.startswith(b"READY"):
        raise RuntimeError(f"worker did not start: {line!r}")
    return line.decode().strip()


async def _measure(
    mode: str, control: str, api: str, args: argparse.Namespace, logdir: Path
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        await http.post(control + "/reset")
        worker = await _spawn(
            "-m",
            "bench.throughput",
            "--worker",
            mode,
            "--api",
            api,
            "--pool",
            str(args.pool),
            "--concurrency",
            str(args.concurrency),
            log=logdir / f"{mode}.log",
        )
        await _ready_line(worker)
        await asyncio.sleep(0.5)  # let the first long poll arrive
        text = "/start" if mode == "cunzhan" else "hello"
        messages = [
            {"chat_id": 10_000 + (i % args.chats), "text": text} for i in range(args.updates)
        ]
        await http.post(control + "/inject", json={"messages": messages})
        deadline = time.monotonic() + args.timeout
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            async with http.get(control + "/stats") as response:
                stats = await response.json()
            if stats["sent"] >= args.updates:
                break
            await asyncio.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        assert worker.stdout is not None
        tail = (await worker.stdout.read()).decode().strip().splitlines()
        await worker.wait()
    usage = json.loads(tail[-1]) if tail else {}
    elapsed = (stats.get("last_sent_at") or 0) - (stats.get("first_inject_at") or 0)
    answered = stats.get("sent", 0)
    return {
        "answered": answered,
        "updates_per_s": round(answered / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": stats.get("latency_ms", {}).get("p50"),
        "p99_ms": stats.get("latency_ms", {}).get("p99"),
        "peak_rss_mb": usage.get("peak_rss_mb"),
        "cpu_s": usage.get("cpu_s"),
        "errors": len(stats.get("errors", [])),
    }


async def _drive(args: argparse.Namespace) -> dict[str, Any]:
    logdir = Path(tempfile.mkdtemp(prefix="cunzhan-bench-logs-"))
    server = await _spawn("-m", "tests.fakes.telegram_api_server", "--port", "0", "--token", TOKEN)
    try:
        port = int((await _ready_line(server)).split()[1])
        control = f"http://127.0.0.1:{port}/_control"
        api = f"http://127.0.0.1:{port}/bot"
        results = {}
        for mode in ("echo", "cunzhan"):
            results[mode] = await _measure(mode, control, api, args, logdir)
            print(f"{mode:8s} {json.dumps(results[mode])}", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        await server.wait()
    echo, cz = results["echo"], results["cunzhan"]
    ratio = cz["updates_per_s"] / echo["updates_per_s"] if echo["updates_per_s"] else 0.0
    return {
        "updates": args.updates,
        "chats": args.chats,
        "echo_updates_per_s": echo["updates_per_s"],
        "echo_p50_ms": echo["p50_ms"],
        "echo_p99_ms": echo["p99_ms"],
        "echo_peak_rss_mb": echo["peak_rss_mb"],
        "cunzhan_updates_per_s": cz["updates_per_s"],
        "cunzhan_p50_ms": cz["p50_ms"],
        "cunzhan_p99_ms": cz["p99_ms"],
        "cunzhan_peak_rss_mb": cz["peak_rss_mb"],
        "ratio_cunzhan_to_echo": round(ratio, 2),
        "answered_all": echo["answered"] == args.updates and cz["answered"] == args.updates,
        "server_errors": echo["errors"] + cz["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--pool", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--worker", choices=["echo", "cunzhan"])
    parser.add_argument("--api")
    args = parser.parse_args()
    if args.worker:
        worker = _echo_worker if args.worker == "echo" else _cunzhan_worker
        profile = os.environ.get("BENCH_PROFILE")  # write a cProfile of the worker there
        if profile:
            import cProfile

            cProfile.runctx(
                "asyncio.run(worker(args.api, args.pool, args.concurrency))",
                globals(),
                locals(),
                profile + "." + args.worker,
            )
        else:
            asyncio.run(worker(args.api, args.pool, args.concurrency))
    else:
        print(json.dumps(asyncio.run(_drive(args))), flush=True)


if __name__ == "__main__":
    main()
