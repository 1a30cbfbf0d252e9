"""Features working together through the real dispatcher on each engine: what a station's
staff record in chat (agency orders; a training course with its registrations and
attendance) is what the village liaison's monthly report offers as the recorded figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Course, Report
from tests.conftest import issue_invite
from tests.factories import ChatDriver, joined, labels, verify_dialog

COUNTY, VILLAGE = "滑县", "王庄村"


async def bound(core, user: str, role: str, village: str | None = VILLAGE) -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, role, county=COUNTY, village=village)
    assert "绑定成功" in joined(await chat.say(f"/bind {code}"))
    return chat


async def record_order(staff: ChatDriver, line: str, poor: str | None) -> str:
    """One line, the poor-household question if asked, then 确认保存; the saved reply."""
    await staff.say(line)
    if poor is not None:
        await verify_dialog(staff, [(poor, "请核对")])
    return joined(await staff.press("确认保存"))


async def create_course(staff: ChatDriver) -> Course:
    await verify_dialog(
        staff,
        [
            ("/course_new", "课程名称"),
            ("网店运营班", "讲哪些内容"),
            ("[直播带货]", "哪个县"),
            ("[保持不变]", "具体地点"),
            ("城关镇电商服务中心", "什么时候开始"),
            ("2026-11-10 09:00", "什么时候结束"),
            ("17:00", "最多收多少人"),
            ("30", "授课老师"),
            ("李老师", "面向哪些人"),
            ("[农户]", "课程已发布"),
        ],
    )
    async with staff.dispatcher.db.transaction() as session:
        return (await session.scalars(select(Course))).one()


async def register(
    core, user: str, name: str, phone: str, village: str, category: str, poor: bool
) -> None:
    """A household registers itself for the course through the registration form."""
    chat = ChatDriver(core.dispatcher, user=user)
    await chat.say("/start")
    await chat.say("/courses")
    await chat.press("11-10 网店运营班")
    await verify_dialog(
        chat,
        [
            ("[我要报名]", "姓名"),
            (name, "手机号"),
            (phone, "身份证号"),
            ("跳过", "哪个县"),
            (COUNTY, "乡镇"),
            ("跳过", "哪个村"),
            (village, "哪一类"),
            (f"[{category}]", "建档立卡"),
            ("[是]" if poor else "[否]", "想学什么"),
            ("跳过", "同意吗"),
            ("[同意]", "报名成功"),
        ],
    )


async def test_station_records_are_the_liaison_reports_recorded_figures(core, clock) -> None:
    # 08:00 on 11-10 in Shanghai: October's late window is over, the report is November's.
    clock.set(datetime(2026, 11, 10, 0, 0, tzinfo=UTC))
    staff = await bound(core, "staff", "staff")

    # Agency orders: one sale kept, one purchase kept, one sale cancelled (never counted).
    saved = await record_order(staff, "代销 苹果 200斤 3.5元/斤 张三 13812345678", poor="是")
    assert "已保存" in saved
    assert "已保存" in await record_order(staff, "代购 化肥 5袋 120元 李四 13900001111", "否")
    assert "已保存" in await record_order(staff, "代销 土鸡 10只 800元 王五", poor="否")
    await verify_dialog(staff, [("[取消订单]", "确定要取消"), ("[确定取消]", "已取消")])

    # Training: three of this village register (two 建档立卡, one 电商带头人), one of another
    # village; two of this village (one 建档立卡, the 带头人) and the other village's are present.
    course = await create_course(staff)
    await register(core, "h1", "赵一", "13700000001", VILLAGE, "贫困户", poor=True)
    await register(core, "h2", "钱二", "13700000002", VILLAGE, "贫困户", poor=True)
    await register(core, "h3", "孙三", "13700000003", VILLAGE, "电商带头人", poor=False)
    await register(core, "h4", "周四", "13700000004", "李庄村", "电商带头人", poor=False)
    clock.set(course.starts_at + timedelta(hours=1))
    for phone, present in (("13700000001", 1), ("13700000003", 2), ("13700000004", 3)):
        await verify_dialog(staff, [(f"签到 {course.id} {phone}", f"已到 {present}/4 人")])

    # The liaison's one-line report with nothing typed: every figure comes from the records.
    liaison = await bound(core, "li", "liaison")
    text = joined(await liaison.say("月报"))
    assert "请核对" in text and "2026-11" in text
    for line in (
        "培训期数：1期（系统记录）",
        "培训人数：2人（系统记录）",
        "建档立卡贫困户参训人数：1人（系统记录）",
        "代购单数：1单（系统记录）",
        "代购金额：120.00元（系统记录）",
        "代销单数：1单（系统记录）",
        "代销金额（农村产品上行）：700.00元（系统记录）",
        "服务建档立卡贫困户数：1户（系统记录）",
    ):
        assert line in text, f"{line!r} not in:\n{text}"
    await liaison.say("取消")

    # The guided form shows the same figures one by one and offers to take them.
    await liaison.say("/report progress")  # (the optional 其他情况 is skipped by its button)
    expected = ("1期", "2人", "1人", "1单", "120.00元", "1单", "700.00元", "1户")
    for number, figure in enumerate(expected, 1):
        prompt = joined(liaison.last)
        assert f"第 {number}/9 项" in prompt and f"系统记录：{figure}" in prompt, prompt
        assert any(label.startswith("采用系统记录") for label in labels(liaison.last))
        await liaison.press("采用系统记录")
    await verify_dialog(
        liaison,
        [
            ("[跳过]", ["请核对", "代销金额（农村产品上行）：700.00元（系统记录）"]),
            ("[确认提交]", ["已收到", "2026-11"]),
        ],
    )
    async with core.db.transaction() as session:
        report = (await session.scalars(select(Report))).one()
    assert (report.county, report.village, report.period) == (COUNTY, VILLAGE, "2026-11")
    assert report.figures == {
        "courses": 1,
        "trained": 2,
        "poor_trained": 1,
        "purchase_count": 1,
        "purchase_amount": 12000,
        "sale_count": 1,
        "sale_amount": 70000,
        "poor_households": 1,
        "notes": None,
    }
    assert report.recorded == {k: v for k, v in report.figures.items() if k != "notes"}

    # In December the county-demonstration report covers November: the same records again,
    # with the households served (two distinct households in orders not cancelled).
    clock.set(datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    text = joined(await liaison.say("示范县月报 服务站正常运营"))
    assert "请核对" in text and "2026-11" in text
    for line in (
        "服务站运营状态：正常运营",
        "农村产品上行销售额：700.00元（系统记录）",
        "工业品下行（代购）金额：120.00元（系统记录）",
        "服务农户数：2户（系统记录）",
        "电商培训人数：2人（系统记录）",
        "培训带头人数：1人（系统记录）",
    ):
        assert line in text, f"{line!r} not in:\n{text}"
