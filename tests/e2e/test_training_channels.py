"""A full training registration through each real channel: python-telegram-bot against the
fake Bot API server (buttons are inline keyboards and callback queries), and the web chat's
HTTP API. The course is created in the database a week ahead of the real clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storage.models import Person, Registration
from storage.repositories import Repositories
from tests.factories import WebChatClient, verify_dialog

ID_NUMBER = "11010519491231002X"


async def make_course(db, *, capacity: int = 20) -> str:
    """The course's button label."""
    starts = (datetime.now(UTC) + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    async with db.transaction() as session:
        course = await Repositories.on(session).training.create_course(
            now=datetime.now(UTC),
            created_by=None,
            title="电商基础班",
            topics=["电商基础"],
            county="滑县",
            place="县电商产业园",
            starts_at=starts,
            ends_at=starts + timedelta(hours=6),
            capacity=capacity,
            teacher="王老师",
            audience="农户",
        )
    local = course.starts_at.astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{local:%m-%d} 电商基础班"


class TelegramChat:
    """One Telegram user typing and pressing inline buttons through the fake server."""

    def __init__(self, fake, chat_id: int) -> None:
        self.fake, self.chat_id = fake, chat_id

    async def _after(self, before: int, expect: str) -> str:
        def arrived() -> bool:
            sent = self.fake.messages_to(self.chat_id)[before:]
            return any(expect in m.text for m in sent)

        await self.fake.wait_until(arrived, what=repr(expect))
        return "\n".join(m.text for m in self.fake.messages_to(self.chat_id)[before:])

    async def say(self, text: str, expect: str) -> str:
        before = len(self.fake.messages_to(self.chat_id))
        self.fake.inject_message(self.chat_id, text)
        return await self._after(before, expect)

    async def press(self, label: str, expect: str) -> str:
        sent = self.fake.messages_to(self.chat_id)
        data = next(
            d
            for message in reversed(sent)
            for row in self.fake.buttons(message)
            for text, d in row
            if text.startswith(label)
        )
        self.fake.inject_callback(self.chat_id, data)
        return await self._after(len(sent), expect)


async def test_registration_over_telegram(fake, telegram_app) -> None:
    label = await make_course(telegram_app.db)
    chat = TelegramChat(fake, 4242)
    await chat.say("/start", "欢迎使用")
    await chat.press("培训课程", "电商基础班")
    await chat.press(label, "名额：20 人")
    await chat.press("我要报名", "姓名")
    await chat.say("刘大姐", "手机号")
    assert "11 位" in await chat.say("1381234567", "11 位")
    await chat.say("１３８－１２３４－５６７８", "身份证号")
    assert "校验位" in await chat.say("110105194912310021", "校验位")
    await chat.say(ID_NUMBER, "哪个县")
    await chat.say("滑", "乡镇")
    await chat.press("跳过", "哪个村")
    await chat.say("王庄村", "哪一类")
    await chat.press("返乡农民工", "建档立卡")
    await chat.press("否", "想学什么")
    await chat.press("直播带货", "同意吗")
    text = await chat.press("同意", "报名成功")
    assert "138****5678" in text and "110105********002X" in text and "县电商产业园" in text
    await chat.say("/my_courses", "电商基础班")
    async with telegram_app.db.transaction() as session:
        person = (await session.scalars(select(Person))).one()
        reg = (await session.scalars(select(Registration))).one()
    assert person.phone == "13812345678" and person.category == "返乡农民工"
    assert reg.status == "confirmed" and reg.interests == ["直播带货"]


@pytest.fixture
async def web(app):
    client = WebChatClient(f"http://127.0.0.1:{app.http_port}")
    yield client
    await client.close()


async def test_registration_and_refusal_over_web_chat(app, web) -> None:
    label = await make_course(app.db, capacity=1)
    await web.open()
    steps = [
        ("/courses", "电商基础班"),
        (f"[{label}]", "名额：1 人"),
        ("[我要报名]", "姓名"),
        ("小赵", "手机号"),
        ("13900001111", "身份证号"),
        ("[跳过]", "哪个县"),
        ("滑县", "乡镇"),
        ("城关镇", "哪个村"),
        ("东关村", "哪一类"),
        ("大学生", "建档立卡"),
        ("否", "想学什么"),
        ("[跳过]", "同意吗"),
    ]
    await verify_dialog(web, [*steps, ("[不同意]", "一条都没有保存")])
    async with app.db.transaction() as session:
        assert (await session.scalars(select(Person))).all() == []
    await verify_dialog(web, [*steps, ("[同意]", ["报名成功", "139****1111"])])
    await verify_dialog(web, [("/courses", "电商基础班"), (f"[{label}]", "已报名 1 人")])


async def quick_telegram_registration(chat: TelegramChat, label: str, phone: str) -> str:
    await chat.say("/courses", "电商基础班")
    await chat.press(label, "名额")
    await chat.press("我要报名", "姓名")
    await chat.say(f"学员{phone[-2:]}", "手机号")
    await chat.say(phone, "身份证号")
    await chat.press("跳过", "哪个县")
    await chat.say("滑县", "乡镇")
    await chat.press("跳过", "哪个村")
    await chat.say("王庄村", "哪一类")
    await chat.press("贫困户", "建档立卡")
    await chat.press("是", "想学什么")
    await chat.press("跳过", "同意吗")
    return await chat.press("同意", "姓名：")


async def test_waiting_list_promotion_is_delivered_over_telegram(fake, telegram_app) -> None:
    label = await make_course(telegram_app.db, capacity=1)
    first, second = TelegramChat(fake, 6001), TelegramChat(fake, 6002)
    assert "报名成功" in await quick_telegram_registration(first, label, "13900000001")
    assert "排第 1 位" in await quick_telegram_registration(second, label, "13900000002")
    before = len(fake.messages_to(6002))
    await first.say("我的培训", "电商基础班")
    await first.press("取消报名", "确定要取消报名")
    await first.press("确认取消报名", "已取消报名")
    # The outbox worker of the running app delivers the promotion to the second person.
    text = await second._after(before, "从候补转为正式报名")
    assert "县电商产业园" in text
