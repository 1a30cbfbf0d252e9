"""Prices and information through real channels: the trend chart as a Telegram photo after
the text (fake Bot API server) and as an image in the web chat; an information item with
an image pushed through the outbox by the delivery worker; its 退订 button on Telegram."""

from __future__ import annotations

import base64
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from content.charts import TrendPoint, price_trend_png
from handlers.info import publish
from storage.models import Subscription
from storage.repositories import Repositories
from tests.factories import WebChatClient


async def seed_prices(app, days: int = 6) -> None:
    today = app.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    async with app.db.transaction() as session:
        repos = Repositories.on(session)
        for back in range(days):
            await repos.prices.record(
                product="苹果",
                market="灵宝市",
                county="灵宝市",
                city="三门峡市",
                price_fen=300 + 10 * back,
                unit="斤",
                observed_on=today - timedelta(days=back),
                source="import",
                source_label="prices.csv",
                now=app.clock.now(),
            )


async def test_price_chart_is_a_telegram_photo(fake, telegram_app) -> None:
    await seed_prices(telegram_app)
    fake.inject_message(601, "苹果多少钱")
    text, chart = await fake.wait_for_sent(2, chat_id=601)
    assert text.method == "sendMessage"
    assert "灵宝市　3.00元/斤" in text.text and "导入（prices.csv）" in text.text
    assert "附图：近 6 天全省苹果日均价走势" in text.text
    assert chart.method == "sendPhoto"
    photo = chart.params["photo"]
    assert photo["data"].startswith(b"\x89PNG") and photo["filename"] == "price_trend.png"
    fake.inject_message(601, "梨多少钱")
    sent = await fake.wait_for_sent(3, chat_id=601)
    assert sent[2].method == "sendMessage" and "没有“梨”的价格记录" in sent[2].text
    assert len(fake.messages_to(601)) == 3


async def test_image_item_pushed_on_telegram_and_unsubscribed_by_button(
    fake, telegram_app
) -> None:
    app = telegram_app
    fake.inject_message(602, "/subscribe 农业技术")
    [menu] = await fake.wait_for_sent(1, chat_id=602)
    [province] = [data for row in fake.buttons(menu) for label, data in row if label == "全省"]
    fake.inject_callback(602, province)
    sent = await fake.wait_for_sent(2, chat_id=602)
    assert "已订阅“农业技术”，范围：全省" in sent[1].text
    image = price_trend_png([TrendPoint(app.clock.now().date(), 1.0, 0.9, 1.1)])
    async with app.db.transaction() as session:
        repos = Repositories.on(session)
        blob_id = await repos.outbox.put_blob("wheat.png", "image/png", image)
        item = await repos.info_items.add(
            topic="agri",
            title="小麦冬灌",
            body="近期气温下降，请抓紧冬灌。",
            scope="county",
            county="滑县",
            city="安阳市",
            roles=[],
            now=app.clock.now(),
            blob_id=blob_id,
        )
        assert await publish(repos, item, regions=app.services.regions) == 1
    await app.fanout.step()  # the app's own fan-out loop may have been first
    app.delivery.wake()
    sent = await fake.wait_for_sent(4, chat_id=602)
    push, photo = sent[2], sent[3]
    assert push.method == "sendMessage" and "【农业技术】小麦冬灌" in push.text
    assert photo.method == "sendPhoto" and photo.params["photo"]["data"] == image
    [[(label, data)]] = fake.buttons(push)
    assert label == "退订农业技术"
    fake.inject_callback(602, data)
    sent = await fake.wait_for_sent(5, chat_id=602)
    assert "已退订“农业技术”" in sent[4].text
    async with app.db.transaction() as session:
        assert list(await session.scalars(select(Subscription))) == []


async def test_price_chart_and_push_in_the_web_chat(app) -> None:
    await seed_prices(app)
    web = WebChatClient(f"http://127.0.0.1:{app.http_port}")
    try:
        await web.open()
        [answer] = await web.say("苹果价格")
        assert "灵宝市　3.00元/斤" in answer["text"]
        attachment = answer["attachment"]
        assert attachment["mime_type"] == "image/png"
        prefix = "data:image/png;base64,"
        assert attachment["url"].startswith(prefix)
        assert base64.b64decode(attachment["url"][len(prefix) :]).startswith(b"\x89PNG")
        await web.say("/subscribe 价格行情")
        await web.press("全省")
        await web.press("不要日报")
        async with app.db.transaction() as session:
            repos = Repositories.on(session)
            item = await repos.info_items.add(
                topic="price",
                title="苹果收购价上调",
                body="灵宝果品市场收购价上调。",
                scope="province",
                county=None,
                city=None,
                roles=[],
                now=app.clock.now(),
            )
            await publish(repos, item, regions=app.services.regions)
        await app.fanout.step()
        app.delivery.wake()
        async with web.session.get(web.base_url + "/api/events?after=0") as response:
            events = (await response.json())["events"]
        assert any("苹果收购价上调" in e["text"] for e in events)
        assert "已退订“价格行情”" in (await web.say("退订"))[0]["text"]
    finally:
        await web.close()
