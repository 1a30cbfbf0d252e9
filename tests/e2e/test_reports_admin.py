"""Administrators' report views on each engine: /reports rates and totals by county and
city, /overdue scoped to a county admin's county, the Excel export and its audit entry,
and a due day changed in chat that moves the reminders."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from bot.messages import Incoming
from scheduler.jobs.reports import SPECS
from scheduler.runner import run_slot
from storage.models import AuditEntry, OutboxMessage
from tests.conftest import issue_invite
from tests.factories import ChatDriver, joined

LINE = "月报 培训1期 培训{n}人 贫困户培训3人 代购2单 500元 代销8单 {amount}元 贫困户4户"


async def person(core, user: str, role: str, county: str | None, village: str | None = None):
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, role, county=county, village=village)
    await chat.say(f"/bind {code}")
    return chat


async def submit(chat: ChatDriver, trained: int, amount: str) -> None:
    await chat.say(LINE.format(n=trained, amount=amount))
    assert "请核对" in joined(chat.last)
    await chat.say("确认")
    assert "已收到" in joined(chat.last)


async def test_rates_totals_overdue_scope_and_export(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    province = await person(core, "prov", "admin", None)
    county = await person(core, "hx", "admin", "滑县")
    a = await person(core, "a", "liaison", "滑县", "王庄村")
    await person(core, "b", "liaison", "滑县", "李庄村")
    c = await person(core, "c", "liaison", "荥阳市", "河王村")
    await submit(a, 12, "3200")
    clock.set(datetime(2026, 10, 27, 2, 0, tzinfo=UTC))  # after the 25th: c is late
    await submit(c, 8, "1000.5")
    text = joined(await province.say("/reports 2026-10 progress"))
    assert "应报 3，已报 2（逾期 1）" in text
    assert "安阳市：1/2（50%）" in text and "郑州市：1/1（100%）" in text
    assert "培训人数：20人" in text and "代销金额（农村产品上行）：4200.50元" in text
    # A county admin sees only their county.
    text = joined(await county.say("/overdue 2026-10 progress"))
    assert "滑县：逾期 1 人：李庄村" in text and "荥阳市" not in text
    assert "河王村" not in joined(await county.say("/reports 2026-10"))
    # The export: one row per village, the fields in order, recorded figures beside.
    replies = await core.dispatcher.handle(_command("prov", "/exportreports 2026-10 progress"))
    attachment = replies[0].attachment
    assert attachment is not None and attachment.filename == "progress-2026-10.xlsx"
    sheet = load_workbook(io.BytesIO(attachment.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    head = rows[0]
    assert head[:5] == ("市", "县（市、区）", "村", "联络员", "状态")
    assert "培训人数（人）" in head and "系统记录·培训人数" in head
    body = {r[2]: r for r in rows[1:]}
    assert set(body) == {"王庄村", "李庄村", "河王村"}
    assert body["河王村"][4] == "逾期提交" and body["李庄村"][4] == "未报"
    assert body["河王村"][head.index("代销金额（农村产品上行）（元）")] == 1000.5
    async with core.db.transaction() as session:
        audit = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "reports.export"))
        ).one()
    assert audit.target_id == "progress:2026-10" and audit.details["rows"] == 3
    # Liaisons may not use any of it.
    assert "没有使用这项功能的权限" in joined(await a.say("/reports 2026-10"))


def _command(user: str, text: str) -> Incoming:
    from tests.factories import incoming

    return incoming(text, user=user)


async def test_due_day_changed_in_chat_moves_reminders(core, clock) -> None:
    clock.set(datetime(2026, 10, 12, 2, 0, tzinfo=UTC))
    admin = await person(core, "prov", "admin", None)
    await person(core, "a", "liaison", "滑县", "王庄村")
    assert "不行" in joined(await admin.say("/reporttype progress due 40"))
    assert "每月 20 日" in joined(await admin.say("/reporttype progress due 20"))
    # Due Tuesday 20 October now: the 3-day reminder goes out on Saturday the 17th's
    # previous working day, Friday the 16th.
    clock.set(datetime(2026, 10, 16, 1, 0, tzinfo=UTC))
    await run_slot(core.scheduler.runtime, SPECS[0], clock.now())
    async with core.db.transaction() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    keys = [r.dedupe_key for r in rows if r.kind == "report_reminder"]
    assert [k.rsplit(":", 1)[0] for k in keys] == ["rpt:progress:2026-10:d3"]
    assert "2026-10-20" in rows[-1].text


async def test_rate_chart_is_a_png_with_its_legend_in_words(core, clock) -> None:
    clock.set(datetime(2026, 10, 20, 2, 0, tzinfo=UTC))
    admin = await person(core, "prov", "admin", None)
    a = await person(core, "a", "liaison", "滑县", "王庄村")
    await person(core, "c", "liaison", "荥阳市", "河王村")
    await submit(a, 12, "3200")
    clock.set(datetime(2026, 10, 27, 2, 0, tzinfo=UTC))
    replies = await core.dispatcher.handle(_command("prov", "/reportchart progress"))
    assert replies[0].attachment is not None
    assert replies[0].attachment.content[:8] == b"\x89PNG\r\n\x1a\n"
    text = replies[0].text
    assert "2025-11 至 2026-10" in text and "1：荥阳市" in text and "2：滑县" in text
    del admin
