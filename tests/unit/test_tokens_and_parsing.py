"""Option signing and command parsing."""

from __future__ import annotations

import pytest

from bot.parsing import clean_text, split_command
from bot.tokens import OptionSigner


def test_signed_option_round_trip_and_refusals() -> None:
    signer = OptionSigner("k")
    token = signer.sign(7, "/help")
    assert signer.verify(7, token) == "/help"
    assert signer.verify(8, token) is None  # another person's button
    assert signer.verify(7, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert signer.verify(7, "/help") is None
    assert signer.verify(7, "") is None
    assert OptionSigner("other").verify(7, token) is None


def test_token_fits_telegram_callback_data() -> None:
    with pytest.raises(ValueError):
        OptionSigner("k").sign(1, "x" * 60)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ("start", ())),
        ("/bind ABCDE-23456", ("bind", ("ABCDE-23456",))),
        ("/Start@cunzhan_bot", ("start", ())),
        ("／help", ("help", ())),
        ("开始", None),
        ("/", None),
        ("/中文", None),
        ("hello /start", None),
    ],
)
def test_split_command(text: str, expected: tuple[str, tuple[str, ...]] | None) -> None:
    assert split_command(text) == expected


def test_clean_text_drops_zero_width() -> None:
    assert clean_text("\u200b开\u200d始\ufeff ") == "开始"
