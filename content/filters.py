"""Jinja filters for user-facing text: masking personal numbers, local times, amounts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
ID_RE = re.compile(r"(?<![0-9Xx])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9Xx])")


def mask_phone(value: str | None) -> str:
    """138****1234; anything that is not a phone number is left as it is."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    return "****" if digits else str(value)


def mask_id(value: str | None) -> str:
    """410526********123X: region kept, birth date and sequence hidden."""
    if not value:
        return ""
    text = str(value)
    if len(text) == 18:
        return f"{text[:6]}********{text[14:]}"
    return "*" * len(text)


def mask_personal_numbers(text: str) -> str:
    """Masks every phone or ID-card number inside free text (used for logs too)."""
    text = ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(3)[-4:]}", text)
    return PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals: 12345 → 123.45."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def build(timezone: str) -> dict[str, Callable[..., Any]]:
    zone = ZoneInfo(timezone)

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return ""
        return value.astimezone(zone).strftime(fmt)

    return {
        "mask_phone": mask_phone,
        "mask_id": mask_id,
        "local": local,
        "yuan": yuan,
    }
