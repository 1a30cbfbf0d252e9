"""Agency orders through the real dispatcher on each engine: one line and the guided form,
confirm before save, status changes, audited corrections, cancel, a household's own view,
role refusal, ledger views and the Excel export, and a restart in the middle of the form."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.app import CunzhanApp
from storage.models import AuditEntry, DialogState, Order, OrderStatus, OutboxMessage, Person
from tests.conftest import issue_invite
from tests.factories import ChatDriver, incoming, joined, labels, verify_dialog

LINE = "代销 苹果 200斤 3.5元/斤 张三 13812345678"


async def bound(core, user: str, role: str = "staff", county="滑县", village="王庄村"):
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, role, county=county, village=village)
    await chat.say(f"/bind {code}")
    return chat


async def count(core, model, *where) -> int:
    async with core.db.transaction() as session:
        stmt = select(func.count()).select_from(model)
        return await session.scalar(stmt.where(*where) if where else stmt)


async def orders(core) -> list[Order]:
    async with core.db.transaction() as session:
        return list(await session.scalars(select(Order).order_by(Order.id)))


async def record(chat: ChatDriver, line: str = LINE, poor: str | None = "是") -> str:
    await chat.say(line)
    if poor is not None:
        await chat.say(poor)
    return joined(await chat.press("确认保存"))


async def test_one_line_is_echoed_and_saved_only_after_confirm(core) -> None:
    chat = await bound(core, "staff")
    text = joined(await chat.say(LINE))
    assert "苹果" in text and "700.00 元" in text and "3.50 元/斤" in text
    assert "138****5678" in text and "13812345678" not in text and "新农户" in text
    assert await count(core, Order) == 0
    await verify_dialog(chat, [("是", ["请核对", "建档立卡户：是"])])
    assert await count(core, Order) == 0
    saved = joined(await chat.press("确认保存"))
    assert "#1 已保存" in saved and "已登记" in saved
    [order] = await orders(core)
    assert (order.kind, order.product, order.unit, order.total_fen) == (
        "sale",
        "苹果",
        "斤",
        70000,
    )
    assert Decimal(order.quantity) == 200 and order.unit_price_fen == 350 and order.poor_registered
    assert (order.county, order.village, order.ledger_date.isoformat()) == (
        "滑县",
        "王庄村",
        "2026-11-02",
    )
    # The same household again is linked, not created twice; its flag is known now.
    text = joined(await chat.say("代购 化肥 ５袋 １２０元 张三"))
    assert "新农户" not in text and "请核对" in text and "建档立卡户：是" in text
    await chat.press("确认保存")
    assert await count(core, Person) == 1 and await count(core, Order) == 2


async def test_cancel_before_confirm_saves_nothing_and_mistakes_say_why(core) -> None:
    chat = await bound(core, "staff")
    await verify_dialog(
        chat,
        [
            (LINE, "建档立卡户吗"),
            ("取消", "已取消"),
            ("代购 化肥 5袋 0元 李四", "必须大于 0"),
            ("代购 拖拉机 1台 2000000元 李四", "超过单笔上限 1000000.00 元"),
            ("代销 苹果 200000斤 1元/斤 张三", "数量超过 100000"),
            ("代销 苹果 200斤 张三", "没有找到价格"),
            ("代销 苹果 200斤 3.5元/斤 张三 1381234567", "手机号应为 11 位"),
        ],
    )
    assert await count(core, Order) == 0 and await count(core, Person) == 0
    assert await count(core, DialogState) == 0


async def test_guided_form_with_back_skip_and_reasons(core) -> None:
    chat = await bound(core, "staff")
    await verify_dialog(
        chat,
        [
            ("/order", "哪一类订单"),
            ("[代购]", "什么产品"),
            ("代购 化肥 5袋 120元 李四", ["先回复“取消”", "什么产品"]),
            ("化肥", "数量是多少"),
            ("5", "要带单位"),
            ("五袋", "价格是多少"),
            ("每袋24元", "为哪位农户"),
            ("李四 13912345678", "是建档立卡户吗"),
            ("否", "哪个平台"),
            ("返回", "是建档立卡户吗"),
            ("否", "哪个平台"),
            ("[拼多多]", "备注"),
            ("跳过", ["请核对", "总价：120.00 元", "平台/买家：拼多多", "139****5678"]),
            ("好的", "请回复“确认”"),
            ("确认", "已保存"),
        ],
    )
    [order] = await orders(core)
    assert (order.kind, order.total_fen, order.unit_price_fen, order.platform) == (
        "purchase",
        12000,
        2400,
        "拼多多",
    )
    assert order.note is None and order.poor_registered is False


async def test_restart_in_the_middle_of_the_form_loses_nothing(
    core, database_url, settings_for, clock
) -> None:
    chat = await bound(core, "staff")
    await verify_dialog(chat, [("/order", ""), ("代销", ""), ("鸡蛋", ""), ("30个", "价格")])
    restarted = CunzhanApp(settings_for(database_url), clock=clock)
    try:
        again = ChatDriver(restarted.dispatcher, user="staff")
        await verify_dialog(
            again,
            [
                ("1.2元一个", "为哪位农户"),
                ("赵六", "建档立卡户吗"),
                ("是", ""),
                ("跳过", ""),
                ("跳过", ["鸡蛋", "30个", "36.00 元"]),
                ("确认", "已保存"),
            ],
        )
    finally:
        await restarted.db.dispose()
    assert [o.total_fen for o in await orders(core)] == [3600]


async def test_status_flow_correction_audit_and_cancel(core) -> None:
    chat = await bound(core, "staff")
    chat_user = (await core.dispatcher.handle(incoming("/me", user="staff")))[0]
    assert "服务站人员" in chat_user.text
    await record(chat)
    await chat.press("修改")
    await verify_dialog(
        chat,
        [
            ("[数量]", "新的数量"),
            ("两百五十斤", ["250斤", "总价 875.00 元"]),
            ("确认", ["已修改", "数量：200 → 250", "总价：700.00元 → 875.00元"]),
        ],
    )
    await verify_dialog(chat, [("[标记已发货]", "已发货")])
    await verify_dialog(chat, [("[标记已完成]", "已完成")])
    assert "修改" not in labels(chat.last) and "取消订单" not in labels(chat.last)
    [order] = await orders(core)
    assert order.status == OrderStatus.DONE and order.total_fen == 87500
    assert order.shipped_at is not None and order.completed_at is not None
    detail = joined(await chat.say("订单 1"))
    assert "登记" in detail and "修改：数量 200 → 250" in detail and "已发货 → 已完成" in detail
    async with core.db.transaction() as session:
        edit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "order.edit"))
    assert edit.details["changed"]["total_fen"] == [70000, 87500]
    # A second order is cancelled: it stays in the ledger, out of the figures.
    await record(chat, "代购 化肥 5袋 120元 张三", poor=None)
    await verify_dialog(chat, [("[取消订单]", "确定要取消"), ("[确定取消]", "已取消")])
    assert [o.status for o in await orders(core)] == ["done", "cancelled"]
    ledger = joined(await chat.say("/ledger"))
    assert "代购 0 笔" in ledger and "代销 1 笔 875.00 元" in ledger
    assert "已取消" in joined(await chat.say("/orders"))


async def test_household_sees_only_its_own_orders_after_linking(core) -> None:
    staff = await bound(core, "staff")
    await record(staff)
    await record(staff, "代销 土鸡 10只 ¥800 王五 13900001111", poor="否")
    household = ChatDriver(core.dispatcher, user="hh")
    text = joined(await household.say("我的订单"))
    assert "还没有和服务站台账中的农户关联" in text
    number = text.split("编号 ")[1].split(" ")[0]
    assert "没有使用这项功能的权限" in joined(await household.say(LINE))
    assert "没有使用这项功能的权限" in joined(await household.say("/ledger"))
    await verify_dialog(staff, [(f"/link {number} 13812345678", "已把账号")])
    mine = joined(await household.say("我的订单"))
    assert "苹果" in mine and "土鸡" not in mine
    assert "没有找到" in joined(await household.say("订单 2"))
    assert "苹果" in joined(await household.say("订单 1"))
    # Shipping tells the linked household through the outbox.
    await staff.say("订单 1")
    await staff.press("标记已发货")
    assert await count(core, OutboxMessage, OutboxMessage.kind == "order_status") == 1


async def test_other_station_cannot_see_or_change_and_questions_go_to_policy(core) -> None:
    staff = await bound(core, "staff")
    await record(staff)
    other = await bound(core, "other", village="李庄村")
    assert "没有找到" in joined(await other.say("订单 1"))
    assert "没有找到" in joined(await other.say("/order 1"))
    assert "1 笔" not in joined(await other.say("/ledger"))
    liaison = await bound(core, "liaison", role="liaison")
    seen = joined(await liaison.say("/ledger"))
    assert "王庄村服务站台账" in seen and "代销 1 笔 700.00 元" in seen
    assert "权限" in joined(await liaison.say("/export"))
    assert "没有找到" in joined(await liaison.say("订单 1"))
    # A question that starts with 代销 but carries no figure is not an order.
    household = ChatDriver(core.dispatcher, user="hh")
    assert "权限" not in joined(await household.say("代销农产品有什么补贴"))


async def test_admin_views_and_excel_export_with_audit(core) -> None:
    staff = await bound(core, "staff")
    await record(staff)
    await record(staff, "代购 化肥 5袋 120元 李四", poor="否")
    other = await bound(core, "other", village="李庄村")
    await record(other, "代销 红薯 100斤 1.5元/斤 孙八 建档立卡", poor=None)
    admin = await bound(core, "admin", role="admin", county=None, village=None)
    county = joined(await admin.say("/ledger 滑县"))
    assert "王庄村：代购 1 笔 120.00 元；代销 1 笔 700.00 元" in county
    assert "李庄村：代购 0 笔" in county and "合计" in county and "建档立卡 2 户" in county
    city = joined(await admin.say("/ledger 安阳市 2026-11"))
    assert "滑县：" in city and "代销 2 笔 850.00 元" in city
    assert "2026年10月" in joined(await admin.say("/ledger 滑县 王庄村 2026-10"))
    province = joined(await admin.say("/ledger"))
    assert "本月还没有订单" in joined(await admin.say("/ledger 2026-01"))
    assert "全省" in province and "安阳市：代购 1 笔 120.00 元；代销 2 笔 850.00 元" in province
    county_admin = await bound(core, "cadmin", role="admin", county="内黄县", village=None)
    assert "只能查看 内黄县" in joined(await county_admin.say("/ledger 滑县"))
    staff_file = (await core.dispatcher.handle(incoming("/export", user="staff")))[0]
    assert staff_file.attachment is not None and "2 笔订单" in staff_file.text
    sheet = load_workbook(BytesIO(staff_file.attachment.content))["台账"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[3] for r in rows] == ["苹果", "化肥"] and rows[0][9] == "138****5678"
    assert rows[0][7] == 700 and rows[0][10] == "是"
    admin_file = (
        await core.dispatcher.handle(incoming("/export 滑县 王庄村 2026-11", user="admin"))
    )[0]
    assert admin_file.attachment is not None
    admin_rows = list(
        load_workbook(BytesIO(admin_file.attachment.content))["台账"].iter_rows(
            min_row=3, values_only=True
        )
    )
    assert admin_rows[0][9] == "13812345678"
    summary = load_workbook(BytesIO(admin_file.attachment.content))["月度汇总"]
    assert [r[1] for r in summary.iter_rows(min_row=2, values_only=True)] == [1, 120, 1, 700, 2, 1]
    async with core.db.transaction() as session:
        exports = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "ledger.export"))
        )
    assert [(e.target_id, e.details["full_phones"]) for e in exports] == [
        ("滑县/王庄村/2026-11", False),
        ("滑县/王庄村/2026-11", True),
    ]


async def test_namesakes_are_told_apart_by_phone_and_price_can_be_corrected(core) -> None:
    chat = await bound(core, "staff")
    await record(chat)
    await record(chat, "代购 化肥 5袋 120元 张三 13900001111", poor="否")
    assert await count(core, Person) == 2
    await verify_dialog(
        chat,
        [
            ("代销 苹果 10斤 4元/斤 张三", ["有 2 位叫“张三”", "为哪位农户"]),
            ("张三 13900001111", ["请核对", "139****1111", "建档立卡户：否"]),
            ("确认", "#3 已保存"),
            ("[修改]", "哪一项"),
            ("[价格]", "新的价格"),
            ("5元/公斤", ["5公斤", "总价 25.00 元"]),
            ("确认", ["数量：10 → 5", "单位：斤 → 公斤", "总价：40.00元 → 25.00元"]),
        ],
    )
    order = (await orders(core))[-1]
    assert (order.total_fen, order.unit, order.unit_price_fen) == (2500, "公斤", 500)
    assert await count(core, Person) == 2


async def test_recording_needs_a_station(core) -> None:
    admin = await bound(core, "admin", role="admin", county="滑县", village=None)
    await verify_dialog(admin, [("/order", "还没有所属的服务站"), (LINE, "还没有所属的服务站")])
    staff = await bound(core, "staff")
    await record(staff)
    other_admin = await bound(core, "other", role="admin", county="内黄县", village=None)
    assert "没有找到" in joined(await other_admin.say("订单 1"))
    detail = await admin.say("订单 1")
    assert "标记已发货" in labels(detail)
    await verify_dialog(admin, [("[标记已发货]", "已发货")])
