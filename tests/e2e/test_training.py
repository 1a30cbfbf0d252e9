"""Training conversations through the real dispatcher on each engine: courses, the
registration form (consent, duplicates, bad input, cancel/back, restart), the waiting list,
attendance, cancellation notices."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import AuditEntry, Course, OutboxMessage, Person, Registration
from storage.repositories import Repositories
from tests.conftest import issue_invite
from tests.factories import ChatDriver, joined, labels, verify_dialog

# 18-digit IDs with valid check digits (GB 11643).
ID_1 = "11010519491231002X"
ID_2 = "110105199001011234"


def valid_id(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


async def count(core, model, *where) -> int:
    async with core.db.transaction() as session:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return await session.scalar(stmt)


async def staff_chat(core, user: str = "staff", county: str = "滑县") -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, "staff", county=county, village="王庄村")
    await chat.say(f"/bind {code}")
    return chat


async def create_course(staff: ChatDriver, *, title: str = "直播带货入门班", capacity: int = 30):
    await verify_dialog(
        staff,
        [
            ("/course_new", "课程名称"),
            (title, "讲哪些内容"),
            ("[直播带货]", "哪个县"),
            ("[保持不变]", "具体地点"),
            ("城关镇电商服务中心", "什么时候开始"),
            ("2026-11-10 09:00", "什么时候结束"),
            ("17:00", "最多收多少人"),
            (str(capacity), "授课老师"),
            ("李老师", "面向哪些人"),
            ("[农户]", ["课程已发布", title, "滑县 城关镇电商服务中心"]),
        ],
    )
    async with staff.dispatcher.db.transaction() as session:
        return (await session.execute(select(Course).order_by(Course.id.desc()))).scalars().first()


async def open_course(chat: ChatDriver, title: str) -> None:
    await chat.say("/courses")
    await chat.press(f"11-10 {title}")


REGISTRATION = [
    ("[我要报名]", ["报名“直播带货入门班”", "姓名"]),
    ("张三", "手机号"),
    ("１３８ １２３４ ５６７８", "身份证号"),
    (ID_1, ["1949-12-31 出生", "女", "哪个县"]),
    ("滑县", "乡镇"),
    ("城关镇", "哪个村"),
    ("王庄村", "哪一类"),
    ("[贫困户]", "建档立卡"),
    ("[是]", "想学什么"),
    ("直播带货、网店运营", "同意吗"),
]


async def household(core, user: str) -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    await chat.say("/start")
    return chat


async def test_full_registration_with_consent(core) -> None:
    staff = await staff_chat(core)
    course = await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    assert "名额：30 人，已报名 0 人" in joined(chat.last)
    await verify_dialog(chat, REGISTRATION)
    replies = await chat.press("同意")
    text = joined(replies)
    assert "报名成功" in text and "2026-11-10 09:00" in text and "城关镇电商服务中心" in text
    assert "138****5678" in text and "110105********002X" in text
    assert "13812345678" not in text and ID_1 not in text
    async with core.db.transaction() as session:
        person = (await session.execute(select(Person))).scalar_one()
        reg = (await session.execute(select(Registration))).scalar_one()
        assert person.phone == "13812345678" and person.poor_registered is True
        assert person.id_number_enc and ID_1 not in person.id_number_enc
        assert str(person.birth_date) == "1949-12-31" and person.sex == "女"
        assert Repositories.on(session, core.pii).people.id_number(person) == ID_1
        assert person.consent_at is not None and person.id_consent_at is not None
        assert reg.course_id == course.id and reg.status == "confirmed"
        assert reg.interests == ["直播带货", "网店运营"] and reg.entered_by is None
        assert person.user_id == reg.user_id is not None
    # The same person again: refused before the form starts.
    await open_course(chat, "直播带货入门班")
    assert "已报名 1 人" in joined(chat.last)
    await verify_dialog(chat, [("[我要报名]", "不用重复报名")])


async def test_refusing_consent_stores_nothing(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    await verify_dialog(chat, REGISTRATION)
    replies = await chat.press("不同意")
    assert "一条都没有保存" in joined(replies)
    assert await count(core, Person) == 0
    assert await count(core, Registration) == 0
    assert await count(core, AuditEntry, AuditEntry.action == "training.register") == 0
