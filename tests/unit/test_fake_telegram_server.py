"""The fake Bot API server itself: it must answer like Telegram and fail loudly."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, RetryAfter

from tests.fakes.telegram_api_server import FakeTelegramServer


async def test_bot_calls_buttons_and_faults() -> None:
    async with FakeTelegramServer() as server:
        bot = Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url)
        async with bot:
            assert (await bot.get_me()).username == "cunzhan_test_bot"
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("甲", callback_data="a")]])
            await bot.send_message(5, "你好", reply_markup=markup)
            [sent] = server.messages_to(5)
            assert sent.text == "你好" and server.buttons(sent) == [[("甲", "a")]]
            server.fail_next("sendMessage", status=429, retry_after=3)
            with pytest.raises(RetryAfter):
                await bot.send_message(5, "x")
            server.block_chat(6)
            with pytest.raises(Forbidden):
                await bot.send_message(6, "x")
            assert server.errors == []
            with pytest.raises(Exception):  # noqa: B017  (any Telegram error will do)
                await bot.do_api_request("frobnicate")
            assert server.errors == ["Not Found: method frobnicate"]


async def test_getupdates_offsets_and_long_poll() -> None:
    async with FakeTelegramServer() as server:
        bot = Bot(server.token, base_url=server.base_url)
        async with bot:
            first = server.inject_message(1, "/start")
            updates = await bot.get_updates(timeout=0)
            assert [u.update_id for u in updates] == [first]
            assert await bot.get_updates(offset=first + 1, timeout=0) == ()
            waiting = asyncio.create_task(bot.get_updates(offset=first + 1, timeout=5))
            await asyncio.sleep(0.1)
            second = server.inject_message(2, "hi")
            assert [u.update_id for u in await waiting] == [second]


async def test_runs_in_another_process_with_control_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram_api_server",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("READY ")
        base = f"http://127.0.0.1:{line.split()[1]}"
        async with aiohttp.ClientSession() as http:
            async with http.post(
                base + "/_control/inject", json={"messages": [{"chat_id": 9, "text": "hi"}]}
            ) as r:
                assert (await r.json())["update_ids"] == [1]
            bot = Bot("123456:TEST-TOKEN", base_url=base + "/bot")
            async with bot:
                await bot.send_message(9, "answer")
            async with http.get(base + "/_control/stats") as r:
                stats = await r.json()
        assert stats["sent"] == 1 and stats["latency_ms"]["count"] == 1
    finally:
        proc.terminate()
        await proc.wait()
