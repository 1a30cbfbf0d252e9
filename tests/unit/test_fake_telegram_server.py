"""The fake Bot API server, driven by the real python-telegram-bot client: it must answer
like Telegram, serve updates like Telegram, and fail loudly."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import signal
import sys
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api_server import FakeTelegramServer, SentMessage

# PTB warns when a RetryAfter is built (its retry_after becomes a timedelta in v23) and when
# do_api_request names a method it has a shortcut for; neither is about the fake.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Please use 'Bot.:UserWarning"),
]
TOKEN = "123456:TEST-TOKEN"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN) as fake:
        yield fake
        assert fake.errors == [], fake.dump()


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)
    async with client:  # initialize() calls getMe
        yield client


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 deprecates the int form of retry_after
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me_and_an_inline_keyboard_round_trip(
    server: FakeTelegramServer, bot: Bot
) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    me = await bot.get_me()
    assert me.is_bot and me.username == "cunzhan_test_bot"

    markup = keyboard([("甲", "a"), ("乙", "b")], [("帮助", "help")])
    first = await bot.send_message(5, '[1, 2] {"looks": "like json"}', reply_markup=markup)
    second = await bot.send_message(5, "第二条")
    other = await bot.send_message(6, "另一个聊天")

    assert first.text == '[1, 2] {"looks": "like json"}'  # a text is never JSON-decoded
    assert first.chat.id == 5 and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.is_bot
    assert first.reply_markup == markup and first.date.year >= 2024
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)

    sent = server.messages_to(5)
    assert [m.text for m in sent] == [first.text, "第二条"]
    assert isinstance(sent[0], SentMessage) and sent[0].method == "sendMessage"
    assert server.buttons(sent[0]) == [[("甲", "a"), ("乙", "b")], [("帮助", "help")]]
    assert server.buttons(sent[1]) == []
    assert sent[0].params["chat_id"] == 5 and sent[0].reply_markup is not None
    assert [m for m, _ in server.requests].count("sendMessage") == 3
    assert server.requests[0][0] == "getMe"
    assert await server.wait_for_sent(3) == server.sent


async def test_parameters_as_json_form_multipart_and_query(
    server: FakeTelegramServer, bot: Bot
) -> None:
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    api = f"{server.base_url}{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{api}/sendMessage", json={"chat_id": 7, "text": "json", "reply_markup": markup}
        ) as response:
            body = await response.json()
            assert response.status == 200 and body["ok"] is True
            assert body["result"]["reply_markup"] == markup
        form = {"chat_id": "7", "text": "form", "reply_markup": json.dumps(markup)}
        async with http.post(f"{api}/sendMessage", data=form) as response:
            assert response.status == 200
        async with http.get(f"{api}/sendMessage", params={"chat_id": "7", "text": "q"}) as r:
            assert r.status == 200
    document = await bot.send_document(
        7, InputFile(b"a,b\n1,2\n", filename="export.csv"), caption="导出"
    )
    photo = await bot.send_photo(7, b"\x89PNG fake", caption="照片")

    texts = [(m.method, m.text, m.chat_id) for m in server.messages_to(7)]
    assert texts == [
        ("sendMessage", "json", 7),
        ("sendMessage", "form", 7),
        ("sendMessage", "q", 7),
        ("sendDocument", "导出", 7),
        ("sendPhoto", "照片", 7),
    ]
    json_sent, form_sent = server.messages_to(7)[:2]
    assert json_sent.reply_markup == form_sent.reply_markup == markup
    assert form_sent.params["chat_id"] == 7  # form strings are read as Telegram reads them
    upload = server.messages_to(7)[3].params["document"]
    assert upload["filename"] == "export.csv" and upload["data"] == b"a,b\n1,2\n"
    assert document.document is not None and document.document.file_name == "export.csv"
    assert document.caption == "导出" and photo.photo and photo.caption == "照片"

    file = await bot.get_file(photo.photo[-1].file_id)  # downloads through base_file_url
    assert bytes(await file.download_as_bytearray()) == b"\x89PNG fake"
    file_id = server.add_file(b"from a user", file_id="user-photo")
    assert bytes(await (await bot.get_file(file_id)).download_as_bytearray()) == b"from a user"


async def test_get_updates_offset_limit_and_long_poll(
    server: FakeTelegramServer, bot: Bot
) -> None:
    ids = [server.inject_message(1, f"m{i}") for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.update_id for u in first] == ids[:2]
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]
    again = await bot.get_updates(limit=2, timeout=0)  # nothing confirmed yet
    assert [u.update_id for u in again] == ids[:2]
    rest = await bot.get_updates(offset=ids[1] + 1, timeout=0)  # confirms the first two
    assert [u.update_id for u in rest] == ids[2:]
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert server.pending_updates == []

    started = time.monotonic()
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3

    waiting = asyncio.create_task(bot.get_updates(offset=ids[-1] + 1, timeout=10))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    later = server.inject_message(2, "/start", first_name="张大姐", username="zhang")
    [update] = await waiting
    assert time.monotonic() - started < 1.0  # injection wakes the long poll at once
    assert update.update_id == later > ids[-1]
    message = update.message
    assert message is not None and message.text == "/start"
    assert message.chat.id == 2 and message.from_user is not None
    assert message.from_user.first_name == "张大姐" and message.from_user.username == "zhang"
    assert message.entities[0].type == "bot_command"  # so CommandHandler sees a command

    custom = server.inject_message(3, "hi", user_id=99)
    raw = server.inject_update(
        {
            "update_id": 1,
            "edited_message": {
                "message_id": 1,
                "date": 0,
                "text": "x",
                "chat": {"id": 3, "type": "private"},
            },
        }
    )
    updates = await bot.get_updates(offset=later + 1, timeout=0)
    assert [u.update_id for u in updates] == [custom, raw]
    assert updates[0].message is not None and updates[0].message.from_user is not None
    assert updates[0].message.from_user.id == 99 and updates[1].edited_message is not None

    # allowed_updates is honoured and remembered, as on Telegram
    server.inject_update({"edited_message": updates[1].to_dict()["edited_message"]})
    only = server.inject_message(3, "only messages")
    filtered = await bot.get_updates(offset=raw + 1, timeout=0, allowed_updates=["message"])
    assert [u.update_id for u in filtered] == [only]


async def test_application_polling_answers_messages_and_callbacks(
    server: FakeTelegramServer,
) -> None:
    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(
            f"echo: {update.message.text}", reply_markup=keyboard([("再来", "again")])
        )

    async def pressed(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("收到")
        await query.edit_message_text(f"pressed {query.data}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0)
        await app.start()
        try:
            server.inject_message(101, "你好")
            server.inject_message(202, "hello")
            [reply] = await server.wait_for_sent(1, chat_id=101)
            await server.wait_for_sent(1, chat_id=202)
            assert reply.text == "echo: 你好"
            assert server.buttons(reply) == [[("再来", "again")]]

            server.inject_callback(101, "again")  # presses the last message sent to 101
            await server.wait_until(lambda: len(server.edits) == 1, timeout=10, what="an edit")
            assert server.callback_answers[0]["text"] == "收到"
            [edit] = server.edits
            assert (edit.chat_id, edit.message_id, edit.text) == (
                101,
                reply.message_id,
                "pressed again",
            )
            assert server.current_message(101, reply.message_id)["text"] == "pressed again"
            assert len(server.messages_to(101)) == 1  # an edit is not a new message
        finally:
            await app.updater.stop()
            await app.stop()
    assert server.pending_updates == []  # the updater confirmed what it fetched
    assert server.stats()["latency_ms"]["count"] == 2


async def test_unknown_methods_and_bad_requests_fail_loudly(
    server: FakeTelegramServer, bot: Bot
) -> None:
    with pytest.raises(EndPointNotFound):  # PTB's reading of Telegram's 404 "Not Found"
        await bot.do_api_request("frobnicate")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1})
    with pytest.raises(BadRequest, match=r"(?i)chat_id is empty"):
        await bot.do_api_request("sendMessage", api_kwargs={"text": "x"})
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(1, "x", reply_markup=keyboard([("长", "x" * 65)]))
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=1, message_id=42)
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query("nope")
    with pytest.raises(BadRequest, match=r"(?i)can.t parse entities"):
        await bot.send_message(1, "<b>未闭合", parse_mode="HTML")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{server.port}/nowhere") as response,
    ):
        assert response.status == 404
    assert server.errors == [
        "frobnicate (unknown method): Not Found",
        "sendMessage: Bad Request: message text is empty",
        "sendMessage: Bad Request: chat_id is empty",
        "sendMessage: Bad Request: BUTTON_DATA_INVALID",
        "editMessageText: Bad Request: message to edit not found",
        "answerCallbackQuery: " + "Bad Request: query is too old and response timeout "
        "expired or query ID is invalid",
        "sendMessage: Bad Request: can't parse entities: Can't find end tag corresponding "
        'to start tag "b"',
        "unexpected request GET /nowhere",
    ]
    assert server.sent == []
    server.errors.clear()

    with pytest.raises(AssertionError) as caught:
        await server.wait_for_sent(1, chat_id=1, timeout=0.2)
    assert "1 sent messages to chat 1" in str(caught.value)  # and a dump of what it saw:
    assert "frobnicate" in str(caught.value)


async def test_wrong_token_gets_401(server: FakeTelegramServer) -> None:
    wrong = Bot("999:OTHER-TOKEN", base_url=server.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    assert server.unauthorized == 1 and server.requests == [] and server.errors == []

    async with FakeTelegramServer(strict=False) as lenient:
        async with Bot("123456:TEST-TOKEN", base_url=lenient.base_url) as client:
            with pytest.raises(EndPointNotFound):
                await client.do_api_request("frobnicate")
        assert lenient.errors == [] and lenient.requests[-1][0] == "frobnicate"


async def test_scripted_faults_and_blocked_chats(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=429, retry_after=3, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(5, "x")
        assert retry_seconds(caught.value) == 3
    await bot.send_message(5, "after the flood")

    server.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(5, "x")
    server.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(5, "x")
    server.fail_next("SENDMESSAGE", status=400, description="Bad Request: chat not found")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(5, "x")
    server.fail_next("getMe", status=200, delay=0.5)  # only slow
    with pytest.raises(TimedOut):
        await bot.get_me(read_timeout=0.1)
    assert (await bot.get_me()).username == "cunzhan_test_bot"

    server.block_chat(6)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(6, "x")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(6, ChatAction.TYPING)
    server.unblock_chat(6)
    assert await bot.send_chat_action(6, ChatAction.TYPING)
    assert server.chat_actions == [(6, "typing")]

    assert [m.text for m in server.sent] == ["after the flood"]
    assert server.errors == []  # scripted faults are not mistakes


async def test_edits_callbacks_commands_and_lifecycle_methods(
    server: FakeTelegramServer, bot: Bot
) -> None:
    sent = await bot.send_message(8, "选一个", reply_markup=keyboard([("A", "a")]))
    edited = await bot.edit_message_text(
        "改过了", chat_id=8, message_id=sent.message_id, reply_markup=keyboard([("B", "b")])
    )
    assert not isinstance(edited, bool) and edited.text == "改过了"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):  # a Telegram rule,
        await bot.edit_message_reply_markup(  # not a mistake: not in errors
            chat_id=8, message_id=sent.message_id, reply_markup=keyboard([("B", "b")])
        )
    await bot.edit_message_reply_markup(chat_id=8, message_id=sent.message_id)
    assert [e.method for e in server.edits] == ["editMessageText", "editMessageReplyMarkup"]

    update_id = server.inject_callback(8, "b")
    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert update.update_id == update_id and query is not None and query.data == "b"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.message.text == "改过了" and query.from_user.id == 8  # type: ignore[union-attr]
    assert await query.answer("ok", show_alert=True)
    assert server.callback_answers == [
        {"callback_query_id": query.id, "text": "ok", "show_alert": True}
    ]
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):  # answered twice
        await query.answer()
    assert len(server.errors) == 1
    server.errors.clear()
    with pytest.raises(AssertionError, match="no message to chat 9"):
        server.inject_callback(9, "x")

    commands = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "大写")])
    server.errors.clear()
    assert await bot.close() and await bot.log_out()


async def test_webhook_mode(server: FakeTelegramServer, bot: Bot) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != "s3cret-Token_1":
            return web.Response(status=403)
        received.append(await request.json())
        return web.Response(status=200)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/hook"

        early = server.inject_message(61, "queued before the webhook")
        assert await bot.set_webhook(url, secret_token="s3cret-Token_1")
        assert (server.webhook_url, server.webhook_secret) == (url, "s3cret-Token_1")
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 1
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)

        update_id = server.inject_message(61, "/start")
        assert await server.post_update_to_webhook(update_id, secret=None) == 403
        assert await server.post_update_to_webhook(update_id, secret="wrong") == 403
        assert received == []
        assert await server.post_update_to_webhook(update_id) == 200
        assert [u["update_id"] for u in received] == [update_id]
        assert received[0]["message"]["text"] == "/start"
        assert [u["update_id"] for u in server.pending_updates] == [early]
        raw = {
            "message": {
                "message_id": 9,
                "date": 0,
                "text": "raw",
                "chat": {"id": 61, "type": "private"},
            }
        }
        assert await server.post_update_to_webhook(raw) == 200
        assert received[-1]["update_id"] > update_id and received[-1]["message"]["text"] == "raw"

        with pytest.raises(BadRequest, match=r"(?i)unallowed characters"):
            await bot.set_webhook(url, secret_token="bad secret!")
        assert len(server.errors) == 1
        server.errors.clear()

        assert await bot.delete_webhook(drop_pending_updates=True)
        assert server.webhook_url is None and server.pending_updates == []
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


async def test_bulk_updates_and_sends_stay_fast(server: FakeTelegramServer) -> None:
    count, chats = 2000, 100
    started = time.monotonic()
    for i in range(count):
        server.inject_message(10_000 + i % chats, "hello")
    api = f"{server.base_url}{TOKEN}"
    served: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http:
        offset = 0
        while len(served) < count:
            async with http.post(f"{api}/getUpdates", data={"offset": str(offset)}) as r:
                batch = (await r.json())["result"]
            assert 0 < len(batch) <= 100
            served += batch
            offset = batch[-1]["update_id"] + 1

        async def reply(update: dict[str, Any]) -> None:
            chat = update["message"]["chat"]["id"]
            async with http.post(f"{api}/sendMessage", data={"chat_id": chat, "text": "hi"}):
                pass

        for i in range(0, count, 200):
            await asyncio.gather(*(reply(u) for u in served[i : i + 200]))
    elapsed = time.monotonic() - started
    assert len(server.sent) == count and len(server.messages_to(10_000)) == count // chats
    stats = server.stats()
    assert stats["latency_ms"]["count"] == count
    assert stats["pending_updates"] == 100  # the last batch is not confirmed yet
    assert elapsed < 20, f"{count} updates and sends took {elapsed:.1f}s"


async def test_runs_in_another_process_with_the_control_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram_api_server",
        "--port",
        "0",
        "--token",
        TOKEN,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("READY "), line
        port = int(line.split()[1])
        assert port > 0
        control = f"http://127.0.0.1:{port}/_control"
        async with aiohttp.ClientSession() as http:
            body = {
                "messages": [{"chat_id": 9, "text": "hi"}, {"chat_id": 10, "text": "yo"}],
                "updates": [
                    {
                        "message": {
                            "message_id": 1,
                            "date": 0,
                            "text": "raw",
                            "chat": {"id": 11, "type": "private"},
                        }
                    }
                ],
            }
            async with http.post(f"{control}/inject", json=body) as r:
                ids = (await r.json())["update_ids"]
            assert len(ids) == 3 and ids == sorted(ids)

            async with Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot") as bot:
                updates = await bot.get_updates(timeout=0)
                assert [u.update_id for u in updates] == ids
                await asyncio.sleep(0.05)
                await bot.send_message(9, "answer", reply_markup=keyboard([("好", "ok")]))
                async with http.post(
                    f"{control}/inject", json={"callbacks": [{"chat_id": 9, "data": "ok"}]}
                ) as r:
                    [callback_id] = (await r.json())["update_ids"]
                async with http.post(
                    f"{control}/fail_next", json={"method": "sendMessage", "retry_after": 2}
                ) as r:
                    assert r.status == 200
                with pytest.raises(RetryAfter):
                    await bot.send_message(10, "flood")

            async with http.get(f"{control}/stats") as r:
                stats = await r.json()
            assert stats["injected"] == 4 and stats["sent"] == 1 and stats["errors"] == []
            assert stats["pending_updates"] == 4 and callback_id > ids[-1]
            latency = stats["latency_ms"]
            assert latency["count"] == 1 and 40 <= latency["p50"] == latency["max"] < 5000
            assert set(latency) == {"p50", "p90", "p99", "max", "count"}
            assert stats["last_sent_at"] > stats["first_inject_at"]

            async with http.get(f"{control}/sent", params={"since": "0"}) as r:
                [sent] = await r.json()
            assert (sent["chat_id"], sent["text"], sent["message_id"]) == (9, "answer", 2)
            assert sent["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"
            async with http.get(f"{control}/sent", params={"since": "1"}) as r:
                assert await r.json() == []

            async with http.post(f"{control}/reset") as r:
                assert r.status == 200
            async with http.get(f"{control}/stats") as r:
                stats = await r.json()
            assert (stats["injected"], stats["sent"], stats["pending_updates"]) == (0, 0, 0)
            assert stats["latency_ms"]["count"] == 0
            async with http.post(
                f"{control}/inject", json={"messages": [{"chat_id": 9, "text": "again"}]}
            ) as r:
                assert (await r.json())["update_ids"][0] > callback_id  # ids never go back
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 0
