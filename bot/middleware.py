"""The middleware around every message: error boundary, input guard, flood limit,
per-person ordering, and the transaction that resolves the user and commits once.

Each middleware is ``async (turn, call_next) -> list[Rendered]``; the dispatcher
chains them in the order given by ``default_chain``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from bot.messages import ContentKind, Incoming, Rendered, Reply
from bot.render import Renderer

log = logging.getLogger("cunzhan.middleware")

MAX_TEXT_CHARS = 2000
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass
class Turn:
    """One message on its way through the middleware; collects what the log line says."""

    incoming: Incoming
    renderer: Renderer
    started: float = field(default_factory=time.perf_counter)
    user_id: int | None = None
    role: str | None = None
    handler: str = "-"
    outcome: str = "ok"
    error_id: str | None = None
    inbox_id: int | None = None  # the inbox row this message came from, marked in its transaction
    inbox_done: bool = False

    def render(self, replies: list[Reply]) -> list[Rendered]:
        return [self.renderer.present(r, user_id=self.user_id) for r in replies]


Next = Callable[[Turn], Awaitable[list[Rendered]]]
Middleware = Callable[[Turn, Next], Awaitable[list[Rendered]]]


def is_locked_error(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "locked" in str(exc.orig).lower()


async def error_boundary(turn: Turn, call_next: Next) -> list[Rendered]:
    """Any exception becomes a polite reply with an error id; the traceback is logged."""
    try:
        return await call_next(turn)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if is_locked_error(exc):
            turn.outcome = "busy"
            log.warning("database busy", extra={"handler": turn.handler, "user": turn.user_id})
            return turn.render([Reply("system/busy")])
        turn.outcome = "error"
        turn.error_id = secrets.token_hex(4)
        log.exception(
            "handler failed",
            extra={"error_id": turn.error_id, "handler": turn.handler, "user": turn.user_id},
        )
        return turn.render([Reply("system/error", {"error_id": turn.error_id})])


async def input_guard(turn: Turn, call_next: Next) -> list[Rendered]:
    """Empty and oversized texts are answered before anything else is touched."""
    incoming = turn.incoming
    if incoming.kind is ContentKind.TEXT and not incoming.text.strip():
        turn.handler, turn.outcome = "guard.empty", "refused"
        return turn.render([Reply("system/empty")])
    if len(incoming.text) > MAX_TEXT_CHARS:
        turn.handler, turn.outcome = "guard.too_long", "refused"
        return turn.render([Reply("system/too_long", {"limit": MAX_TEXT_CHARS})])
    return await call_next(turn)


class FloodLimit:
    """At most ``limit`` messages per ``window`` seconds per person; one warning, then silence."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._warned: dict[tuple[str, str], float] = {}

    def _prune(self, now: float) -> None:
        stale = [k for k, q in self._seen.items() if not q or now - q[-1] > self.window]
        for key in stale:
            del self._seen[key]
            self._warned.pop(key, None)

    async def __call__(self, turn: Turn, call_next: Next) -> list[Rendered]:
        if time.time() - turn.incoming.received_at.timestamp() > self.window:
            # Written long ago, handled only now (a backlog after downtime, a replay after a
            # crash): not a flood, and refusing it would lose a message already acknowledged.
            return await call_next(turn)
        now = time.monotonic()
        if len(self._seen) > 10_000:
            self._prune(now)
        key = turn.incoming.key
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] > self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            turn.handler, turn.outcome = "guard.flood", "flood"
            if now - self._warned.get(key, -self.window) > self.window:
                self._warned[key] = now
                return turn.render([Reply("system/slow_down")])
            return []
        seen.append(now)
        return await call_next(turn)


class PerPersonOrder:
    """Messages from one person are handled one at a time, in arrival order."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    async def __call__(self, turn: Turn, call_next: Next) -> list[Rendered]:
        key = turn.incoming.key
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await call_next(turn)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
