"""Time to WeChat's HTTP reply: 200 concurrent users sending policy questions to the
``/wechat`` endpoint in safe mode (signed, AES-encrypted, as WeChat sends them).

    /work/main/.venv/bin/python -m bench.wechat [--users 200] [--messages 10] [--database URL]

cunzhan runs in its own process (default: a fresh SQLite file); this process is WeChat
(tests/fakes/wechat_peer.py). Two phases:

* paced: each of ``--users`` users sends ``--messages`` questions with a random pause
  (exponential, mean ``--think`` seconds) after each answer, as people do; p50/p99 of
  the time from sending a request to reading its reply (WeChat's 5 s is the limit), and
  the server's own share (from the endpoint's handler being called to its answer);
* saturated: every user sends the next question the moment the previous is answered,
  so ``--users`` requests are always in flight; requests per second over the wall time
  (latency there is just users / throughput, so it is reported but not the target).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "电商服务站建设有什么标准",
    "贫困户参加电商培训要交钱吗",
    "每个月几号之前报送数据",
    "网络扶贫联络员要做什么",
    "农产品上行有什么补贴",
]


async def _worker(database_url: str, workdir: str) -> None:
    from bot.app import CunzhanApp
    from bot.logs import configure
    from bot.settings import load_settings
    from tests.fakes.wechat_peer import AES_KEY, APP_ID, APP_SECRET, WECHAT_TOKEN

    env = {
        "CUNZHAN_DATABASE_URL": database_url,
        "CUNZHAN_HTTP_PORT": "0",
        "CUNZHAN_SECRET_KEY": "bench-secret",
        "CUNZHAN_FLOOD_MESSAGES": "100000",
        "CUNZHAN_WECHAT_TOKEN": WECHAT_TOKEN,
        "CUNZHAN_WECHAT_APP_ID": APP_ID,
        "CUNZHAN_WECHAT_APP_SECRET": APP_SECRET,
        "CUNZHAN_WECHAT_AES_KEY": AES_KEY,
        "CUNZHAN_WECHAT_API_URL": "http://127.0.0.1:9",
        "CUNZHAN_LOG_LEVEL": "WARNING",
    }
    settings = load_settings(env, workdir=Path(workdir))
    configure(settings.log_level, settings.log_format)
    app = CunzhanApp(settings)
    channel = app.channel("wechat")
    handled: list[float] = []
    receive = channel.receive  # type: ignore[attr-defined]

    async def timed(request):  # the server's own share: from handler entry to its answer
        started = time.perf_counter()
        try:
            return await receive(request)
        finally:
            handled.append(time.perf_counter() - started)

    channel.receive = timed  # type: ignore[attr-defined]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    print(f"READY {app.http_port}", flush=True)
    await stop.wait()
    await app.stop()
    print("SERVER " + json.dumps(handled), flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _drive(args: argparse.Namespace) -> dict[str, Any]:
    from tests.fakes.wechat_peer import WechatPeer

    workdir = tempfile.mkdtemp(prefix="cunzhan-bench-wechat-")
    database = args.database or f"sqlite+aiosqlite:///{workdir}/bench.sqlite3"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.wechat",
        "--worker",
        "--database",
        database,
        "--workdir",
        workdir,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
    if not line.startswith("READY"):
        raise RuntimeError(f"worker did not start: {line!r}")
    port = int(line.split()[1])
    load_before = os.getloadavg()[0]
    latencies: list[float] = []
    failures = 0
    answered = 0
    try:
        async with WechatPeer(f"http://127.0.0.1:{port}/wechat") as peer:
            for user in range(args.users):  # first contact (user creation) is not timed
                await peer.say(f"o-bench-{user}", "帮助")

            async def user_loop(user: int, think: float, into: list[float]) -> None:
                nonlocal failures, answered
                rng = random.Random(user)
                if think:
                    await asyncio.sleep(rng.uniform(0, think))
                for n in range(args.messages):
                    text = QUESTIONS[(user + n) % len(QUESTIONS)]
                    response = await peer.post(peer.text(f"o-bench-{user}", text))
                    if response.status != 200:
                        failures += 1
                    elif response.content:
                        answered += 1
                    into.append(response.elapsed)
                    if think:
                        await asyncio.sleep(rng.expovariate(1 / think))

            started = time.perf_counter()
            await asyncio.gather(*(user_loop(u, args.think, latencies) for u in range(args.users)))
            paced_wall = time.perf_counter() - started
            saturated: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(*(user_loop(u, 0.0, saturated) for u in range(args.users)))
            wall = time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = (await proc.stdout.read()).decode()
        await proc.wait()
    server = next(
        (json.loads(x[len("SERVER ") :]) for x in rest.splitlines() if x.startswith("SERVER ")),
        [],
    )
    paced_server = server[args.users : args.users + len(latencies)]
    return {
        "bench": "wechat",
        "database": "postgresql" if database.startswith("postgres") else "sqlite",
        "users": args.users,
        "think_s": args.think,
        "requests": len(latencies) + len(saturated),
        "answered_in_reply": answered,
        "failures": failures,
        "paced_requests_per_s": round(len(latencies) / paced_wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "server_p50_ms": round(percentile(paced_server, 0.50) * 1000, 1),
        "server_p99_ms": round(percentile(paced_server, 0.99) * 1000, 1),
        "requests_per_s": round(len(saturated) / wall, 1),
        "saturated_p50_ms": round(percentile(saturated, 0.50) * 1000, 1),
        "saturated_p99_ms": round(percentile(saturated, 0.99) * 1000, 1),
        # the machine is shared: a load above its 2 cores stretches the tail
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--think", type=float, default=4.0)
    parser.add_argument("--database")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.worker:
        profile = os.environ.get("BENCH_PROFILE")  # write a cProfile of the worker there
        if profile:
            import cProfile

            cProfile.runctx(
                "asyncio.run(_worker(args.database, args.workdir))", globals(), locals(), profile
            )
        else:
            asyncio.run(_worker(args.database, args.workdir))
        return
    result = asyncio.run(_drive(args))
    for key, value in result.items():
        print(f"{key:>18}: {value}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
