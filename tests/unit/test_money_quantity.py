"""Shared parsers for money (→ integer fen), numbers in Chinese numerals and quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.dialogs import Invalid
from handlers.fields import convert_quantity, parse_cn_number, parse_money_fen, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("200", "200"),
        ("１２０", "120"),
        ("1,200", "1200"),
        ("3.5", "3.5"),
        ("1.2万", "12000"),
        ("两百", "200"),
        ("二十", "20"),
        ("十五", "15"),
        ("一百零五", "105"),
        ("三千五", "3500"),
        ("一万二", "12000"),
        ("三点五", "3.5"),
        ("二〇二六", "2026"),
        ("壹佰贰拾", "120"),
        ("半", "0.5"),
    ],
)
def test_numbers(text: str, value: str) -> None:
    assert parse_cn_number(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "三五", "苹果", "十x"])
def test_not_numbers(text: str) -> None:
    assert parse_cn_number(text) is None


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("120元", 12000),
        ("¥120", 12000),
        ("￥120.50", 12050),
        ("3.5", 350),
        ("3块5", 350),
        ("三元五角", 350),
        ("3元5角2分", 352),
        ("5毛", 50),
        ("8分", 8),
        ("1.2万元", 1200000),
        ("120块钱", 12000),
        ("一百二十元整", 12000),
        ("人民币 1,200 元", 120000),
        ("１２０元", 12000),
    ],
)
def test_money_to_fen(text: str, fen: int) -> None:
    assert parse_money_fen(text) == fen


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("-5元", "fields/money_negative"),
        ("负5元", "fields/money_negative"),
        ("0元", "fields/money_zero"),
        ("3.555元", "fields/money_precision"),
        ("abc", "fields/money_invalid"),
        ("5斤", "fields/money_invalid"),
    ],
)
def test_money_refused_with_reason(text: str, template: str) -> None:
    with pytest.raises(Invalid) as refusal:
        parse_money_fen(text)
    assert refusal.value.template == template


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("200斤", "200", "斤"),
        ("两百斤", "200", "斤"),
        ("５袋", "5", "袋"),
        ("1.5 吨", "1.5", "吨"),
        ("一斤半", "1.5", "斤"),
        ("半箱", "0.5", "箱"),
        ("5kg", "5", "公斤"),
        ("3千克", "3", "公斤"),
    ],
)
def test_quantities(text: str, amount: str, unit: str) -> None:
    quantity = parse_quantity(text)
    assert (quantity.amount, quantity.unit) == (Decimal(amount), unit)


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("5", "fields/quantity_unit_missing"),
        ("0斤", "fields/quantity_zero"),
        ("-3袋", "fields/quantity_negative"),
        ("3.5555斤", "fields/quantity_precision"),
        ("很多", "fields/quantity_invalid"),
    ],
)
def test_quantity_refused_with_reason(text: str, template: str) -> None:
    with pytest.raises(Invalid) as refusal:
        parse_quantity(text)
    assert refusal.value.template == template


def test_weight_conversion() -> None:
    assert convert_quantity(Decimal(200), "斤", "公斤") == 100
    assert convert_quantity(Decimal(1), "吨", "斤") == 2000
    assert convert_quantity(Decimal(3), "袋", "斤") is None
