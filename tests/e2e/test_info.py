"""Subscriptions, information items and 退订 through the real dispatcher on each engine:
the topic menu, region scopes, a staff post fanned out (by the background fan-out, drained
here with ``step``) to subscribers in scope through the outbox, and unsubscribing from a
push by word or button."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import InfoItem, OutboxMessage, Subscription
from tests.conftest import issue_invite
from tests.factories import ChatDriver, joined, labels, verify_dialog


async def person(core, user: str, county: str | None = None) -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    await chat.say("/start")
    if county:
        await verify_dialog(chat, [("/profile", "称呼"), (user, "哪个县"), (county, "村")])
        await chat.say("跳过")
    return chat


async def staff_of(core, county: str, role: str = "staff", user: str = "staff") -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, role, county=county)
    await chat.say(f"/bind {code}")
    return chat


async def outbox(core, kind: str = "%") -> list[OutboxMessage]:
    """The rows queued (of kinds like ``kind``), once the background fan-out has written
    every posted item's rows."""
    await core.fanout.step()
    async with core.db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind.like(kind)).order_by(OutboxMessage.id)
        )
        return list(rows)


async def pushes(core) -> list[OutboxMessage]:
    return await outbox(core, "info:%")


async def reports(core) -> list[OutboxMessage]:
    async with core.db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "info_report")
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def subscribe(chat: ChatDriver, topic: str, scope: str) -> None:
    await chat.say("/subscribe")
    await chat.press(topic)
    await chat.press(scope)


async def test_subscribe_menu_scopes_and_overview(core) -> None:
    chat = await person(core, "hh", "滑县")
    replies = await chat.say("/subscribe")
    assert "还没有订阅" in joined(replies)
    topics = ["价格行情", "农业技术", "政策通知", "教育", "医疗", "旅游", "培训信息"]
    assert labels(replies) == topics
    replies = await chat.press("农业技术")
    assert labels(replies) == ["本县（滑县）", "本市（安阳市）", "全省"]
    replies = await chat.press("本市")
    assert "已订阅“农业技术”，范围：安阳市全市" in joined(replies)
    replies = await chat.say("/subscribe 价格行情")
    await chat.press("本县")
    assert "价格日报" in joined(chat.last)
    replies = await chat.press("每天 07:00")
    assert "每天 07:00" in joined(replies)
    overview = joined(await chat.say("订阅"))
    assert "农业技术（安阳市全市）" in overview and "价格行情（滑县）" in overview
    assert "✓ 农业技术" in labels(chat.last) and "全部退订" in labels(chat.last)
    # Choosing another region replaces the subscription rather than adding a second one.
    await chat.say("/subscribe 农业技术")
    await chat.press("全省")
    async with core.db.transaction() as session:
        subs = list(await session.scalars(select(Subscription).order_by(Subscription.topic)))
    assert [(s.topic, s.scope, s.digest_time) for s in subs] == [
        ("agri", "province", None),
        ("price", "county", "07:00"),
    ]


async def test_without_a_county_only_the_province_is_offered(core) -> None:
    chat = await person(core, "nocounty")
    await chat.say("/subscribe")
    replies = await chat.press("医疗")
    assert labels(replies) == ["全省"] and "/profile" in joined(replies)


async def test_staff_post_reaches_subscribers_in_scope_only(core) -> None:
    near = await person(core, "near", "滑县")
    city = await person(core, "city", "内黄")  # same city (安阳市), subscribed city-wide
    province = await person(core, "prov", "灵宝")
    elsewhere = await person(core, "far", "灵宝")
    other_topic = await person(core, "edu", "滑县")
    await subscribe(near, "农业技术", "本县")
    await subscribe(city, "农业技术", "本市")
    await subscribe(province, "农业技术", "全省")
    await subscribe(elsewhere, "农业技术", "本县")
    await subscribe(other_topic, "教育", "本县")
    staff = await staff_of(core, "滑县")
    await verify_dialog(
        staff,
        [
            ("/post", "哪个栏目"),
            ("[农业技术]", "哪个范围"),
            ("灵宝", "只能向本县（滑县）发布"),
            ("[滑县]", "发给哪些人"),
            ("[所有人]", "标题"),
            ("小麦冬灌提醒", "正文"),
            ("近期气温下降，请抓紧冬灌。", ["请确认", "小麦冬灌提醒", "将推送给 3 位订阅者"]),
            ("好的", "确认发送"),
            ("[确认发送]", "正在推送给 3 位订阅者"),
        ],
    )
    async with core.db.transaction() as session:
        item = (await session.scalars(select(InfoItem))).one()
    assert (item.status, item.audience, item.recipients) == ("fanning_out", 3, 0)
    assert await reports(core) == []
    rows = await pushes(core)
    assert len(rows) == 3 and {r.kind for r in rows} == {"info:agri"}
    assert all("小麦冬灌提醒" in r.text and "退订" in r.text for r in rows)
    assert all(r.options and r.options[0]["label"] == "退订农业技术" for r in rows)
    async with core.db.transaction() as session:
        item = (await session.scalars(select(InfoItem))).one()
    assert item.recipients == 3 and item.county == "滑县" and item.city == "安阳市"
    assert item.status == "queued"
    [report] = await reports(core)
    assert "已排队推送给全部 3 位订阅者" in report.text and report.user_id == item.author_id


async def test_one_line_post_with_roles_and_province_admin(core) -> None:
    household = await person(core, "hh", "滑县")
    liaison = await staff_of(core, "滑县", role="liaison", user="liaison")
    await subscribe(household, "政策通知", "全省")
    await subscribe(liaison, "政策通知", "本县")
    admin = await staff_of(core, None, role="admin", user="admin")
    replies = await admin.say("/post 政策通知 安阳 申报通知 请各站本月25日前报送。")
    assert "正在推送给 2 位订阅者" in joined(replies)
    county_admin = await staff_of(core, "灵宝市", role="admin", user="cadmin")
    assert "只能向本县" in joined(await county_admin.say("/post 政策通知 滑县 标题 正文"))
    assert "没有使用这项功能的权限" in joined(await household.say("/post 政策通知 滑县 标题 正文"))
    assert len(await pushes(core)) == 2


async def test_unsubscribe_by_word_refers_to_the_last_push(core) -> None:
    chat = await person(core, "hh", "滑县")
    await subscribe(chat, "农业技术", "本县")
    await subscribe(chat, "医疗", "本县")
    staff = await staff_of(core, "滑县")
    await staff.say("/post 医疗 滑县 义诊通知 周六上午在村卫生室义诊。")
    assert len(await pushes(core)) == 1
    await staff.say("/post 农业技术 滑县 冬灌 抓紧冬灌。")
    assert len(await pushes(core)) == 2
    assert "已退订“农业技术”" in joined(await chat.say("退订"))
    assert "已退订“医疗”" in joined(await chat.say("退订 医疗"))
    assert "没有订阅“医疗”" in joined(await chat.say("退订医疗"))
    async with core.db.transaction() as session:
        assert list(await session.scalars(select(Subscription))) == []


async def test_unsubscribe_button_on_a_push(core) -> None:
    chat = await person(core, "hh", "滑县")
    await subscribe(chat, "旅游", "本县")
    staff = await staff_of(core, "滑县")
    await staff.say("/post 旅游 滑县 古城庙会 正月初九古城庙会。")
    [row] = await pushes(core)
    chat.last = [{"text": row.text, "options": row.options}]
    replies = await chat.press("退订旅游")
    assert "已退订“旅游”" in joined(replies)
    await staff.say("/post 旅游 滑县 第二条 不应再收到。")
    assert len(await pushes(core)) == 1


async def test_unsubscribe_without_any_push_asks_which(core) -> None:
    chat = await person(core, "hh")
    replies = await chat.say("退订")
    assert "要退订哪个栏目" in joined(replies) and "价格行情" in labels(replies)
    assert "没有订阅任何信息" in joined(await chat.say("退订全部"))


async def test_subscriptions_follow_a_corrected_county(core) -> None:
    chat = await person(core, "mover", "滑县")
    await subscribe(chat, "教育", "本县")
    await verify_dialog(chat, [("/profile", "称呼"), ("不变", "哪个县"), ("灵宝", "村")])
    await chat.say("跳过")
    assert "教育（灵宝市）" in joined(await chat.say("/subscribe"))
    old = await staff_of(core, "滑县", user="old")
    new = await staff_of(core, "灵宝市", user="new")
    assert "没有订阅者" in joined(await old.say("/post 教育 滑县 旧县通知 不应收到。"))
    assert "推送给 1 位" in joined(await new.say("/post 教育 灵宝 新县通知 应当收到。"))
    [row] = await pushes(core)
    assert "新县通知" in row.text
