"""Shared field parsers: names, villages, phones, ID numbers."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs import Invalid
from handlers.fields import (
    normalise_digits,
    parse_display_name,
    parse_id_card,
    parse_phone,
    parse_village,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("+８６ １３８－１２３４－５６７８", "13812345678"),
    ],
)
def test_phone_accepts_common_forms(raw: str, expected: str) -> None:
    assert parse_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["١٣٨١٢٣٤٥٦٧٨", "۱۳۸۱۲۳۴۵۶۷۸", "१३८१२३४५६७८", "1381234567٨", "138 1234 ５６7٨"]
)
def test_phone_in_other_scripts_digits_is_refused_with_its_own_reason(raw: str) -> None:
    """NFKC leaves Arabic-Indic (and other scripts') digits as they are: not 11 ASCII digits."""
    with pytest.raises(Invalid) as refusal:
        parse_phone(raw)
    assert refusal.value.template == "fields/phone_digits"


@pytest.mark.parametrize("raw", ["", "12345", "23812345678", "1381234567", "138123456789", "abc"])
def test_phone_refuses_with_reason(raw: str) -> None:
    with pytest.raises(Invalid) as refusal:
        parse_phone(raw)
    assert refusal.value.template == "fields/phone_invalid"


def test_id_card_checksum_birth_and_sex() -> None:
    card = parse_id_card("11010519491231002X")
    assert card.birth_date == date(1949, 12, 31)
    assert card.sex == "女"
    with pytest.raises(Invalid) as refusal:
        parse_id_card("110105194912310021")
    assert refusal.value.template == "fields/id_checksum"
    with pytest.raises(Invalid) as refusal:
        parse_id_card("1101051949")
    assert refusal.value.template == "fields/id_format"


def test_id_card_full_width_and_lower_x() -> None:
    assert parse_id_card("１１０１０５１９４９１２３１００２x").number == "11010519491231002X"


def test_display_name_rules() -> None:
    assert parse_display_name("  张  三 ") == "张 三"
    for bad, template in [
        ("", "fields/name_empty"),
        ("x" * 33, "fields/name_too_long"),
        ("/start", "fields/name_invalid"),
        ("a\u202eb", "fields/name_invalid"),
    ]:
        with pytest.raises(Invalid) as refusal:
            parse_display_name(bad)
        assert refusal.value.template == template


def test_village_needs_chinese() -> None:
    assert parse_village(" 王庄 村 ") == "王庄村"
    with pytest.raises(Invalid):
        parse_village("123")
    with pytest.raises(Invalid):
        parse_village("村" * 21)


def test_normalise_digits() -> None:
    assert normalise_digits("１２３٤٥") == "12345"
