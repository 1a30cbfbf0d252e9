"""cunzhan through its WeChat endpoint, with a peer that signs and encrypts as WeChat does
(wechatpy's crypto) and a fake WeChat API server for customer-service messages."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import CunzhanApp
from bot.clock import ManualClock
from bot.context import Context
from bot.messages import Attachment, Incoming, Reply
from bot.router import Router
from storage.models import Identity, InboxItem, OutboxMessage, User
from storage.repositories import Repositories
from tests.e2e.test_delivery import wait_status
from tests.fakes.wechat_peer import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TEMPLATE_ID,
    WECHAT_TOKEN,
    FakeWechatApi,
    WechatPeer,
)

slow = Router("slow_test")
CALLS: list[str] = []


@slow.command("slow")
async def slow_handler(msg: Incoming, ctx: Context) -> list[Reply]:
    """Take longer than WeChat waits."""
    CALLS.append(msg.sender.external_id)
    await asyncio.sleep(float(msg.args[0]) if msg.args else 1.0)
    return [Reply("wechat/heard", {"text": "慢慢来"})]


@slow.command("long")
async def long_handler(msg: Incoming, ctx: Context) -> list[Reply]:
    """A reply longer than one WeChat message."""
    return [Reply("wechat/heard", {"text": "长" * 1100})]


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@slow.command("chart")
async def chart_handler(msg: Incoming, ctx: Context) -> list[Reply]:
    """Two replies, the second with a picture."""
    picture = Attachment("chart.png", PNG, "image/png")
    return [
        Reply("wechat/heard", {"text": "价格"}),
        Reply("wechat/heard", {"text": "图"}, attachment=picture),
    ]


@pytest.fixture
async def wechat_api():
    async with FakeWechatApi() as server:
        yield server
        assert server.errors == []


@pytest.fixture
def wclock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


def wechat_env(api: FakeWechatApi, *, safe: bool = True, budget_ms: int = 4000) -> dict:
    env = {
        "CUNZHAN_WECHAT_TOKEN": WECHAT_TOKEN,
        "CUNZHAN_WECHAT_APP_ID": APP_ID,
        "CUNZHAN_WECHAT_APP_SECRET": APP_SECRET,
        "CUNZHAN_WECHAT_API_URL": api.base_url,
        "CUNZHAN_WECHAT_REPLY_BUDGET_MS": str(budget_ms),
    }
    if safe:
        env["CUNZHAN_WECHAT_AES_KEY"] = AES_KEY
    return env


async def running(settings, clock) -> CunzhanApp:
    from handlers import ROUTERS

    application = CunzhanApp(settings, clock=clock, routers=[slow, *ROUTERS])
    await application.start()
    return application


@pytest.fixture
async def wechat_app(database_url, settings_for, wechat_api, wclock):
    application = await running(settings_for(database_url, **wechat_env(wechat_api)), wclock)
    yield application
    await application.stop()


@pytest.fixture
async def peer(wechat_app, wclock):
    url = f"http://127.0.0.1:{wechat_app.http_port}/wechat"
    async with WechatPeer(url, now=lambda: wclock.now().timestamp()) as client:
        yield client


async def count(app: CunzhanApp, model) -> int:
    async with app.db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


# -- conversations ------------------------------------------------------------------------
async def test_url_verification(peer) -> None:
    assert await peer.verify_url("echo-123") == (200, "echo-123")
    status, _ = await peer.verify_url("echo-456", signature="0" * 40)
    assert status == 403


async def test_follow_gets_the_menu_and_a_number_chooses(peer, wechat_app) -> None:
    response = await peer.post(peer.event("o-user-1", "subscribe"))
    welcome = response.content or ""
    assert "欢迎使用" in welcome
    assert "回复 1：政策问答" in welcome and "回复 4：我的信息" in welcome
    me = await peer.say("o-user-1", "4")
    assert "身份：农户" in me and "微信公众号" in me
    assert "回复 1：修改资料" in me
    # a number beyond the choices is ordinary text (here: a policy question)
    assert "回复" not in (await peer.say("o-user-1", "9"))


async def test_an_admin_works_through_wechat(peer, wechat_app) -> None:
    from tests.conftest import issue_invite

    code = await issue_invite(wechat_app.db, "admin")
    bound = await peer.say("o-admin", f"/bind {code}")
    assert "管理员" in bound
    number = next(
        line.split("：")[0].split()[-1]
        for line in bound.splitlines()
        if line.endswith("生成邀请码")
    )
    usage = await peer.say("o-admin", number)
    assert "/invite" in usage
    created = await peer.say("o-admin", "/invite staff 郏县")
    assert re.search(r"[A-Z2-9]{5}-[A-Z2-9]{5}", created), created
    refused = await peer.say("o-household", "/invite staff 郏县")
    assert "没有使用这项功能的权限" in refused


def number_of(text: str, label: str) -> str:
    """The number WeChat users reply to choose ``label`` from a numbered list."""
    for line in text.splitlines():
        match = re.fullmatch(r"回复 (\d+)：(.*)", line)
        if match and match.group(2).startswith(label):
            return match.group(1)
    raise AssertionError(f"no choice {label!r} in {text!r}")


async def test_subscription_and_a_staff_post_pushed_over_wechat(
    peer, wechat_app, wechat_api
) -> None:
    from tests.conftest import issue_invite

    for says in ("修改资料", "老李", "滑县"):
        prompt = await peer.say("o-hh", says)
    assert "已保存" in await peer.say("o-hh", number_of(prompt, "跳过"))
    topics = await peer.say("o-hh", "/subscribe")
    scopes = await peer.say("o-hh", number_of(topics, "旅游"))
    assert "已订阅“旅游”" in await peer.say("o-hh", number_of(scopes, "本县"))
    code = await issue_invite(wechat_app.db, "staff", county="滑县")
    assert "服务站人员" in await peer.say("o-staff", f"/bind {code}")
    posted = await peer.say("o-staff", "/post 旅游 滑县 古城庙会 正月初九古城庙会。")
    assert "推送给 1 位" in posted
    [push] = await wechat_api.wait_for_sent(1, touser="o-hh")
    assert "古城庙会" in push
    assert "已退订“旅游”" in await peer.say("o-hh", number_of(push, "退订旅游"))


async def test_a_station_records_an_order_and_a_price_over_wechat(peer, wechat_app) -> None:
    from tests.conftest import issue_invite

    code = await issue_invite(wechat_app.db, "staff", county="灵宝市", village="王庄村")
    await peer.say("o-station", f"/bind {code}")
    echoed = await peer.say("o-station", "代销 苹果 200斤 3.5元/斤 张三 13812345678")
    assert "700.00 元" in echoed and "138****5678" in echoed and "13812345678" not in echoed
    confirm = await peer.say("o-station", "是")
    saved = await peer.say("o-station", number_of(confirm, "确认保存"))
    assert "#1 已保存" in saved
    assert "已记录：苹果 3.20元/斤" in await peer.say("o-station", "价格 苹果 3.2元/斤 灵宝")
    assert "3.20" in await peer.say("o-asker", "苹果多少钱？")


async def test_policy_question_gets_an_answer(peer) -> None:
    answer = await peer.say("o-user-2", "电商服务站建设有什么标准？")
    assert "政策" in answer


async def test_form_with_numbered_choices(peer, wechat_app) -> None:
    prompt = await peer.say("o-form", "修改资料")
    assert "称呼" in prompt and "回复 1：" in prompt
    cancel_number = next(
        line.split("：")[0].split()[-1] for line in prompt.splitlines() if line.endswith("取消")
    )
    county = await peer.say("o-form", "老王")
    assert "县" in county
    done = await peer.say("o-form", "郟县")
    assert "村" in done
    skip_number = next(
        line.split("：")[0].split()[-1] for line in done.splitlines() if line.endswith("跳过")
    )
    saved = await peer.say("o-form", skip_number)
    assert "已保存" in saved and "郏县" in saved
    async with wechat_app.db.transaction() as session:
        user = await Repositories.on(session).users.by_identity("wechat", "o-form")
        assert user is not None and user.county == "郏县" and user.display_name == "老王"
    # the choices of a finished form are not reused: "1" is now just text
    assert cancel_number
    again = await peer.say("o-form", cancel_number)
    assert "已保存" not in again


async def test_voice_location_image_link_and_menu_click(peer) -> None:
    voice = await peer.post(peer.voice("o-kinds", "我的信息。"))
    assert "我听到的是：“我的信息”" in (voice.content or "")
    assert "身份：农户" in (voice.content or "")
    located = await peer.post(peer.location("o-kinds", 39.9, 116.4, "北京市朝阳区"))
    assert "收到您的位置" in (located.content or "") and "没能" in (located.content or "")
    image = await peer.post(peer.image("o-kinds"))
    assert "收到您的图片" in (image.content or "")
    link = await peer.post(peer.link("o-kinds", "文章", "http://example.com/a"))
    assert "只能读文字" in (link.content or "")
    click = await peer.post(peer.event("o-kinds", "CLICK", "me"))
    assert "身份：农户" in (click.content or "")
    view = await peer.post(peer.event("o-kinds", "VIEW", "http://example.com"))
    assert view.body == "success"


async def test_location_suggests_the_county(peer, wechat_app) -> None:
    xml = peer.location("o-where", 34.79, 113.36, "河南省郑州市荥阳市京城路")
    suggestion = (await peer.post(xml)).content or ""
    assert "郑州市荥阳市" in suggestion and "回复 1：设为荥阳市" in suggestion
    assert "已把您的所在县设为荥阳市" in await peer.say("o-where", "1")
    async with wechat_app.db.transaction() as session:
        user = await Repositories.on(session).users.by_identity("wechat", "o-where")
        assert user is not None and user.county == "荥阳市"
    again = (await peer.post(peer.location("o-where", 34.79, 113.36, "河南省荥阳市"))).content
    assert "就是荥阳市" in (again or "")
    # in the middle of a form a location is not taken as an answer
    await peer.say("o-where", "修改资料")
    mid_form = (await peer.post(peer.location("o-where", 34.7, 113.3, "郏县"))).content or ""
    assert "设为" not in mid_form and "称呼" in mid_form


async def test_unsubscribe_marks_the_person_unreachable(peer, wechat_app) -> None:
    await peer.say("o-leaving", "帮助")
    assert (await peer.post(peer.event("o-leaving", "unsubscribe"))).body == "success"
    async with wechat_app.db.transaction() as session:
        identity = await Repositories.on(session).users.identity("wechat", "o-leaving")
        assert identity is not None and identity.unreachable_at is not None
    await peer.post(peer.event("o-leaving", "subscribe"))
    async with wechat_app.db.transaction() as session:
        identity = await Repositories.on(session).users.identity("wechat", "o-leaving")
        assert identity is not None and identity.unreachable_at is None


async def test_long_answer_is_split_and_the_rest_goes_as_customer_service(
    peer, wechat_api
) -> None:
    first = await peer.say("o-long", "/long")
    assert first.startswith("我听到的是") and len(first) <= 500
    rest = await wechat_api.wait_for_sent(2, touser="o-long")
    assert first + "".join(rest) == "我听到的是：“" + "长" * 1100 + "”"


async def test_pictures_in_a_reply_follow_as_customer_service_images(peer, wechat_api) -> None:
    passive = await peer.say("o-chart", "/chart")
    assert passive == "我听到的是：“价格”\n\n我听到的是：“图”"
    assert await wechat_api.wait_for_sent(1, touser="o-chart") == ["[image:chart.png]"]


async def test_plain_mode(database_url, settings_for, wechat_api, wclock) -> None:
    env = wechat_env(wechat_api, safe=False)
    application = await running(settings_for(database_url, **env), wclock)
    url = f"http://127.0.0.1:{application.http_port}/wechat"
    try:
        async with WechatPeer(url, aes_key=None, now=lambda: wclock.now().timestamp()) as p:
            assert "身份" in await p.say("o-plain", "我的信息")
            assert (await p.post(BILLION_LAUGHS)).status == 400
            assert (await p.post(XXE)).status == 400
            assert (
                await p.post(p.text("o-plain", "x"), query={"signature": "0" * 40})
            ).status == 403
            assert await count(application, InboxItem) == 1
    finally:
        await application.stop()


# -- the 5-second rule and retries --------------------------------------------------------
async def test_retries_of_a_slow_message_are_handled_once(
    database_url, settings_for, wechat_api, wclock
) -> None:
    env = wechat_env(wechat_api, budget_ms=300)
    application = await running(settings_for(database_url, **env), wclock)
    url = f"http://127.0.0.1:{application.http_port}/wechat"
    CALLS.clear()
    try:
        async with WechatPeer(url, now=lambda: wclock.now().timestamp()) as p:
            xml = p.text("o-slow", "/slow 0.9")
            first = await p.post(xml)
            assert first.body == "success" and first.elapsed < 0.8
            second = await p.post(xml)  # WeChat's retries: new nonce, same MsgId
            assert second.body == "success" and second.elapsed < 0.2
            await asyncio.sleep(0.8)
            third = await p.post(xml)  # after the handler finished
            assert third.body == "success"
            [late] = await wechat_api.wait_for_sent(1, touser="o-slow")
            assert "慢慢来" in late
            await asyncio.sleep(1.0)  # time for a duplicate to show
            assert wechat_api.to("o-slow") == [late]
        assert CALLS == ["o-slow"]
        assert await count(application, InboxItem) == 1
    finally:
        await application.stop()


async def test_wechat_timing_six_second_handler_three_tries(
    database_url, settings_for, wechat_api, wclock
) -> None:
    """The real figures: 4 s budget, a 6 s handler, WeChat's three tries 5 s apart
    (compressed: the second and third arrive while the handler still runs)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("timing shown once, on SQLite")
    application = await running(settings_for(database_url, **wechat_env(wechat_api)), wclock)
    url = f"http://127.0.0.1:{application.http_port}/wechat"
    CALLS.clear()
    try:
        async with WechatPeer(url, now=lambda: wclock.now().timestamp()) as p:
            xml = p.text("o-six", "/slow 6")
            tries = [asyncio.create_task(p.post(xml))]
            for _ in range(2):
                await asyncio.sleep(1.0)
                tries.append(asyncio.create_task(p.post(xml)))
            answers = await asyncio.gather(*tries)
            assert [a.body for a in answers] == ["success"] * 3
            assert all(a.elapsed < 4.6 for a in answers)
            [late] = await wechat_api.wait_for_sent(1, touser="o-six", timeout=8)
            assert "慢慢来" in late
        assert CALLS == ["o-six"]
    finally:
        await application.stop()


async def test_a_retry_after_a_passive_answer_is_not_answered_again(peer, wechat_app) -> None:
    xml = peer.text("o-dup", "我的信息")
    first = await peer.post(xml)
    assert "身份" in (first.content or "")
    again = await peer.post(xml)
    assert again.body == "success"
    assert await count(wechat_app, InboxItem) == 1


async def test_a_message_recorded_by_a_process_that_died_is_handled_on_retry(
    peer, wechat_app
) -> None:
    (channel,) = [c for c in wechat_app.channels if c.name == "wechat"]
    await asyncio.wait_for(channel.recovered.wait(), 10)  # what start-up replays is done
    msg_id = peer.next_msg_id()
    async with wechat_app.db.transaction() as session:
        inbox = Repositories.on(session).inbox
        await inbox.add("wechat", str(msg_id), {"fields": {}}, wechat_app.clock.now())
    retried = await peer.post(peer.text("o-crash", "我的信息", msg_id=msg_id))
    assert "身份" in (retried.content or "")
    for _ in range(100):  # marking it handled is written after the answer
        async with wechat_app.db.transaction() as session:
            row = await Repositories.on(session).inbox.get("wechat", str(msg_id))
        assert row is not None
        if row.status == "handled":
            break
        await asyncio.sleep(0.02)
    assert row.status == "handled"
    assert (await peer.post(peer.text("o-crash", "我的信息", msg_id=msg_id))).body == "success"


# -- pushes through the customer-service API ----------------------------------------------
async def push(app: CunzhanApp, openid: str, reply: Reply) -> int:
    async with app.db.transaction() as session:
        repos = Repositories.on(session)
        user = await repos.users.by_identity("wechat", openid)
        assert user is not None
        row = await app.notifier.send(repos, user.id, reply, now=app.clock.now(), kind="test")
    assert row is not None
    app.delivery.wake()
    return row


async def test_push_refreshes_an_expired_token_once(peer, wechat_app, wechat_api) -> None:
    await peer.say("o-push", "帮助")
    await wait_status(
        wechat_app, await push(wechat_app, "o-push", Reply("wechat/heard", {"text": "一"})), "sent"
    )
    assert wechat_api.token_fetches == 1
    wechat_api.expire_tokens()
    rows = [
        await push(wechat_app, "o-push", Reply("wechat/heard", {"text": word}))
        for word in ("二", "三")
    ]
    for row in rows:
        await wait_status(wechat_app, row, "sent")
    assert wechat_api.token_fetches == 2 and wechat_api.refused_tokens == 1
    assert [m[-2] for m in wechat_api.to("o-push")] == ["一", "二", "三"]


async def test_push_with_options_numbers_them(peer, wechat_app, wechat_api) -> None:
    await peer.say("o-opt", "帮助")
    from bot.messages import Option

    reply = Reply("wechat/heard", {"text": "请选择"}, (Option("menu_me", "/me"),))
    await wait_status(wechat_app, await push(wechat_app, "o-opt", reply), "sent")
    [pushed] = wechat_api.to("o-opt")
    assert "回复 1：我的信息" in pushed
    assert "身份：农户" in await peer.say("o-opt", "1")


async def test_images_are_uploaded_and_files_are_refused(peer, wechat_app, wechat_api) -> None:
    from bot.messages import Attachment

    await peer.say("o-img", "帮助")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    chart = Reply(
        "wechat/heard", {"text": "价格图"}, attachment=Attachment("chart.png", png, "image/png")
    )
    await wait_status(wechat_app, await push(wechat_app, "o-img", chart), "sent")
    assert wechat_api.to("o-img") == ["我听到的是：“价格图”", "[image:chart.png]"]
    sheet = Attachment("roster.xlsx", b"PK\3\4", "application/vnd.ms-excel")
    row = await push(
        wechat_app, "o-img", Reply("wechat/heard", {"text": "表格"}, attachment=sheet)
    )
    failed = await wait_status(wechat_app, row, "failed")
    assert "not sendable" in (failed.error or "")
    assert wechat_api.to("o-img")[-1] == "我听到的是：“表格”"


async def test_outside_48_hours_is_held_and_never_sent(
    peer, wechat_app, wechat_api, wclock
) -> None:
    await peer.say("o-old", "帮助")
    channel = wechat_app.channel("wechat")
    assert await channel.within_window("o-old")
    wclock.advance(timedelta(hours=48, minutes=1))
    assert not await channel.within_window("o-old")
    row = await push(wechat_app, "o-old", Reply("wechat/heard", {"text": "过期"}))
    held = await wait_status(wechat_app, row, "held")
    assert "48" in (held.error or "")
    assert wechat_api.to("o-old") == [] and wechat_api.token_fetches == 0
    assert not await channel.within_window("o-never-wrote")


async def test_wechat_refusals_45015_and_45047_are_held(peer, wechat_app, wechat_api) -> None:
    await peer.say("o-limit", "帮助")
    wechat_api.per_user_limit = 1
    first = await push(wechat_app, "o-limit", Reply("wechat/heard", {"text": "一"}))
    await wait_status(wechat_app, first, "sent")
    second = await push(wechat_app, "o-limit", Reply("wechat/heard", {"text": "二"}))
    assert "45047" in ((await wait_status(wechat_app, second, "held")).error or "")
    wechat_api.per_user_limit = None
    wechat_api.out_of_window.add("o-limit")
    third = await push(wechat_app, "o-limit", Reply("wechat/heard", {"text": "三"}))
    assert "45015" in ((await wait_status(wechat_app, third, "held")).error or "")


async def test_template_messages_outside_the_window_when_configured(
    database_url, settings_for, wechat_api, wclock
) -> None:
    env = {**wechat_env(wechat_api), "CUNZHAN_WECHAT_TEMPLATE_ID": TEMPLATE_ID}
    application = await running(settings_for(database_url, **env), wclock)
    url = f"http://127.0.0.1:{application.http_port}/wechat"
    try:
        async with WechatPeer(url, now=lambda: wclock.now().timestamp()) as p:
            await p.say("o-tmpl", "帮助")
            await p.say("o-tmpl2", "帮助")
        inside = await push(application, "o-tmpl", Reply("wechat/heard", {"text": "窗口内"}))
        await wait_status(application, inside, "sent")
        assert wechat_api.templates == []
        wechat_api.out_of_window.add("o-tmpl2")  # WeChat says so before our clock does
        refused = await push(application, "o-tmpl2", Reply("wechat/heard", {"text": "被拒"}))
        await wait_status(application, refused, "sent")
        wclock.advance(timedelta(hours=49))
        outside = await push(application, "o-tmpl", Reply("wechat/heard", {"text": "窗口外"}))
        await wait_status(application, outside, "sent")
        assert [m.content for m in wechat_api.templates] == [
            "我听到的是：“被拒”",
            "我听到的是：“窗口外”",
        ]
        assert wechat_api.to("o-tmpl") == ["我听到的是：“窗口内”"]
    finally:
        await application.stop()


# -- refused before any handler runs ------------------------------------------------------
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-bomb</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content>"
    "<MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o-xxe</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>"
    "<MsgId>2</MsgId></xml>"
)
ENTITY_NO_DOCTYPE_WORD = "<xml><FromUserName>&ext;</FromUserName></xml>"


async def test_bad_requests_are_refused_before_any_handler(peer, wechat_app, wclock) -> None:
    good = peer.text("o-bad", "我的信息")
    now = int(wclock.now().timestamp())
    cases = {
        "forged signature": (await peer.post(good, query={"signature": "a" * 40}), 403),
        "forged msg_signature": (await peer.post(good, query={"msg_signature": "b" * 40}), 403),
        "old timestamp": (await peer.post(good, timestamp=str(now - 301)), 403),
        "future timestamp": (await peer.post(good, timestamp=str(now + 400)), 403),
        "no timestamp": (await peer.post(good, query={"timestamp": ""}), 403),
        "plain body in safe mode": (await peer.post(good, encrypt=False), 400),
        "safe mode without Encrypt": (
            await peer.post(good, raw_body=b"<xml><ToUserName>gh</ToUserName></xml>"),
            400,
        ),
        "billion laughs": (await peer.post(BILLION_LAUGHS), 400),
        "external entity": (await peer.post(XXE), 400),
        "plain doctype": (await peer.post(good, raw_body=BILLION_LAUGHS.encode()), 400),
        "undeclared entity": (await peer.post(ENTITY_NO_DOCTYPE_WORD), 400),
        "not xml": (await peer.post("<xml><a></xml>"), 400),
        "over 1 MiB": (
            await peer.post(good, raw_body=b"<xml>" + b"a" * (1024 * 1024) + b"</xml>"),
            413,
        ),
    }
    wrong = {name: (r.status, want) for name, (r, want) in cases.items() if r.status != want}
    assert wrong == {}
    assert await count(wechat_app, InboxItem) == 0
    assert await count(wechat_app, User) == 0
    # the same nonce twice: the second is a replay
    first = await peer.post(good, nonce="nonce-once")
    assert first.status == 200 and "身份" in (first.content or "")
    replay = await peer.post(peer.text("o-bad", "我的信息"), nonce="nonce-once")
    assert replay.status == 403
    assert await count(wechat_app, InboxItem) == 1
    # and the process is fine; markup a person types is just text
    assert "身份" in await peer.say("o-bad", "我的信息")
    assert await peer.say("o-bad", "<!DOCTYPE html> 是什么？")
    assert await count(wechat_app, InboxItem) == 3


async def test_a_message_for_another_app_is_refused(peer, wechat_app) -> None:
    other = WechatPeer(peer.url, app_id="wxanotherapp00001", now=peer.now)
    async with other:
        response = await other.post(other.text("o-other", "你好"))
    assert response.status == 400
    assert await count(wechat_app, Identity) == 0
    assert await count(wechat_app, OutboxMessage) == 0


async def test_start_up_sends_kept_replies_and_handles_what_a_crash_left(
    database_url, settings_for, wechat_api, wclock
) -> None:
    """Rows a dead process left: one handled whose replies were kept but never enqueued,
    one recorded after WeChat got "success" but never handled. A restart sends the first's
    replies and handles the second, each once, as customer-service messages."""
    settings = settings_for(database_url, **wechat_env(wechat_api))
    first = await running(settings, wclock)
    url = f"http://127.0.0.1:{first.http_port}/wechat"
    try:
        async with WechatPeer(url, now=lambda: wclock.now().timestamp()) as p:
            assert "身份" in await p.say("o-left", "我的信息")  # within WeChat's 48 hours
    finally:
        await first.stop()
    earlier = wclock.now() - timedelta(seconds=5)
    fields = {
        "ToUserName": "gh_test",
        "FromUserName": "o-left",
        "CreateTime": str(int(earlier.timestamp())),
        "MsgType": "text",
        "Content": "/mydata",
        "MsgId": "900001",
    }
    async with first.db.transaction() as session:
        inbox = Repositories.on(session).inbox
        kept = await inbox.add(
            "wechat", "900000", {"fields": {**fields, "MsgId": "900000"}}, earlier
        )
        assert kept is not None
        await inbox.claim(kept, now=earlier, replies=[{"text": "留下的回答", "options": []}])
        left = await inbox.add("wechat", "900001", {"fields": fields}, earlier)
    wclock.advance(timedelta(seconds=1))
    for _ in range(2):  # the second start finds nothing left to do
        again = await running(settings, wclock)
        try:
            sent = await wechat_api.wait_for_sent(2, touser="o-left")
            await asyncio.sleep(1.0)  # time for a duplicate to show
        finally:
            await again.stop()
        assert len(sent) == 2 and len(wechat_api.to("o-left")) == 2
        assert "留下的回答" in sent[0] and "身份" in sent[1]
    async with again.db.transaction() as session:
        inbox = Repositories.on(session).inbox
        rows = [await inbox.get("wechat", key) for key in ("900000", "900001")]
    assert [(r.id, r.status, r.replies) for r in rows if r] == [
        (kept, "handled", None),
        (left, "handled", None),
    ]
