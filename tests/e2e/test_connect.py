"""One person on two channels: /connect gives a one-time code on one channel, /connect <code>
on another joins that identity to the same person (through the real dispatcher, and
end to end through Telegram's fake Bot API server and the WeChat endpoint)."""

from __future__ import annotations

import re
from datetime import timedelta

from storage.models import AuditEntry
from storage.repositories import Repositories
from tests.conftest import TOKEN, issue_invite
from tests.e2e.test_wechat import running, wclock, wechat_api, wechat_env  # noqa: F401
from tests.factories import ChatDriver, joined


def code_in(text: str) -> str:
    match = re.search(r"/connect (\d{8})", text)
    assert match, text
    return match.group(1)


async def owner(core, channel: str, external_id: str) -> int:
    async with core.db.transaction() as session:
        user = await Repositories.on(session).users.by_identity(channel, external_id)
        assert user is not None
        return user.id


async def test_link_joins_two_channels_and_the_code_works_once(core) -> None:
    tg = ChatDriver(core.dispatcher, user="111", channel="telegram")
    wx = ChatDriver(core.dispatcher, user="o-wx", channel="wechat")
    other = ChatDriver(core.dispatcher, user="o-other", channel="wechat")
    await tg.say("/profile")
    await tg.say("老张")
    await tg.say("郟县")
    await tg.say("跳过")
    code = code_in(joined(await tg.say("/connect")))
    await wx.say("/start")
    assert await owner(core, "wechat", "o-wx") != await owner(core, "telegram", "111")
    linked = joined(await wx.say(f"/connect {code}"))
    assert "关联成功" in linked and "Telegram" in linked and "微信公众号" in linked
    assert await owner(core, "wechat", "o-wx") == await owner(core, "telegram", "111")
    me = joined(await wx.say("我的信息"))
    assert "老张" in me and "郏县" in me
    assert "已经被使用" in joined(await other.say(f"/connect {code}"))
    assert "已经关联" in joined(
        await wx.say(f"/connect {code_in(joined(await tg.say('/connect')))}")
    )
    async with core.db.transaction() as session:
        from sqlalchemy import select

        rows = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert "identity.link" in rows


async def test_wrong_expired_and_conflicting_codes(core, clock) -> None:
    tg = ChatDriver(core.dispatcher, user="222", channel="telegram")
    wx = ChatDriver(core.dispatcher, user="o-wx2", channel="wechat")
    code = code_in(joined(await tg.say("/connect")))
    newer = code_in(joined(await tg.say("/connect")))
    assert "过期" in joined(await wx.say(f"/connect {code}"))  # a newer code ends the older
    clock.advance(timedelta(minutes=16))
    assert "过期" in joined(await wx.say(f"/connect {newer}"))
    for _ in range(3):  # two expired codes and three wrong ones: the fifth failure locks
        assert "不正确" in joined(await wx.say("/connect 00000000"))
    assert "分钟后再试" in joined(
        await wx.say(f"/connect {code_in(joined(await tg.say('/connect')))}")
    )
    admin_code = await issue_invite(core.db, "admin")
    staff = ChatDriver(core.dispatcher, user="o-staff", channel="wechat")
    await staff.say(f"/bind {admin_code}")
    refused = joined(await staff.say(f"/connect {code_in(joined(await tg.say('/connect')))}"))
    assert "无法关联" in refused and "管理员" in refused
    assert await owner(core, "wechat", "o-staff") != await owner(core, "telegram", "222")


async def test_link_over_telegram_and_wechat(
    fake,
    wechat_api,  # noqa: F811 (fixture)
    database_url,
    settings_for,
    wclock,  # noqa: F811 (fixtures)
) -> None:
    from tests.fakes.wechat_peer import WechatPeer

    settings = settings_for(
        database_url,
        CUNZHAN_TELEGRAM_TOKEN=TOKEN,
        CUNZHAN_TELEGRAM_API_URL=fake.base_url,
        **wechat_env(wechat_api),
    )
    application = await running(settings, wclock)
    try:
        fake.inject_message(4242, "/connect")
        [sent] = await fake.wait_for_sent(1, chat_id=4242)
        code = code_in(sent.text)
        url = f"http://127.0.0.1:{application.http_port}/wechat"
        async with WechatPeer(url, now=lambda: wclock.now().timestamp()) as peer:
            assert "关联成功" in await peer.say("o-linked", f"/connect {code}")
            me = await peer.say("o-linked", "我的信息")
        assert "Telegram" in me and "微信公众号" in me
    finally:
        await application.stop()
