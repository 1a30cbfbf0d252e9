"""The web chat through its HTTP API on a running app, and a restart in the middle of a form
with a real process that is killed with SIGKILL."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.conftest import make_env
from tests.factories import WebChatClient, joined, labels, verify_dialog
from tests.process import BotProcess


@pytest.fixture
async def web(app):
    client = WebChatClient(f"http://127.0.0.1:{app.http_port}")
    yield client
    await client.close()


async def test_page_and_start_menu(web) -> None:
    html = await web.open()
    assert "村站" in html and "/static/chat.js" in html
    replies = await web.say("/start")
    assert "欢迎使用" in joined(replies)
    assert "政策问答" in labels(replies)
    assert "农户" in joined(await web.say("开始"))


async def test_buttons_and_form_over_http(web) -> None:
    await web.open()
    await web.say("/start")
    await verify_dialog(
        web,
        [
            ("[修改资料]", "怎么称呼"),
            ("小王", "哪个县"),
            ("浚", "哪个村"),
            ("[跳过]", ["已保存", "浚县"]),
            ("/me", "浚县"),
        ],
    )


async def test_two_browsers_are_two_people(app) -> None:
    base = f"http://127.0.0.1:{app.http_port}"
    first, second = WebChatClient(base), WebChatClient(base)
    try:
        await first.say("/profile")
        token = first.last[-1]["options"][-1]["token"]
        status, data = await second.post({"option": token})
        assert status == 200 and "不属于您" in joined(data["replies"])
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b"[1, 2]", 400), (b'{"text": 5}', 400), (b'{"option": 7}', 400)],
)
async def test_malformed_requests_are_refused(app, body: bytes, status: int) -> None:
    url = f"http://127.0.0.1:{app.http_port}/api/message"
    async with aiohttp.ClientSession() as session:
        headers = {"Content-Type": "application/json"}
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == status
        async with session.post(url, data=b"text=hi") as response:
            assert response.status == 415
        big = b'{"text": "' + b"x" * 70_000 + b'"}'
        async with session.post(url, data=big, headers=headers) as response:
            assert response.status == 413


async def test_events_long_poll_delivers_pushed_messages(app, web) -> None:
    from bot.messages import Rendered

    await web.say("/start")
    channel = app.channel("webchat")
    address = next(iter(channel._mailboxes))
    await channel.send(address, Rendered(text="通知：明天上午培训"))
    async with web.session.get(web.base_url + "/api/events?after=0") as response:
        data = await response.json()
    assert [e["text"] for e in data["events"]] == ["通知：明天上午培训"]


@pytest.mark.slow
async def test_form_survives_sigkill_and_restart(tmp_path: Path, database_url: str) -> None:
    env = make_env(database_url)
    client: WebChatClient | None = None
    bot = BotProcess(env, tmp_path)
    try:
        await bot.start()
        client = WebChatClient(bot.base_url)
        await verify_dialog(client, [("/profile", "怎么称呼"), ("赵六", "哪个县")])
        await bot.kill()

        bot = BotProcess(env, tmp_path)
        await bot.start()
        client.base_url = bot.base_url  # same browser cookie, new process and port
        await verify_dialog(
            client,
            [
                ("滑县", "哪个村"),
                ("返回", "哪个县"),
                ("滑县", "哪个村"),
                ("后王庄村", ["已保存", "赵六", "滑县 后王庄村"]),
            ],
        )
        assert await bot.stop() == 0
    finally:
        if client:
            await client.close()
        await bot.kill()
