"""Turns typed text into text or a command, the same way for every channel."""

from __future__ import annotations

import re
import unicodedata

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
KEEP_CONTROLS = frozenset("\n\t")
# Format characters (zero-width, bidi embeddings/overrides/isolates, soft hyphen, tags),
# control characters other than line breaks and tabs, and lone surrogates: invisible,
# spoofing (a reversed name), or not storable as UTF-8.
DROP_CATEGORIES = frozenset({"Cf", "Cc", "Cs"})
MAX_NAME_CHARS = 64
COMMAND_RE = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.S)


def clean_text(text: str) -> str:
    """NFKC (full-width letters, digits and slashes become ASCII, look-alikes compare
    equal), without invisible format/control characters and outer white space."""
    text = unicodedata.normalize("NFKC", text.translate(ZERO_WIDTH).replace("\r\n", "\n"))
    if not text.isascii():
        text = "".join(
            ch
            for ch in text
            if ch in KEEP_CONTROLS or unicodedata.category(ch) not in DROP_CATEGORIES
        )
    else:
        text = "".join(ch for ch in text if ch >= " " or ch in KEEP_CONTROLS)
    return text.strip()


def clean_name(name: str) -> str:
    """A platform display name as cunzhan keeps it: cleaned, on one line, at most 64 chars."""
    return " ".join(clean_text(name).split())[:MAX_NAME_CHARS]


def split_command(text: str) -> tuple[str, tuple[str, ...]] | None:
    """``/bind ABC`` → ("bind", ("ABC",)); full-width slash accepted; None if not a command."""
    if text.startswith("／"):
        text = "/" + text[1:]
    match = COMMAND_RE.match(text)
    if not match:
        return None
    args = tuple(match.group(2).split()) if match.group(2) else ()
    return match.group(1).lower(), args
