"""The reminder round over simulated weeks on each engine: the right days, holiday shifts,
silence after submission or excuse, overdue notices and private escalation, catch-up after
downtime, and no duplicates after a restart or with two processes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from scheduler.jobs.reports import SPECS, remind
from scheduler.runner import run_slot
from storage.models import OutboxMessage
from tests.conftest import issue_invite
from tests.factories import ChatDriver, incoming

SPEC = SPECS[0]


async def person(core, user: str, role: str, county: str, village: str | None = None):
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, role, county=county, village=village)
    await chat.say(f"/bind {code}")
    return chat


async def outbox(core, kind: str | None = None) -> list[OutboxMessage]:
    async with core.db.transaction() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        rows = list(await session.scalars(stmt))
    return [r for r in rows if kind is None or r.kind == kind]


def keys(rows, code: str) -> list[str]:
    """``period stage who`` for each reminder of type ``code``."""
    return [r.dedupe_key.split(":", 2)[2] for r in rows if r.dedupe_key.startswith(f"rpt:{code}:")]


async def run_days(core, clock, first: date, last: date, hour_utc: int = 1) -> None:
    """The hourly job at 09:00 Shanghai (01:00 UTC) of each day, as the scheduler would."""
    day = first
    while day <= last:
        clock.set(datetime(day.year, day.month, day.day, hour_utc, 0, tzinfo=UTC))
        await run_slot(core.scheduler.runtime, SPEC, clock.now())
        day += timedelta(days=1)


async def test_a_month_of_reminders_submission_excuse_and_escalation(core, clock) -> None:
    clock.set(datetime(2026, 10, 12, 2, 0, tzinfo=UTC))
    admin = await person(core, "adm", "admin", "滑县")
    a = await person(core, "a", "liaison", "滑县", "王庄村")
    b = await person(core, "b", "liaison", "滑县", "李庄村")
    c = await person(core, "c", "liaison", "荥阳市", "河王村")
    del admin, b
    # c is excused for October (本月无业务, accepted by a 荥阳市 admin).
    zy = await person(core, "zy", "admin", "荥阳市")
    await c.say("本月无业务")
    [request] = [r for r in await outbox(core, "report_excuse") if r.user_id is not None]
    await zy.send(incoming(option=request.options[0]["token"], user="zy"))
    assert "已同意免报" in zy.last[0]["text"]
    await run_days(core, clock, date(2026, 10, 19), date(2026, 10, 22))
    # a reports on the 22nd, after the 3-day reminder.
    clock.set(datetime(2026, 10, 22, 3, 0, tzinfo=UTC))
    await a.say("月报 培训1期 培训12人 贫困户培训3人 代购2单 500元 代销8单 3200元 贫困户4户")
    await a.say("确认")
    await run_days(core, clock, date(2026, 10, 23), date(2026, 11, 3))
    reminders = await outbox(core, "report_reminder")
    by_user: dict[int, list[str]] = {}
    for row in reminders:
        if row.dedupe_key.startswith("rpt:progress:2026-10:"):
            by_user.setdefault(row.user_id, []).append(row.dedupe_key.split(":")[3])
    users = sorted(by_user)
    # a: only the 3-day reminder (22nd); b: 3-day, then 1-day and due-day collapse into one on
    # Friday the 23rd (the 24th and 25th are a weekend), then overdue on Monday the 26th.
    assert [by_user[u] for u in users] == [["d3"], ["d3", "d0", "overdue"]]
    d0 = next(r for r in reminders if r.dedupe_key.startswith("rpt:progress:2026-10:d0:"))
    assert d0.created_at.date() == date(2026, 10, 23) and "今天" not in d0.text
    # c (excused) got nothing for October's progress report.
    assert all("河王村" not in r.text for r in await outbox(core, "report_escalation"))
    [escalation] = [
        r for r in await outbox(core, "report_escalation") if "progress:2026-10" in r.dedupe_key
    ]
    assert "李庄村" in escalation.text and "王庄村" not in escalation.text
    assert escalation.created_at.date() == date(2026, 10, 26)
    # The demonstration-county report for October (due Thu 5 November) reminds from 2 Nov.
    demo = [k for k in keys(reminders, "demo_county") if k.startswith("2026-10:")]
    assert sorted(set(k.split(":")[1] for k in demo)) == ["d3"]


async def test_golden_week_shift_and_catch_up_after_downtime(core, clock) -> None:
    clock.set(datetime(2026, 9, 20, 2, 0, tzinfo=UTC))
    await person(core, "b", "liaison", "滑县", "李庄村")
    await person(core, "adm", "admin", "滑县")
    # September's demonstration data is due Monday 5 October, inside Golden Week: the 3-day,
    # 1-day and due-day reminders all move to Wednesday 30 September and collapse into one.
    await run_days(core, clock, date(2026, 9, 28), date(2026, 10, 9))
    reminders = await outbox(core, "report_reminder")
    demo = [r for r in reminders if r.dedupe_key.startswith("rpt:demo_county:2026-09:")]
    assert [(r.dedupe_key.split(":")[3], r.created_at.date()) for r in demo] == [
        ("d0", date(2026, 9, 30)),
        ("overdue", date(2026, 10, 8)),  # the first working day after the holiday
    ]
    # Downtime: nothing ran from the 20th to 10:00 on the 24th of October; the restart
    # catches up once with the latest reminder (due-day, moved to Friday the 23rd).
    clock.set(datetime(2026, 10, 24, 2, 0, tzinfo=UTC))
    assert await run_slot(core.scheduler.runtime, SPEC, clock.now())
    assert not await run_slot(core.scheduler.runtime, SPEC, clock.now())  # same slot: once
    clock.advance(timedelta(hours=1))
    await run_slot(core.scheduler.runtime, SPEC, clock.now())
    progress = keys(await outbox(core, "report_reminder"), "progress")
    assert [k for k in progress if k.startswith("2026-10:")] == [f"2026-10:d0:{demo[0].user_id}"]
    # Down again all Monday (the overdue day); a restart in the night sends nothing until
    # the 08:00 round.
    clock.set(datetime(2026, 10, 26, 18, 30, tzinfo=UTC))  # 02:30 on Tuesday the 27th, local
    assert await run_slot(core.scheduler.runtime, SPEC, clock.now())
    overdue = f"2026-10:overdue:{demo[0].user_id}"
    assert overdue not in keys(await outbox(core, "report_reminder"), "progress")
    clock.set(datetime(2026, 10, 27, 0, 0, tzinfo=UTC))  # 08:00 local
    await run_slot(core.scheduler.runtime, SPEC, clock.now())
    assert overdue in keys(await outbox(core, "report_reminder"), "progress")


async def test_two_processes_and_a_rerun_send_nothing_twice(core, clock) -> None:
    clock.set(datetime(2026, 10, 22, 1, 5, tzinfo=UTC))
    for n in range(5):
        await person(core, f"l{n}", "liaison", "滑县", f"第{n}村")
    rt = core.scheduler.runtime
    other = dataclasses.replace(rt, holder="other-process")
    ran = await asyncio.gather(run_slot(rt, SPEC, clock.now()), run_slot(other, SPEC, clock.now()))
    assert sorted(ran) == [False, True]
    before = len(await outbox(core, "report_reminder"))
    assert before == 5
    # The job itself, run again for the same slot (as after a crash before its run was
    # recorded), adds nothing.
    await remind(rt, datetime(2026, 10, 22, 1, 0, tzinfo=UTC))
    assert len(await outbox(core, "report_reminder")) == before


async def test_a_locked_period_gets_no_reminders(core, clock) -> None:
    from storage.repositories import Repositories

    clock.set(datetime(2026, 10, 22, 1, 5, tzinfo=UTC))
    await person(core, "l", "liaison", "滑县", "王庄村")
    async with core.db.transaction() as session:
        await Repositories.on(session).reports.lock(
            "progress", "2026-10", now=clock.now(), by=None
        )
    await run_slot(core.scheduler.runtime, SPEC, clock.now())
    assert keys(await outbox(core, "report_reminder"), "progress") == []
