"""The price parsers: one-line posts, amounts to fen, units, markets, days and the
price-question and 退订 matchers."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs import Invalid
from content.regions import Gazetteer
from handlers.info import is_unsubscribe, topic_of
from handlers.price_fields import (
    PriceLine,
    amount_to_fen,
    is_price_post,
    parse_amount,
    parse_day,
    parse_price_post,
    parse_unit,
    resolve_market,
)
from handlers.prices import QUESTION_RE, is_price_question


@pytest.fixture(scope="module")
def regions() -> Gazetteer:
    return Gazetteer.load()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("价格 苹果 3.2元/斤 灵宝", PriceLine("苹果", 320, "斤", "灵宝")),
        ("价格 苹果 3.2元/斤", PriceLine("苹果", 320, "斤", None)),
        ("价格苹果3元一斤", PriceLine("苹果", 300, "斤", None)),
        ("价格 猪肉 15块每公斤 滑县", PriceLine("猪肉", 1500, "公斤", "滑县")),
        ("价格 鸡蛋 ４.５/斤", PriceLine("鸡蛋", 450, "斤", None)),
        ("价格 大葱 8角/斤 灵宝果品批发市场", PriceLine("大葱", 80, "斤", "灵宝果品批发市场")),
        ("价格 牛 12000元/头", PriceLine("牛", 1_200_000, "头", None)),
        ("价格 小米 6元/kg", PriceLine("小米", 600, "公斤", None)),
    ],
)
def test_price_posts(text: str, expected: PriceLine) -> None:
    assert is_price_post(text)
    assert parse_price_post(text) == expected


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("价格 苹果 3.125元/斤", "prices/bad_amount"),
        ("价格 苹果 0元/斤", "prices/bad_amount"),
        ("价格 苹果 200000元/斤", "prices/bad_amount"),
        ("价格 苹果 3元", "prices/post_usage"),
        ("价格 苹果 3元/平方", "prices/post_usage"),
    ],
)
def test_bad_price_posts(text: str, template: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_price_post(text)
    assert refused.value.template == template


def test_policy_sentences_are_not_price_posts() -> None:
    assert not is_price_post("价格补贴2020年有哪些")
    assert not is_price_post("价格监测怎么做")
    assert is_price_post("价格 苹果 3元")  # malformed, but clearly meant as a post


def test_amounts_units_days() -> None:
    assert parse_amount("3.20元") == 320 and parse_amount("¥12") == 1200
    assert amount_to_fen("5", "分") == 5 and amount_to_fen("1.5", "角") == 15
    assert (
        parse_unit("元/斤") == "斤" and parse_unit("千克") == "公斤" and parse_unit("KG") == "公斤"
    )
    assert parse_day("2026/11/3") == date(2026, 11, 3) == parse_day("2026年11月3日")
    for bad in ("-1", "abc", "1.001"):
        with pytest.raises(Invalid):
            parse_amount(bad)
    for bad in ("2026-02-30", "11/03/2026", ""):
        with pytest.raises(Invalid):
            parse_day(bad)


def test_markets(regions: Gazetteer) -> None:
    lingbao = resolve_market("灵宝", regions)
    assert lingbao is not None and (lingbao.name, lingbao.city) == ("灵宝市", "三门峡市")
    market = resolve_market("灵宝果品批发市场", regions)
    assert market is not None and (market.name, market.county) == ("灵宝果品批发市场", "灵宝市")
    city = resolve_market("三门峡", regions)
    assert city is not None and (city.county, city.city) == (None, "三门峡市")
    assert resolve_market("火星", regions) is None


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("苹果多少钱", "苹果"),
        ("今天苹果多少钱？", "苹果"),
        ("苹果价格", "苹果"),
        ("红薯什么价", "红薯"),
    ],
)
def test_price_questions(text: str, product: str) -> None:
    assert is_price_question(text)
    match = QUESTION_RE.match(text)
    assert match is not None and match["product"] == product


@pytest.mark.parametrize(
    "text", ["价格 苹果 3元/斤", "服务站建设有什么标准", "电商扶贫政策是什么", "价格"]
)
def test_not_price_questions(text: str) -> None:
    assert not is_price_question(text)


def test_unsubscribe_words() -> None:
    for text in ("退订", "TD", "退订 农业技术", "退订全部", "取消订阅 价格行情"):
        assert is_unsubscribe(text), text
    for text in ("退订是什么意思", "退货"):
        assert not is_unsubscribe(text), text
    assert topic_of("农技") == "agri" and topic_of("天气") is None
