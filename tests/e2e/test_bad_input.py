"""Bad input through the real dispatcher on each engine, for what other tests leave out:
SQL-looking text in every one-line parser (orders, prices, reports), full-width and
Arabic-Indic digits, zero-width characters inside commands and numbers, astral characters and
emoji, nan/inf/negative/huge money, a county administrator asking for another county's ledger,
reports and trainees, and a household calling every command its role is not given."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from storage.base import Base
from storage.models import Order, Person, Price, Report, Role
from tests.conftest import issue_invite
from tests.e2e.test_training import REGISTRATION, household, open_course
from tests.factories import ChatDriver, joined, verify_dialog

FORBIDDEN = "没有使用这项功能的权限"
SQL = "'; DROP TABLE {table};--"


async def bound(core, user: str, role: str, county: str = "滑县", village: str | None = "王庄村"):
    chat = ChatDriver(core.dispatcher, user=user)
    await chat.say(f"/bind {await issue_invite(core.db, role, county=county, village=village)}")
    return chat


async def table_counts(core) -> dict[str, int]:
    """Rows in every table (the schema as the models declare it)."""
    async with core.db.transaction() as session:
        return {
            name: await session.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
        }


async def rows(core, model) -> list:
    async with core.db.transaction() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def test_sql_looking_text_in_every_one_line_parser(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    staff = await bound(core, "st", "staff")
    # Orders: refused as it stands (no household), then taken literally as a product name.
    assert "没有找到农户" in joined(
        await staff.say(f"代销 苹果{SQL.format(table='orders')} 200斤 3元")
    )
    await staff.say("代销 苹果'--DROP 200斤 3元/斤 张三 13812345678")
    await staff.say("否")
    assert "已保存" in joined(await staff.press("确认保存"))
    [order] = await rows(core, Order)
    assert order.product == "苹果'--DROP" and order.total_fen == 60000
    # Prices: not a price line (format help), or a product kept as typed.
    refused = joined(await staff.say(f"价格 苹果{SQL.format(table='prices')} 3.2元/斤"))
    assert "上报价格请这样写" in refused
    assert "已记录" in joined(await staff.say("价格 苹果'OR'a'='a 3.2元/斤"))
    [price] = await rows(core, Price)
    assert price.product == "苹果'OR'a'='a" and price.price_fen == 320
    await staff.say(f"价格 梨 2元/斤 灵宝{SQL.format(table='prices')}")  # a market as typed
    markets = sorted(p.market for p in await rows(core, Price))
    assert markets == ["滑县", "灵宝';DROPTABLEprices;--"], markets
    # Reports: the SQL-looking part is reported back as not understood, nothing else.
    liaison = await bound(core, "li", "liaison")
    line = f"月报 培训12人{SQL.format(table='reports')} 代销8单"
    said = joined(await liaison.say(line))
    assert "请核对" in said or "没有看懂" in said, said
    if "请核对" in said:
        await liaison.say("确认")
        [report] = await rows(core, Report)
        assert report.figures["trained"] == 12
    async with core.db.transaction() as session:  # every table is still there
        for table in ("orders", "prices", "reports", "users"):
            assert await session.scalar(text(f"SELECT count(*) FROM {table}")) is not None


@pytest.mark.parametrize(
    ("phone", "quantity", "price"),
    [
        ("１３８１２３４５６７８", "２００", "３.５"),  # full-width
        ("١٣٨١٢٣٤٥٦٧٨", "٢٠٠", "٣.٥"),  # Arabic-Indic
        ("۱۳۸۱۲۳۴۵۶۷۸", "۲۰۰", "۳.۵"),  # extended Arabic-Indic (Persian)
        ("138\u200b1234\u200c5678", "2\u200d00", "3\u2060.5"),  # zero-width inside numbers
    ],
)
async def test_other_digits_and_zero_width_in_phones_and_amounts(
    core, clock, phone: str, quantity: str, price: str
) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    staff = await bound(core, "st", "staff")
    echoed = joined(await staff.say(f"代销 苹果 {quantity}斤 {price}元/斤 张三 {phone}"))
    assert "数量：200斤" in echoed and "700.00 元" in echoed and "138****5678" in echoed, echoed
    await staff.say("否")
    await staff.press("确认保存")
    [order] = await rows(core, Order)
    assert order.total_fen == 70000 and order.unit_price_fen == 350
    [person] = await rows(core, Person)
    assert person.phone == "13812345678"
    assert "3.50元/斤" in joined(await staff.say(f"价格 苹果 {price}元/斤"))
    liaison = await bound(core, "li", "liaison")
    checked = joined(await liaison.say(f"月报 培训{quantity}人 代销8单"))
    assert "培训人数：200人" in checked, checked


async def test_zero_width_inside_commands(core) -> None:
    staff = await bound(core, "st", "staff")
    plain = joined(await staff.say("/orders"))
    for typed in ("/or\u200bders", "\u200b/orders", "/orders\ufeff", "/\u2060orders"):
        assert joined(await staff.say(typed)) == plain, typed
    admin = await bound(core, "ad", "admin", village=None)
    made = joined(await admin.say("/in\u200bvite st\u200daff"))
    assert "邀请码" in made and FORBIDDEN not in made


async def test_astral_characters_and_emoji_in_names_and_products(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    staff = await bound(core, "st", "staff")
    # 𠀀 (Extension B) and 㐀 (Extension A) are Han characters found in real names.
    echoed = joined(await staff.say("代销 🍎苹果𠀀 200斤 3元/斤 张𠀀三 13812345678"))
    assert "产品：🍎苹果𠀀" in echoed and "张𠀀三" in echoed, echoed
    await staff.say("否")
    await staff.press("确认保存")
    await staff.say("代购 化肥🌾 5袋 120元 王㐀")
    await staff.say("是")
    await staff.press("确认保存")
    products = [o.product for o in await rows(core, Order)]
    assert products == ["🍎苹果𠀀", "化肥🌾"]
    names = sorted(p.name for p in await rows(core, Person))
    assert names == sorted(["张𠀀三", "王㐀"])
    assert "已记录" in joined(await staff.say("价格 🍓草莓𠀀 12元/斤"))
    assert "🍓草莓𠀀" in joined(await staff.say("/price 🍓草莓𠀀"))
    villager = ChatDriver(core.dispatcher, user="emoji")
    await villager.say("/profile")
    await verify_dialog(villager, [("👨‍🌾老王𠀀", "县"), ("郏县", "村"), ("跳过", "已保存")])
    assert "老王𠀀" in joined(await villager.say("/me"))


@pytest.mark.parametrize(
    "money", ["nan", "NaN", "inf", "-inf", "Infinity", "-3", "−3", "负3", "0", "1e9", "9" * 40]
)
async def test_nan_inf_negative_and_huge_money(core, clock, money: str) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    staff = await bound(core, "st", "staff")
    before = await table_counts(core)
    for line in (
        f"代销 苹果 200斤 {money}元/斤 张三 13812345678",
        f"代购 化肥 5袋 {money}元 李四",
        f"价格 苹果 {money}元/斤",
    ):
        said = joined(await staff.say(line))
        assert not said.startswith(("这笔订单：", "已记录", "已更正")), (line, said)
        await staff.say("取消")
    said = joined(await staff.say("代销 苹果 1e308斤 3元/斤 张三"))
    assert not said.startswith("这笔订单："), said  # not the product "苹果 1e", 308斤
    # The guided form refuses the same amounts at the price step.
    await staff.say("/order")
    for answer in ("[代销]", "苹果", "200斤"):
        await staff.say(answer.strip("[]"))
    said = joined(await staff.say(f"{money}元"))
    assert "第 4/9 步" in said or "超过单笔上限" in said, said  # refused, still at the price
    await staff.say("取消")
    after = await table_counts(core)
    assert after["orders"] == before["orders"] == 0 and after["prices"] == before["prices"]
    liaison = await bound(core, "li", "liaison")
    said = joined(await liaison.say(f"月报 代销8单 {money}元"))
    # Refused, or said to be ignored with the amount left at what was recorded (0.00).
    assert (
        "请核对" not in said
        or money == "0"
        or (f"已忽略：{money}元" in said and "代销金额（农村产品上行）：0.00元" in said)
    ), said
    assert await rows(core, Report) == []


async def test_county_admin_cannot_reach_another_county(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    # Business in 郏县: an order, a report, a trainee on a course.
    staff = await bound(core, "jst", "staff", county="郏县", village="李庄村")
    await staff.say("代销 苹果 200斤 3元/斤 张三 13812345678")
    await staff.say("否")
    await staff.press("确认保存")
    liaison = await bound(core, "jli", "liaison", county="郏县", village="李庄村")
    await liaison.say("月报 培训12人 代销8单 3200元")
    assert "已收到" in joined(await liaison.say("确认"))
    await verify_dialog(
        staff,
        [
            ("/course_new", "课程名称"),
            ("直播带货入门班", "讲哪些内容"),
            ("[直播带货]", "哪个县"),
            ("[保持不变]", "具体地点"),
            ("城关镇电商服务中心", "什么时候开始"),
            ("2026-11-10 09:00", "什么时候结束"),
            ("17:00", "最多收多少人"),
            ("30", "授课老师"),
            ("李老师", "面向哪些人"),
            ("[农户]", ["课程已发布", "郏县"]),
        ],
    )
    trainee = await household(core, "trainee")
    await trainee.say("/profile")
    await verify_dialog(trainee, [("张三", "县"), ("郏县", "村"), ("跳过", "已保存")])
    await open_course(trainee, "直播带货入门班")
    place = {"滑县": "郏县", "王庄村": "李庄村"}
    await verify_dialog(trainee, [(place.get(s, s), e) for s, e in REGISTRATION])
    await trainee.press("同意")

    # The 郏县 administrator sees it, which makes the refusals below meaningful.
    own = await bound(core, "jad", "admin", county="郏县", village=None)
    assert "600.00" in joined(await own.say("/ledger 2026-10"))
    assert "郏县" in joined(await own.say("/reports 2026-10"))
    assert "直播带货入门班" in joined(await own.say("/trainees"))
    other = await bound(core, "had", "admin", county="滑县", village=None)
    before = await table_counts(core)
    for asked in (
        "/ledger 郏县",
        "/ledger 郏县 李庄村 2026-10",
        "/export 郏县 2026-10",
        "/export 郏县 李庄村",
        "/ledger 平顶山市",
    ):
        said = joined(await other.say(asked))
        assert "您只能查看 滑县 的台账" in said, (asked, said)
    for asked in ("/reports 2026-10", "/overdue", "/reports 郏县 2026-10"):
        said = joined(await other.say(asked))
        assert "郏县" not in said, (asked, said)
    replies = await other.say("/exportreports 2026-10")
    for reply in replies:
        if reply.get("attachment"):
            book = load_workbook(BytesIO(reply["attachment"]["content"]))
            cells = [c for s in book for r in s.iter_rows(values_only=True) for c in r]
            assert "郏县" not in cells
    said = joined(await other.say("/trainees"))
    assert "郏县" not in said and "直播带货入门班" not in said, said
    exported = await other.press("导出学员档案")
    for reply in exported:
        if reply.get("attachment"):
            book = load_workbook(BytesIO(reply["attachment"]["content"]))
            cells = [c for s in book for r in s.iter_rows(values_only=True) for c in r]
            assert "张三" not in cells and "郏县" not in cells
    after = await table_counts(core)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"
    }


def admin_commands(core) -> list[str]:
    catalog = core.services.catalog
    return sorted(
        name for name, route in catalog.commands.items() if Role.HOUSEHOLD not in route.roles
    )


async def test_household_is_refused_every_command_it_is_not_given(core) -> None:
    names = admin_commands(core)
    assert {"invite", "broadcast", "export", "lockreports", "trainees", "order"} <= set(names)
    villager = ChatDriver(core.dispatcher, user="villager")
    await villager.say("/start")
    before = await table_counts(core)
    for name in names:
        for args in ("", " 2026-10 progress", " admin 郏县", " 1 13812345678"):
            said = joined(await villager.say(f"/{name}{args}"))
            assert FORBIDDEN in said, (name, args, said)
    aliases = [a for a, c in core.services.catalog.aliases.items() if c in names]
    for alias in aliases:
        assert FORBIDDEN in joined(await villager.say(alias)), alias
    after = await table_counts(core)
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert changed == {}, changed
