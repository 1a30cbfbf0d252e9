"""The narrow interface every channel adapter implements, and what a send can come to.

The composition root calls ``routes()`` once to mount the adapter's HTTP endpoints
on the shared server, then ``start(on_incoming)``; the outbox worker (and the
adapter itself, for direct replies) calls ``send``; ``stop`` is called on
shutdown.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.messages import Incoming, Rendered


class OnIncoming(Protocol):
    """The dispatcher's ``handle``; ``inbox_id`` names the inbox row the message came from."""

    def __call__(
        self, incoming: Incoming, *, inbox_id: int | None = None
    ) -> Awaitable[list[Rendered]]: ...


@dataclass(frozen=True)
class Capabilities:
    buttons: bool
    max_text_chars: int
    messages_per_second: float
    per_chat_per_second: float | None = None
    # Sends allowed only this long after the person last wrote (WeChat: 48 hours); the
    # outbox worker holds rows for people outside it instead of sending them.
    reply_window_s: float | None = None


class DeliveryStatus(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # try again after ``retry_after`` (rate limit, 5xx)
    BLOCKED = "blocked"  # the person blocked the bot or is gone: stop sending
    FAILED = "failed"  # will not work however often it is tried (bad request)
    UNKNOWN = "unknown"  # timed out: may or may not have arrived, never resend blindly
    HELD = "held"  # not allowed now (e.g. outside WeChat's window): kept until they write


@dataclass(frozen=True)
class DeliveryResult:
    status: DeliveryStatus
    retry_after: float | None = None
    error: str | None = None
    external_ids: tuple[str, ...] = ()


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def routes(self) -> list[web.AbstractRouteDef]:
        """HTTP endpoints this channel serves on the shared server (may be empty)."""
        ...

    async def start(self, on_incoming: OnIncoming) -> None:
        """Begin receiving; every message goes to ``on_incoming`` and its replies are sent."""
        ...

    async def stop(self) -> None: ...

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        """Send one rendered message to ``address`` (the channel's id for the person)."""
        ...


@runtime_checkable
class PaidBroadcastChannel(Protocol):
    """A channel that can send bulk messages at a higher, paid rate (Telegram's
    ``allow_paid_broadcast``); the outbox worker uses it for bulk rows when a paid rate
    is configured."""

    async def send_paid(self, address: str, rendered: Rendered) -> DeliveryResult: ...


@runtime_checkable
class OutsideWindowChannel(Protocol):
    """A channel with a reply window that can still reach people outside it (WeChat's
    template messages, when a template is configured). The outbox worker sends a row
    that way instead of holding it when ``can_send_outside_window()`` is true."""

    def can_send_outside_window(self) -> bool: ...

    async def send_outside_window(self, address: str, rendered: Rendered) -> DeliveryResult: ...


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, at line breaks when possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:].lstrip("\n")
    if text or not pieces:
        pieces.append(text)
    return pieces
