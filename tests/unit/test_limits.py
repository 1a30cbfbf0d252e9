"""Rate limits on a fake monotonic clock: bucket bursts and pace, pauses, chat spacing and
what a 429 does (an isolated one pauses the chat; a flood pauses the channel)."""

from __future__ import annotations

import pytest

from bot.channels.base import Capabilities
from bot.settings import DeliveryConfig, SettingsError, load_settings
from scheduler.limits import ChatSpacing, TokenBucket, limits_for


class Tick:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_keeps_the_pace() -> None:
    now = Tick()
    bucket = TokenBucket(30, now=now)
    waits = [bucket.reserve() for _ in range(90)]
    assert waits[:30] == [0.0] * 30
    assert waits[30] == pytest.approx(1 / 30)
    assert waits[89] == pytest.approx(60 / 30)
    # sixty seconds later the pace is 30 per second again, with a fresh burst
    now.t += 60
    assert sum(1 for _ in range(60) if bucket.reserve() == 0.0) == 30


def test_pause_holds_everything_and_skips_the_burst() -> None:
    now = Tick()
    bucket = TokenBucket(10, now=now)
    bucket.pause(2.0)
    assert bucket.reserve() == pytest.approx(2.0)
    assert bucket.reserve() == pytest.approx(2.1)
    unlimited = TokenBucket(0, now=now)
    assert unlimited.reserve() == 0.0
    unlimited.pause(1.5)
    assert unlimited.reserve() == pytest.approx(1.5)


def test_chat_spacing_puts_back_what_would_wait_too_long() -> None:
    now = Tick()
    chats = ChatSpacing(1.0, now=now)
    assert chats.reserve("a", 1.0) == 0.0
    assert chats.reserve("b", 1.0) == 0.0
    assert chats.reserve("a", 1.0) == pytest.approx(1.0)
    assert chats.reserve("a", 1.0) is None  # would wait two seconds: not reserved
    now.t += 1.0
    assert chats.reserve("a", 1.0) == pytest.approx(1.0)


def test_an_isolated_429_pauses_the_chat_a_flood_pauses_the_channel() -> None:
    now = Tick()
    caps = Capabilities(buttons=True, max_text_chars=4096, messages_per_second=30.0)
    limits = limits_for("telegram", caps, DeliveryConfig(), now=now)
    for _ in range(40):
        limits.overall.reserve()
    now.t += 10
    assert limits.overall.reserve() == 0.0
    tat = limits.overall._tat
    limits.rate_limited("7", 3.0)
    assert limits.overall._tat == pytest.approx(tat - 1 / 30)  # the refused slot came back
    assert limits.overall.reserve() == 0.0
    assert limits.chat_wait("7") is None  # three seconds away
    assert limits.chat_wait("8") == 0.0
    for chat in range(5):
        limits.rate_limited(str(chat), 3.0)
    assert limits.overall.reserve() == pytest.approx(3.0)


def test_paid_broadcast_rate_and_settings(tmp_path) -> None:
    caps = Capabilities(buttons=True, max_text_chars=4096, messages_per_second=30.0)
    config = DeliveryConfig(telegram_paid_rate=1000.0)
    limits = limits_for("telegram", caps, config)
    assert limits.bucket(paid=True).rate == 1000.0 and limits.bucket(paid=False).rate == 30.0
    env = {
        "CUNZHAN_TELEGRAM_RATE": "25",
        "CUNZHAN_TELEGRAM_CHAT_RATE": "0.5",
        "CUNZHAN_TELEGRAM_PAID_RATE": "900",
        "CUNZHAN_DELIVERY_CONCURRENCY": "64",
        "CUNZHAN_SECRET_KEY": "k",
    }
    delivery = load_settings(env, workdir=tmp_path).delivery
    assert (delivery.telegram_rate, delivery.telegram_chat_rate) == (25.0, 0.5)
    assert (delivery.telegram_paid_rate, delivery.concurrency) == (900.0, 64)
    with pytest.raises(SettingsError, match="TELEGRAM_RATE"):
        load_settings({**env, "CUNZHAN_TELEGRAM_RATE": "fast"}, workdir=tmp_path)
    with pytest.raises(SettingsError, match="TELEGRAM_RATE"):
        load_settings({**env, "CUNZHAN_TELEGRAM_RATE": "-1"}, workdir=tmp_path)
