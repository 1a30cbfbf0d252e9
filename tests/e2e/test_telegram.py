"""cunzhan through the real python-telegram-bot client against a fake Bot API server on
127.0.0.1: polling, inline keyboards and callback queries, webhooks with the secret."""

from __future__ import annotations

import aiohttp

from bot.app import CunzhanApp
from tests.conftest import TOKEN, free_port, issue_invite


async def test_start_menu_and_button_press(fake, telegram_app) -> None:
    fake.inject_message(501, "/start", first_name="张大姐")
    [menu] = await fake.wait_for_sent(1, chat_id=501)
    assert "欢迎使用" in menu.text and "张大姐" in menu.text
    labels = [label for row in fake.buttons(menu) for label, _ in row]
    assert labels == ["政策问答", "培训课程", "我的培训", "我的信息", "修改资料", "帮助"]
    me_data = next(
        data for row in fake.buttons(menu) for label, data in row if label == "我的信息"
    )
    fake.inject_callback(501, me_data)
    sent = await fake.wait_for_sent(2, chat_id=501)
    assert "身份：农户" in sent[1].text and "Telegram" in sent[1].text
    assert len(fake.callback_answers) == 1


async def test_form_over_telegram_and_free_text(fake, telegram_app) -> None:
    chat = 777
    for text in ("/profile", "老李", "郟县", "跳过"):
        before = len(fake.messages_to(chat))
        fake.inject_message(chat, text)
        await fake.wait_for_sent(before + 1, chat_id=chat)
    assert (
        "已保存" in fake.messages_to(chat)[-1].text and "郏县" in fake.messages_to(chat)[-1].text
    )
    fake.inject_message(chat, "服务站建设有什么标准")
    sent = await fake.wait_for_sent(5, chat_id=chat)
    assert "来源：豫通局〔2020〕47号 附件2" in sent[-1].text  # answered from the documents


async def test_tampered_and_foreign_callbacks_are_refused(fake, telegram_app) -> None:
    fake.inject_message(11, "/profile")
    [prompt] = await fake.wait_for_sent(1, chat_id=11)
    cancel = fake.buttons(prompt)[-1][0][1]
    fake.inject_callback(11, cancel.replace("!cancel", "!back"))
    sent = await fake.wait_for_sent(2, chat_id=11)
    assert "不属于您" in sent[-1].text
    fake.inject_message(12, "/start")
    await fake.wait_for_sent(1, chat_id=12)
    fake.inject_callback(12, cancel)  # chat 12 presses chat 11's button
    sent12 = await fake.wait_for_sent(2, chat_id=12)
    assert "不属于您" in sent12[-1].text
    fake.inject_message(11, "阿强")  # chat 11's form is untouched and goes on
    sent = await fake.wait_for_sent(3, chat_id=11)
    assert "哪个县" in sent[-1].text


async def test_photo_sticker_and_group_messages(fake, telegram_app) -> None:
    user = {"id": 31, "is_bot": False, "first_name": "测"}
    chat = {"id": 31, "type": "private", "first_name": "测"}
    fake.inject_update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": chat,
                "from": user,
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                    "type": "regular",
                },
            }
        }
    )
    [reply] = await fake.wait_for_sent(1, chat_id=31)
    assert "只能读文字" in reply.text
    group = {"id": -100, "type": "group", "title": "村群"}
    fake.inject_update(
        {"message": {"message_id": 2, "date": 0, "chat": group, "from": user, "text": "/start"}}
    )
    fake.inject_message(31, "/me")
    sent = await fake.wait_for_sent(2, chat_id=31)
    assert "身份" in sent[-1].text
    assert fake.messages_to(-100) == []


async def test_bind_over_telegram_gives_admin_menu(fake, telegram_app) -> None:
    code = await issue_invite(telegram_app.db, "admin")
    fake.inject_message(41, f"/bind {code}")
    [reply] = await fake.wait_for_sent(1, chat_id=41)
    assert "管理员" in reply.text
    assert "生成邀请码" in [label for row in fake.buttons(reply) for label, _ in row]


async def test_webhook_mode_checks_the_secret(fake, database_url, settings_for) -> None:
    port = free_port()
    settings = settings_for(
        database_url,
        CUNZHAN_HTTP_PORT=str(port),
        CUNZHAN_TELEGRAM_TOKEN=TOKEN,
        CUNZHAN_TELEGRAM_API_URL=fake.base_url,
        CUNZHAN_TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        CUNZHAN_TELEGRAM_WEBHOOK_SECRET="s3cret-Token_1",
    )
    app = CunzhanApp(settings)
    await app.start()
    try:
        assert fake.webhook_url == f"http://127.0.0.1:{port}/telegram/hook"
        assert fake.webhook_secret == "s3cret-Token_1"
        update_id = fake.inject_message(61, "/start")
        assert await fake.post_update_to_webhook(update_id, secret=None) == 403
        assert await fake.post_update_to_webhook(update_id, secret="wrong") == 403
        assert fake.messages_to(61) == []
        assert await fake.post_update_to_webhook(update_id) == 200
        [menu] = await fake.wait_for_sent(1, chat_id=61)
        assert "欢迎使用" in menu.text
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/telegram/hook"
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
            async with session.post(url, data=b"{not json", headers=headers) as response:
                assert response.status == 400
    finally:
        await app.stop()
