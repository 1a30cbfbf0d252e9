"""The WeChat API client against the fake API server: one token fetch for many callers,
one refetch when the token expires however many calls saw it refused, the daily fetch
limit, and what each error code becomes."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.base import DeliveryStatus
from bot.channels.wechat_api import WechatApi
from bot.settings import WechatSettings
from tests.fakes.wechat_peer import APP_ID, APP_SECRET, WECHAT_TOKEN, FakeWechatApi


@pytest.fixture
async def server():
    async with FakeWechatApi() as fake:
        yield fake
        assert fake.errors == []


def client(server: FakeWechatApi, **kwargs) -> WechatApi:
    settings = WechatSettings(
        token=WECHAT_TOKEN,
        app_id=APP_ID,
        app_secret=kwargs.pop("secret", APP_SECRET),
        api_url=server.base_url,
    )
    return WechatApi(settings, **kwargs)


async def test_one_fetch_and_one_refetch_for_concurrent_callers(server) -> None:
    api = client(server)
    try:
        results = await asyncio.gather(*(api.send_text(f"o{i}", "你好") for i in range(20)))
        assert {r.status for r in results} == {DeliveryStatus.SENT}
        assert server.token_fetches == 1
        server.expire_tokens()
        results = await asyncio.gather(*(api.send_text(f"o{i}", "再见") for i in range(20)))
        assert {r.status for r in results} == {DeliveryStatus.SENT}
        assert server.token_fetches == 2
        assert len({m.token for m in server.sent}) == 2
    finally:
        await api.close()


async def test_daily_fetch_limit_and_refused_credentials(server) -> None:
    api = client(server, max_token_fetches=1)
    try:
        assert (await api.send_text("o1", "一")).status is DeliveryStatus.SENT
        server.expire_tokens()
        limited = await api.send_text("o1", "二")
        assert limited.status is DeliveryStatus.RETRY and limited.retry_after
        assert limited.retry_after > 23 * 3600 and server.token_fetches == 1
    finally:
        await api.close()
    wrong = client(server, secret="wrong")
    try:
        refused = await wrong.send_text("o1", "三")
        assert refused.status is DeliveryStatus.RETRY and "40125" in (refused.error or "")
    finally:
        await wrong.close()


async def test_error_codes_become_delivery_outcomes(server) -> None:
    api = client(server)
    try:
        server.busy_next = 1
        busy = await api.send_text("o1", "忙")
        assert busy.status is DeliveryStatus.RETRY and "-1" in (busy.error or "")
        server.out_of_window.add("o-late")
        assert (await api.send_text("o-late", "晚")).status is DeliveryStatus.HELD
        server.per_user_limit = 0
        assert (await api.send_text("o2", "多")).status is DeliveryStatus.HELD
        bad = await api.send_template("o2", "no-such-template", "模板")
        assert bad.status is DeliveryStatus.FAILED and "40037" in (bad.error or "")
    finally:
        await api.close()
    unconfigured = WechatApi(WechatSettings(token=WECHAT_TOKEN, api_url=server.base_url))
    assert (await unconfigured.send_text("o1", "x")).status is DeliveryStatus.FAILED
