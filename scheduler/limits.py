"""Per-channel send rates owned by the outbox worker: token buckets, per-chat spacing and
the reaction to a flood-control answer (429).

* ``TokenBucket`` is a GCRA bucket: ``reserve`` hands out send times in call order (so
  rows keep the priority order they were claimed in), allowing a burst of ``burst``
  sends after an idle spell and ``rate`` per second after that.
* ``ChatSpacing`` keeps sends to one chat at least ``1 / rate`` seconds apart.
* ``ChannelLimits`` joins them for one channel and decides what a 429 does: the chat
  waits ``retry_after`` and the refused send gives its slot back (the limit counts
  messages delivered); the whole channel pauses only when 429s come in numbers (a
  systemic flood: a fifth of a second's rate within one second), so an isolated 429
  costs one retried row, not a second of silence.

Rates are per worker process; run one worker process per bot when the limit matters.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.channels.base import Capabilities
from bot.settings import DeliveryConfig

Now = Callable[[], float]


class TokenBucket:
    """``rate`` sends per second with bursts of ``burst``; a rate of 0 means unlimited."""

    def __init__(self, rate: float, burst: float | None = None, *, now: Now = time.monotonic):
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._now = now
        self._tat = 0.0  # theoretical arrival time of the next send at an even pace
        self._paused_until = 0.0

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def reserve(self) -> float:
        """Take the next send slot; the seconds to wait before using it."""
        now = self._now()
        if self.unlimited:
            return max(0.0, self._paused_until - now)
        interval = 1.0 / self.rate
        tolerance = (self.burst - 1.0) * interval
        at = max(now, self._tat - tolerance, self._paused_until)
        self._tat = max(self._tat, at) + interval
        return at - now

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def refund(self) -> None:
        """Give back one slot: a send the server refused did not deliver a message."""
        if not self.unlimited:
            self._tat = max(self._now(), self._tat - 1.0 / self.rate)

    def pause(self, seconds: float) -> None:
        """No send before ``seconds`` from now, and no burst right after it."""
        until = self._now() + seconds
        self._paused_until = max(self._paused_until, until)
        if not self.unlimited:
            tolerance = (self.burst - 1.0) * (1.0 / self.rate)
            self._tat = max(self._tat, until + tolerance)


class ChatSpacing:
    """At most ``rate`` sends per second to any one chat (no bursts)."""

    def __init__(self, rate: float, *, now: Now = time.monotonic) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._now = now
        self._next: dict[str, float] = {}
        self._calls = 0

    def reserve(self, chat: str, max_wait: float) -> float | None:
        """Seconds to wait before sending to ``chat``, or None (nothing reserved) if that
        would be longer than ``max_wait``."""
        now = self._now()
        at = max(now, self._next.get(chat, 0.0))
        if at - now > max_wait:
            return None
        if self.interval:
            self._next[chat] = at + self.interval
        self._calls += 1
        if self._calls % 4096 == 0:
            self._forget(now)
        return at - now

    def pause(self, chat: str, seconds: float) -> None:
        self._next[chat] = max(self._next.get(chat, 0.0), self._now() + seconds)

    def _forget(self, now: float) -> None:
        for chat in [c for c, at in self._next.items() if at < now]:
            del self._next[chat]


@dataclass
class FloodGuard:
    """Counts 429s in the last ``window`` seconds; ``flooding`` once there are ``threshold``."""

    threshold: int
    window: float = 1.0
    now: Now = time.monotonic

    def __post_init__(self) -> None:
        self._seen: deque[float] = deque()

    def hit(self) -> bool:
        now = self.now()
        self._seen.append(now)
        while self._seen and self._seen[0] < now - self.window:
            self._seen.popleft()
        return len(self._seen) >= self.threshold


class ChannelLimits:
    """Every limit of one channel, as the worker applies them to each send."""

    def __init__(
        self,
        overall: TokenBucket,
        chats: ChatSpacing | None = None,
        paid: TokenBucket | None = None,
        *,
        max_chat_wait: float = 1.0,
        now: Now = time.monotonic,
    ) -> None:
        self.overall = overall
        self.chats = chats
        self.paid = paid
        self.max_chat_wait = max_chat_wait
        threshold = max(3, int(overall.rate * 0.2)) if not overall.unlimited else 50
        self.flood = FloodGuard(threshold, now=now)

    def chat_wait(self, chat: str) -> float | None:
        """Reserve the chat's next slot: seconds to wait, or None to put the row back."""
        if self.chats is None:
            return 0.0
        return self.chats.reserve(chat, self.max_chat_wait)

    def bucket(self, *, paid: bool) -> TokenBucket:
        return self.paid if paid and self.paid is not None else self.overall

    def rate_limited(self, chat: str, retry_after: float, *, paid: bool = False) -> None:
        """A 429 for ``chat``: that chat waits and the refused send's slot is given back;
        a burst of them (a flood) pauses the whole channel instead."""
        if self.chats is not None:
            self.chats.pause(chat, retry_after)
        if self.flood.hit():
            self.overall.pause(retry_after)
            if self.paid is not None:
                self.paid.pause(retry_after)
        else:
            self.bucket(paid=paid).refund()


def limits_for(
    name: str, capabilities: Capabilities, config: DeliveryConfig, *, now: Now = time.monotonic
) -> ChannelLimits:
    """The limits of channel ``name``: the settings' rates where they exist, else the
    channel's own capabilities."""
    if name == "telegram":
        overall, per_chat = config.telegram_rate, config.telegram_chat_rate
        paid = (
            TokenBucket(config.telegram_paid_rate, now=now) if config.telegram_paid_rate else None
        )
    elif name == "wechat":
        overall, per_chat, paid = config.wechat_rate, capabilities.per_chat_per_second, None
    else:
        overall, per_chat = capabilities.messages_per_second, capabilities.per_chat_per_second
        paid = None
    chats = ChatSpacing(per_chat, now=now) if per_chat else None
    return ChannelLimits(TokenBucket(overall, now=now), chats, paid, now=now)


def build_limits(
    capabilities: Mapping[str, Capabilities], config: DeliveryConfig
) -> dict[str, ChannelLimits]:
    return {name: limits_for(name, caps, config) for name, caps in capabilities.items()}
