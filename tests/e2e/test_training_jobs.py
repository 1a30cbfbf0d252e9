"""The training jobs on each engine: the day-before reminder and the 30/90-day follow-up,
enqueued once per trainee however often a slot runs; answers in chat and by staff."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from scheduler.jobs import JOBS
from scheduler.jobs.base import JobRuntime
from scheduler.runner import run_slot
from storage.models import FollowUp, OutboxMessage
from storage.repositories import Repositories
from tests.e2e.test_training import create_course, household, register_quick, staff_chat
from tests.factories import incoming, joined, verify_dialog

SPECS = {spec.name: spec for spec in JOBS}


def runtime(core, clock) -> JobRuntime:
    return JobRuntime(
        db=core.db, notifier=core.notifier, clock=clock, timezone="Asia/Shanghai", pii=core.pii
    )


async def outbox(core, kind: str = "training") -> list[OutboxMessage]:
    async with core.db.transaction() as session:
        stmt = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list(await session.scalars(stmt))


async def test_reminder_the_day_before_once_per_trainee(core, clock) -> None:
    staff = await staff_chat(core)
    course = await create_course(staff, capacity=1)
    first, second = await household(core, "h1"), await household(core, "h2")
    await register_quick(first, "甲", "13900000001", "直播带货入门班")
    await register_quick(second, "乙", "13900000002", "直播带货入门班")  # waiting: no reminder
    rt, spec = runtime(core, clock), SPECS["training.reminders"]
    clock.set(course.starts_at - timedelta(hours=30))
    assert await run_slot(rt, spec)
    assert await outbox(core) == []
    clock.set(course.starts_at - timedelta(hours=23, minutes=30))
    assert await run_slot(rt, spec)
    assert not await run_slot(rt, spec)  # the same slot runs once
    clock.advance(timedelta(hours=1))
    assert await run_slot(rt, spec)  # the next slot finds the same course: deduplicated
    rows = await outbox(core)
    assert len(rows) == 1 and "明天开课" in rows[0].text and "城关镇电商服务中心" in rows[0].text
    assert rows[0].priority == 10


async def test_followups_asked_answered_and_listed_for_staff(core, clock) -> None:
    staff = await staff_chat(core)
    course = await create_course(staff)
    chat = await household(core, "h1")
    await register_quick(chat, "甲", "13900000001", "直播带货入门班")
    await staff.press("代人报名")
    for said in ("乙", "跳过", "跳过", "不变", "跳过", "不变", "其他", "是", "跳过", "同意"):
        await staff.say(said)
    assert "服务站代乙报名" in joined(staff.last)
    await staff.say("/courses")
    clock.set(course.starts_at + timedelta(hours=1))
    await staff.say("/courses")
    await staff.press("11-10 直播带货入门班")
    await staff.press("点名签到")
    await staff.press("甲")
    await staff.press("乙")
    rt, spec = runtime(core, clock), SPECS["training.followups"]
    clock.set(course.ends_at + timedelta(days=29))
    await run_slot(rt, spec)
    assert await outbox(core) == []
    clock.set(course.ends_at + timedelta(days=31))
    await run_slot(rt, spec)
    clock.advance(timedelta(days=1))
    await run_slot(rt, spec)
    rows = await outbox(core)
    assert len(rows) == 1 and "结束已经 30 天" in rows[0].text
    assert [o["label"] for o in rows[0].options] == [
        "开了网店",
        "在网上卖货",
        "在电商企业就业",
        "还没有",
    ]
    # Staff see both as unanswered (the one without chat needs a phone call).
    await verify_dialog(staff, [("/followups", ["共 2 人", "需电话询问", "已在聊天中询问"])])
    # The trainee answers the button of the pushed message.
    token = rows[0].options[1]["token"]
    answer = await core.dispatcher.handle(incoming(option=token, user="h1"))
    assert "已记下：在网上卖货" in answer[0].text
    # Staff record the other answer from a phone call.
    await verify_dialog(
        staff,
        [
            ("/followups", "共 1 人"),
            ("[记录回访：乙（30天）]", "现在的情况是"),
            ("[还没有]", "已记下：还没有"),
            ("/followups", "都已答复"),
        ],
    )
    async with core.db.transaction() as session:
        outcomes = list(await session.scalars(select(FollowUp.outcome).order_by(FollowUp.id)))
        assert outcomes == ["selling", "nothing"]
        fu_id = (await session.scalars(select(FollowUp.id))).first()
    # A household can neither list follow-ups nor answer someone else's.
    other = await household(core, "h9")
    assert "没有使用这项功能的权限" in joined(await other.say("/followups"))
    stolen = await core.dispatcher.handle(incoming(option=token, user="h9"))
    assert "已记下" not in stolen[0].text
    # 90 days later the second round is asked.
    clock.set(course.ends_at + timedelta(days=91))
    await run_slot(rt, spec)
    assert len(await outbox(core)) == 2
    async with core.db.transaction() as session:
        first = await Repositories.on(session).training.followup(fu_id)
        assert first is not None and first.outcome == "selling"
