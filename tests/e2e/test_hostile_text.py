"""Hostile text through the real channels: names shown literally (no HTML injection) in
Telegram, jinja2 replies and the web page; SQL-looking, oversized and invisible input is
just text."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from storage.models import User
from tests.factories import ChatDriver, WebChatClient, joined

EVIL = "<b>李</b>&amp;<script>alert(1)</script>"
SHORT_EVIL = "<b>李</b>&amp;<i>"  # fits a form's 32-character name


async def test_telegram_names_are_shown_literally(fake, telegram_app) -> None:
    fake.inject_message(301, "/me", first_name=EVIL + "\u202e")
    [reply] = await fake.wait_for_sent(1, chat_id=301)
    assert f"称呼：{EVIL}\n" in reply.text + "\n"
    assert "parse_mode" not in reply.params  # plain text: Telegram shows tags as typed


async def test_jinja_replies_keep_names_literal(core) -> None:
    chat = ChatDriver(core.dispatcher, user="evil")
    await chat.say("/profile")
    await chat.say(SHORT_EVIL)
    await chat.say("郏县")
    await chat.say("跳过")
    text = joined(await chat.say("/me"))
    assert f"称呼：{SHORT_EVIL}" in text and "&lt;" not in text


async def test_sql_looking_oversized_and_invisible_text(core) -> None:
    chat = ChatDriver(core.dispatcher, user="sql")
    assert joined(await chat.say("'; DROP TABLE users; --"))
    assert "消息太长了（最多 2000 个字）" in joined(await chat.say("长" * 5000))
    assert joined(await chat.say("\u200b\u202e\u2066")) == joined(await chat.say("   "))
    async with core.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_web_page_shows_names_as_text(app) -> None:
    client = WebChatClient(f"http://127.0.0.1:{app.http_port}")
    try:
        page = await client.open()
        status, data = await client.post({"text": "/me", "name": EVIL})
        assert status == 200
        assert EVIL in data["replies"][0]["text"]  # JSON carries it as text…
    finally:
        await client.close()
    assert "<script>alert" not in page
    script = Path(__file__).parents[2] / "bot/channels/webchat_static/chat.js"
    source = script.read_text(encoding="utf-8")
    assert "innerHTML" not in source and "textContent" in source  # …and the page sets text
