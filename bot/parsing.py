"""Turns typed text into text or a command, the same way for every channel."""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
COMMAND_RE = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.S)


def clean_text(text: str) -> str:
    """Without zero-width characters and outer white space; NFC so look-alikes compare equal."""
    return unicodedata.normalize("NFC", text.translate(ZERO_WIDTH)).strip()


def split_command(text: str) -> tuple[str, tuple[str, ...]] | None:
    """``/bind ABC`` → ("bind", ("ABC",)); full-width slash accepted; None if not a command."""
    if text.startswith("／"):
        text = "/" + text[1:]
    match = COMMAND_RE.match(text)
    if not match:
        return None
    args = tuple(match.group(2).split()) if match.group(2) else ()
    return match.group(1).lower(), args
