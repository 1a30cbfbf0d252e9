"""The parsers the training forms added to handlers/fields.py: dates and times as people
type them, counts, short texts, townships, and phones with full-width punctuation."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.dialogs import Invalid
from handlers.fields import (
    parse_count,
    parse_end_time,
    parse_local_datetime,
    parse_phone,
    parse_short_text,
    parse_township,
)

NOW = datetime(2026, 11, 2, 9, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-05 09:00", "2026-12-05 09:00"),
        ("2026/12/5 9:30", "2026-12-05 09:30"),
        ("12月5日 下午2点", "2026-12-05 14:00"),
        ("12月5号上午9点", "2026-12-05 09:00"),
        ("１２月５日 ９：３０", "2026-12-05 09:30"),
        ("12-05 14:30", "2026-12-05 14:30"),
        ("11月1日 9:00", "2027-11-01 09:00"),  # no year and already past: next year
    ],
)
def test_local_datetime(text: str, expected: str) -> None:
    assert parse_local_datetime(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("明天", "fields/datetime_invalid"),
        ("2026-02-30 09:00", "fields/datetime_invalid"),
        ("12月5日 25点", "fields/datetime_invalid"),
        ("2026-11-01 10:00", "fields/datetime_past"),
    ],
)
def test_local_datetime_refusals(text: str, template: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_local_datetime(text, NOW)
    assert refused.value.template == template


def test_end_time() -> None:
    start = "2026-12-05 09:00"
    assert parse_end_time("17:00", start) == "2026-12-05 17:00"
    assert parse_end_time("下午5点", start) == "2026-12-05 17:00"
    assert parse_end_time("12月6日 12:00", start) == "2026-12-06 12:00"
    for text in ("8:00", "09:00"):
        with pytest.raises(Invalid) as refused:
            parse_end_time(text, start)
        assert refused.value.template == "fields/end_before_start"


def test_count_text_township_and_phone() -> None:
    assert parse_count("５０人", low=1, high=500) == 50
    for bad in ("0", "501", "五十", "-3"):
        with pytest.raises(Invalid):
            parse_count(bad, low=1, high=500)
    assert parse_short_text("  直播  带货班 ", 64) == "直播 带货班"
    for bad in ("", "/start", "x" * 65):
        with pytest.raises(Invalid):
            parse_short_text(bad, 64)
    assert parse_township("城关 镇") == "城关镇"
    with pytest.raises(Invalid):
        parse_township("abc")
    assert parse_phone("１３８－１２３４－５６７８") == "13812345678"
    assert parse_phone("138—1234—5678") == "13812345678"
