"""Prices through the real dispatcher on each engine: staff post one line, anyone asks by
command or question and gets the nearest latest prices with day and source, a 30-day chart
when there are enough days; the daily digest job sends once per subscriber per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from scheduler.jobs import JOBS
from scheduler.jobs.base import JobRuntime
from scheduler.runner import run_slot
from storage.models import OutboxMessage, Price
from tests.e2e.test_info import outbox, person, staff_of, subscribe
from tests.factories import incoming, joined

DIGEST = next(spec for spec in JOBS if spec.name == "info.price_digest")


async def prices(core) -> list[Price]:
    async with core.db.transaction() as session:
        return list(await session.scalars(select(Price).order_by(Price.id)))


async def test_staff_post_one_line_and_corrections(core) -> None:
    staff = await staff_of(core, "灵宝市")
    assert "已记录：苹果 3.20元/斤，灵宝市，2026-11-02" in joined(
        await staff.say("价格 苹果 3.2元/斤 灵宝")
    )
    assert "今天已经记录过了" in joined(await staff.say("价格 苹果 3.2元/斤 灵宝"))
    assert "已更正今天的价格：苹果 3.40元/斤" in joined(await staff.say("价格 苹果 3.4元/斤"))
    assert "已记录：猪肉 15.00元/公斤，灵宝果品批发市场" in joined(
        await staff.say("价格 猪肉 15元/公斤 灵宝果品批发市场")
    )
    assert "不认识“火星”" in joined(await staff.say("价格 苹果 3元/斤 火星"))
    assert "价格不对" in joined(await staff.say("价格 苹果 3.125元/斤"))
    assert "上报价格请这样写" in joined(await staff.say("价格 苹果 3元"))
    rows = await prices(core)
    assert [(r.product, r.market, r.county, r.price_fen, r.unit, r.source) for r in rows] == [
        ("苹果", "灵宝市", "灵宝市", 340, "斤", "staff"),
        ("猪肉", "灵宝果品批发市场", "灵宝市", 1500, "公斤", "staff"),
    ]
    household = await person(core, "hh")
    assert "没有使用这项功能的权限" in joined(await household.say("价格 苹果 9元/斤 灵宝"))
    assert len(await prices(core)) == 2


async def test_question_answers_nearest_first_with_day_and_source(core, clock) -> None:
    far = await staff_of(core, "滑县", user="far")
    near = await staff_of(core, "灵宝市", user="near")
    await far.say("价格 苹果 2.8元/斤")
    clock.advance(timedelta(days=1))
    await near.say("价格 苹果 3.2元/斤")
    await near.say("价格 苹果 3.0元/斤 陕州")  # same city (三门峡市), another county
    asker = await person(core, "asker", "灵宝")
    text = joined(await asker.say("苹果多少钱？"))
    lines = [line for line in text.splitlines() if line.startswith("·")]
    assert "离灵宝市近的在前" in text
    assert lines[0].startswith("· 灵宝市　3.20元/斤　11-03　服务站上报")
    assert lines[1].startswith("· 陕州区　3.00元/斤")
    assert lines[2].startswith("· 滑县　2.80元/斤　11-02")
    assert "附图" not in text
    assert joined(await asker.say("/price 苹果")) == text
    assert "没有“梨”的价格记录" in joined(await asker.say("梨多少钱"))
    assert "查价格" in joined(await asker.say("/price"))


async def test_trend_chart_when_enough_days(core, clock) -> None:
    staff = await staff_of(core, "灵宝市")
    for day in range(6):
        await staff.say(f"价格 苹果 {3 + day / 10:.1f}元/斤")
        clock.advance(timedelta(days=1))
    await person(core, "asker", "灵宝")
    [rendered] = await core.dispatcher.handle(incoming("苹果价格", user="asker"))
    assert "附图：近 6 天灵宝市苹果日均价走势" in rendered.text
    assert rendered.attachment is not None
    assert rendered.attachment.mime_type == "image/png"
    assert rendered.attachment.content.startswith(b"\x89PNG")
    # Observations older than 30 days neither show nor count: 11-05..11-07 are left on 12-04.
    clock.advance(timedelta(days=26))
    [later] = await core.dispatcher.handle(incoming("苹果价格", user="asker"))
    assert later.attachment is None and "3.50元/斤　11-07" in later.text
    clock.advance(timedelta(days=3))
    [gone] = await core.dispatcher.handle(incoming("苹果价格", user="asker"))
    assert "没有“苹果”的价格记录" in gone.text


async def test_daily_digest_once_per_subscriber_at_their_time(core, clock) -> None:
    rt = JobRuntime(db=core.db, notifier=core.notifier, clock=clock, timezone="Asia/Shanghai")
    staff = await staff_of(core, "灵宝市")
    await staff.say("价格 苹果 3.2元/斤")
    await staff.say("价格 小米 6元/斤 滑县")
    noon = await person(core, "noon", "灵宝")
    await subscribe(noon, "价格行情", "本县")
    await noon.press("每天 12:00")
    evening = await person(core, "evening", "滑县")
    await subscribe(evening, "价格行情", "全省")
    await evening.press("每天 18:00")
    no_digest = await person(core, "off", "灵宝")
    await subscribe(no_digest, "价格行情", "本县")
    await no_digest.press("不要日报")

    def at(hour: int, minute: int = 0, day: int = 2) -> datetime:  # Asia/Shanghai → UTC
        return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)

    async def digests() -> list[OutboxMessage]:
        return [r for r in await outbox(core) if r.kind == "digest:price"]

    clock.set(at(11, 50))
    assert await run_slot(rt, DIGEST, at(11, 50))
    assert await digests() == []
    clock.set(at(12, 0))
    assert await run_slot(rt, DIGEST, at(12, 0))
    assert not await run_slot(rt, DIGEST, at(12, 5))  # same slot: not run again
    [first] = await digests()
    assert "【价格日报】11月02日 灵宝市" in first.text and "苹果　灵宝市　3.20元/斤" in first.text
    assert "小米" not in first.text and first.options[0]["label"] == "退订价格行情"
    await run_slot(rt, DIGEST, at(12, 15))
    clock.set(at(18, 30))
    await run_slot(rt, DIGEST, at(18, 30))  # 18:00 passed while down: sent late, once
    rows = await digests()
    assert len(rows) == 2 and "全省" in rows[1].text and "小米" in rows[1].text
    await run_slot(rt, DIGEST, at(19, 0))
    assert len(await digests()) == 2
    # Next day: no new prices in 灵宝 for two days → no empty digest; the province one still has.
    clock.set(at(12, 0, day=4))
    await run_slot(rt, DIGEST, at(12, 0, day=4))
    assert len(await digests()) == 2
    await staff.say("价格 苹果 3.3元/斤")
    clock.set(at(12, 0, day=5))
    await run_slot(rt, DIGEST, at(12, 0, day=5))
    rows = await digests()
    assert len(rows) == 3 and "11月05日" in rows[2].text and "3.30元/斤" in rows[2].text
    # 退订 after a digest refers to the price topic.
    assert "已退订“价格行情”" in joined(await noon.say("退订"))
