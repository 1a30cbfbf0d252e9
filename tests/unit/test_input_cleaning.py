"""Text in: NFKC, invisible and spoofing characters dropped, emoji and rare characters kept,
numbers normalised before they are checked."""

from __future__ import annotations

import pytest

from bot.dialogs import Invalid
from bot.parsing import clean_name, clean_text, split_command
from handlers.fields import parse_id_card, parse_phone


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("／ｈｅｌｐ", "/help"),  # full-width command
        ("１３８ １２３４ ５６７８", "138 1234 5678"),
        ("\u202e开始\u202c", "开始"),  # right-to-left override
        ("\u2066李\u2069\u200f\u200e", "李"),  # bidi isolates and marks
        ("\u200b开\u200d始\ufeff\u00ad\u2060", "开始"),  # zero-width
        ("a\x00b\x07c\x1b[31m", "abc[31m"),  # control characters
        ("a\ud800b", "ab"),  # a lone surrogate cannot be stored
        ("第一行\r\n第二行\t完", "第一行\n第二行\t完"),
        ("𠀀𪚥 🍎🌾", "𠀀𪚥 🍎🌾"),  # astral CJK and emoji stay
        ("'; DROP TABLE users; --", "'; DROP TABLE users; --"),  # just text
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_command_survives_cleaning() -> None:
    assert split_command(clean_text("\u200b／ＭＥ")) == ("me", ())


def test_names_are_one_clean_line_of_at_most_64_chars() -> None:
    assert clean_name("\u202e王\n\n秀英\u202c ") == "王 秀英"
    assert len(clean_name("长" * 200)) == 64


@pytest.mark.parametrize(
    "raw", ["１３８１２３４５６７８", "+86 138-1234-5678", "\u200b13812345678"]
)
def test_phone_is_eleven_ascii_digits(raw: str) -> None:
    phone = parse_phone(clean_text(raw))
    assert phone == "13812345678" and phone.isascii()


def test_arabic_indic_digits_are_not_a_phone() -> None:
    with pytest.raises(Invalid) as refusal:
        parse_phone(clean_text("١٣٨١٢٣٤٥٦٧٨"))
    assert refusal.value.template == "fields/phone_digits"


@pytest.mark.parametrize("raw", ["1381234567", "138123456789", "23812345678", "1381234567８x"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        parse_phone(clean_text(raw))


def test_id_check_digit_is_verified() -> None:
    assert (
        parse_id_card(clean_text("１１０１０５１９４９１２３１００２ｘ")).number
        == "11010519491231002X"
    )
    with pytest.raises(Invalid):
        parse_id_card("110105194912310021")
