"""Liaison reports through the real dispatcher on each engine: the one-line report and its
confirmation, the form with recorded figures, amendments, late marking, locks, excuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from content.report_types import Period, load_definitions, merge_definitions
from handlers.report_prefill import RepositoryFigures, prefill
from storage.models import AuditEntry, OutboxMessage, Report, ReportRevision
from tests.conftest import issue_invite
from tests.factories import ChatDriver, incoming, joined, labels, verify_dialog


async def liaison(core, user: str = "li", county: str = "滑县", village: str = "王庄村"):
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, "liaison", county=county, village=village)
    await chat.say(f"/bind {code}")
    return chat


async def county_admin(core, user: str = "adm", county: str | None = "滑县"):
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, "admin", county=county)
    await chat.say(f"/bind {code}")
    return chat


async def rows(core, model):
    async with core.db.transaction() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def test_one_line_report_confirm_amend_and_lock(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    chat = await liaison(core)
    replies = await chat.say("月报 培训12人 代销8单 3200元")
    text = joined(replies)
    # Figures the line did not give come from what the station recorded (nothing: zeros),
    # so the report goes straight to the check, each line marked with its origin.
    assert "请核对" in text and "2026-10" in text
    assert "培训人数：12人（系统记录 0人）" in text and "培训期数：0期（系统记录）" in text
    await verify_dialog(chat, [("[确认提交]", ["已收到", "2026-10"])])
    [report] = await rows(core, Report)
    assert report.figures["trained"] == 12 and report.figures["sale_amount"] == 320000
    assert report.figures["notes"] is None and report.late is False and report.version == 1
    # Amend: the form offers what was submitted.
    await chat.say("/report progress")
    assert "保持已报：0" in labels(chat.last)
    await chat.say("2")
    for _ in range(7):
        await chat.say("1")
    await verify_dialog(chat, [("跳过", ["请核对", "培训期数：2期", "第 2 版"])])
    await chat.say("确认")
    assert "第 2 次修改" in joined(chat.last)
    [report] = await rows(core, Report)
    assert report.version == 2 and len(await rows(core, ReportRevision)) == 2
    assert report.figures["notes"] is None  # 跳过 skips the optional field, it is no note
    # A one-line amendment keeps the figures it does not mention as they were submitted.
    await chat.say("月报 代销9单")
    assert "培训人数：1人" in joined(chat.last) and "代销单数：9单" in joined(chat.last)
    await chat.say("取消")
    # A county admin cannot lock a period for the whole province; the province admin can.
    county = await county_admin(core)
    assert "省级管理员" in joined(await county.say("/lockreports 2026-10 progress"))
    assert "省级管理员" in joined(await county.say("/reporttype progress due 20"))
    admin = await county_admin(core, user="prov", county=None)
    assert "已锁定" in joined(await admin.say("/lockreports 2026-10 progress"))
    assert "已经由管理员锁定" in joined(await chat.say("月报 培训1人"))
    actions = [a.action for a in await rows(core, AuditEntry)]
    assert actions.count("report.submit") == 1 and actions.count("report.amend") == 1


async def test_bad_value_in_line_and_in_form_changes_nothing(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    chat = await liaison(core)
    assert "没有看懂" in joined(await chat.say("月报 代销3.5单"))
    await chat.say("/report progress")
    await verify_dialog(chat, [("十二", "请填写整数"), ("-3", "请填写整数"), ("取消", "已取消")])
    assert await rows(core, Report) == []


async def test_late_submission_for_last_period_is_marked_late(core, clock) -> None:
    clock.set(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))  # October's progress report was due 10-25
    chat = await liaison(core)
    await chat.say("月报 培训1期 培训12人 贫困户培训3人 代购2单 500元 代销8单 3200元 贫困户4户")
    assert "2026-10" in joined(chat.last)
    await chat.say("确认")
    assert "逾期" in joined(chat.last)
    [report] = await rows(core, Report)
    assert report.period == "2026-10" and report.late is True


async def test_choice_field_and_form_type_pick(core, clock) -> None:
    clock.set(datetime(2026, 11, 3, 2, 0, tzinfo=UTC))
    chat = await liaison(core)
    await chat.say("/report")
    assert any("示范县数据月报" in label for label in labels(chat.last))
    await chat.press("电子商务进农村综合示范县数据月报")
    assert "服务站运营状态" in joined(chat.last) and "暂停运营" in labels(chat.last)
    await chat.press("部分运营")
    assert "农村产品上行销售额" in joined(chat.last)
    await chat.say("返回")
    await chat.say("4")
    assert "从这些选项中选一个" in joined(chat.last)


async def test_excuse_accepted_by_county_admin(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    admin = await county_admin(core)
    await county_admin(core, user="adm2", county="荥阳市")
    chat = await liaison(core)
    assert "已把您的免报申请发给县管理员" in joined(await chat.say("本月无业务"))
    notices = [r for r in await rows(core, OutboxMessage) if r.kind == "report_excuse"]
    assert len(notices) == 1 and "王庄村" in notices[0].text  # only this county's admin
    # The admin presses the button of the message they were sent.
    token = next(o["token"] for o in notices[0].options if o["label"] == "同意免报")
    await admin.send(incoming(option=token, user="adm"))
    assert "已同意免报" in joined(admin.last)
    await admin.send(incoming(option=token, user="adm"))
    assert "已经处理过了" in joined(admin.last)
    told = [r for r in await rows(core, OutboxMessage) if r.kind == "report_excuse"]
    assert len(told) == 2 and "已同意您本期免报" in told[1].text
    assert "已提交或已申请过免报" in joined(await chat.say("请假"))
    text = joined(await admin.say("/overdue 2026-10 progress"))
    assert "已免报 1 人：王庄村" in text and "逾期" not in text


@dataclass
class Figures:
    courses: int = 2
    registered: int = 20
    attended: int = 18
    poor_attended: int = 5
    leaders_trained: int = 1


class FakeTraining:
    async def monthly_figures(self, *, county, village, year, month):
        assert (county, village, year, month) == ("滑县", "王庄村", 2026, 10)
        return Figures()


@dataclass
class FakeRepos:
    training: object


async def test_prefill_uses_what_exists_and_leaves_the_rest_unknown() -> None:
    types = merge_definitions(load_definitions(), {})
    fields = types["progress"].fields
    source = RepositoryFigures(FakeRepos(FakeTraining()))
    values = await prefill(
        source, fields, county="滑县", village="王庄村", period=Period(2026, 10)
    )
    assert values == {"courses": 2, "trained": 18, "poor_trained": 5}
    assert (
        await prefill(
            RepositoryFigures(object()),
            fields,
            county="滑县",
            village="王庄村",
            period=Period(2026, 10),
        )
        == {}
    )


class FakeOrders:
    async def monthly_totals(self, *, county, village, year, month):
        return {"purchase_count": 4, "purchase_fen": 12000, "sale_count": 7, "sale_fen": 99900}


async def test_form_offers_recorded_figures_and_keeps_corrections_beside(
    core, clock, monkeypatch
) -> None:
    import handlers.reports

    class Both:
        def __init__(self, repos) -> None:
            self.inner = RepositoryFigures(FakeRepos(FakeTraining()))
            self.orders = RepositoryFigures(type("R", (), {"orders": FakeOrders()})())

        async def figures(self, source, **where):
            return await (self.orders if source == "orders" else self.inner).figures(
                source, **where
            )

    monkeypatch.setattr(handlers.reports, "RepositoryFigures", Both)
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    chat = await liaison(core)
    await chat.say("/report progress")
    assert "系统记录：2期" in joined(chat.last) and "采用系统记录：2" in labels(chat.last)
    await chat.press("采用系统记录")  # courses 2
    await chat.say("16")  # trained: recorded 18, corrected to 16
    for _ in range(5):  # poor trained, purchases, purchase amount, sales, sale amount
        await chat.press("采用系统记录")
    await chat.say("3")  # poor households: nothing recorded
    await chat.say("跳过")
    text = joined(chat.last)
    assert (
        "培训人数：16人（系统记录 18人）" in text
        and "代销金额（农村产品上行）：999.00元（系统记录）" in text
    )
    await chat.say("确认")
    [report] = await rows(core, Report)
    assert report.figures["trained"] == 16 and report.recorded["trained"] == 18
    assert report.figures["sale_amount"] == report.recorded["sale_amount"] == 99900
