"""Dispatches one ``Incoming``: middleware, then (inside one transaction) user lookup,
option verification, forms, routing, role check, the handler and rendering."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from functools import partial

from bot.context import Context, Services
from bot.dialogs import OPTION_PREFIX
from bot.messages import ContentKind, Incoming, Rendered, Reply, as_json
from bot.middleware import (
    LAST_SEEN_RESOLUTION,
    FloodLimit,
    Middleware,
    Next,
    PerPersonOrder,
    Turn,
    error_boundary,
    input_guard,
)
from bot.render import Renderer
from bot.router import Resolved, as_command, is_cancel
from storage.db import Database
from storage.models import Identity, InboxStatus
from storage.repositories import InboxRepository, Repositories

log = logging.getLogger("cunzhan.turn")

# Words that mean their command even in the middle of a form.
ALWAYS_ALIASES = frozenset({"start", "help"})
TEXT_KINDS = frozenset({ContentKind.TEXT, ContentKind.COMMAND, ContentKind.OPTION})


class Dispatcher:
    """The core every channel calls: ``await dispatcher.handle(incoming)`` → rendered replies."""

    def __init__(
        self,
        *,
        db: Database,
        renderer: Renderer,
        services: Services,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.db = db
        self.renderer = renderer
        self.services = services
        limits = services.settings.limits
        self.middleware = list(
            middleware
            if middleware is not None
            else (
                error_boundary,
                input_guard,
                FloodLimit(limits.flood_messages, limits.flood_window_s),
                PerPersonOrder(),
            )
        )

    async def handle(self, incoming: Incoming, *, inbox_id: int | None = None) -> list[Rendered]:
        """``inbox_id``: the inbox row ``incoming`` was read from; it is marked handled in the
        message's own transaction (or, when no transaction committed, right after), and a row
        that is already handled is not handled again."""
        turn = Turn(incoming=incoming, renderer=self.renderer, inbox_id=inbox_id)
        chain: Next = self._in_transaction
        for middleware in reversed(self.middleware):
            chain = partial(middleware, call_next=chain)
        try:
            rendered = await chain(turn)
            if turn.inbox_id is not None and not turn.inbox_done:
                await self._settle_inbox(turn)  # not when cancelled: that is rolled back
            return rendered
        finally:
            log.info(
                "turn",
                extra={
                    "channel": incoming.sender.channel,
                    "user": turn.user_id,
                    "role": turn.role,
                    "kind": incoming.kind.value,
                    "handler": turn.handler,
                    "outcome": turn.outcome,
                    "duration_ms": round((time.perf_counter() - turn.started) * 1000, 2),
                    **({"error_id": turn.error_id} if turn.error_id else {}),
                },
            )

    async def _settle_inbox(self, turn: Turn) -> None:
        """A message answered without a committed transaction (refused by a guard, or its
        handler failed): its inbox row is closed so that a restart does not replay it."""
        assert turn.inbox_id is not None
        failed = turn.outcome in ("error", "busy")
        status = InboxStatus.FAILED if failed else InboxStatus.HANDLED
        try:
            async with self.db.transaction() as session:
                await InboxRepository(session).claim(
                    turn.inbox_id, now=self.services.clock.now(), status=status
                )
        except Exception as exc:
            # Left as received: the next start-up handles it again.
            log.warning(
                "inbox row not settled",
                extra={"inbox_id": turn.inbox_id, "error": type(exc).__name__},
            )

    async def _in_transaction(self, turn: Turn) -> list[Rendered]:
        try:
            rendered = await self._transaction(turn)
        except _AlreadyHandled:
            turn.handler, turn.outcome, turn.inbox_done = "inbox.duplicate", "duplicate", True
            return []
        turn.inbox_done = turn.inbox_id is not None  # committed with the message
        return rendered

    async def _transaction(self, turn: Turn) -> list[Rendered]:
        incoming = turn.incoming
        now = self.services.clock.now()
        async with self.db.transaction() as session:
            repos = Repositories.on(session, self.services.pii)
            sender = incoming.sender
            found = await repos.users.with_dialog(sender.channel, sender.external_id)
            if found is not None:
                (user, dialog, identity), created = found, False
                _seen(identity, now)
            else:
                user, created = await repos.users.create(
                    sender.channel, sender.external_id, sender.display_name, now
                )
                dialog = None
            if user.last_seen_at is None or now - user.last_seen_at > LAST_SEEN_RESOLUTION:
                user.last_seen_at = now
            turn.user_id, turn.role = user.id, user.role
            ctx = Context(
                user=user,
                repos=repos,
                services=self.services,
                now=now,
                is_new_user=created,
                dialog=dialog,
            )
            replies = await self._route(turn, ctx)
            # Rendered before commit: a reply that cannot be said undoes what it reports.
            rendered = turn.render(replies)
            if turn.inbox_id is not None:
                # Claimed last, in the same transaction: if another delivery of this update
                # was handled first, everything this one did is rolled back.
                kept = [as_json(r) for r in rendered]
                if not await repos.inbox.claim(turn.inbox_id, now=now, replies=kept):
                    raise _AlreadyHandled
            return rendered

    async def _route(self, turn: Turn, ctx: Context) -> list[Reply]:
        incoming = turn.incoming
        forms = self.services.forms
        if incoming.kind is ContentKind.OPTION:
            value = self.renderer.signer.verify(ctx.user.id, incoming.option or "")
            if value is None:
                turn.handler, turn.outcome = "guard.forged_option", "refused"
                return [Reply("system/forged_option")]
            if value.startswith("/"):
                incoming = as_command(incoming, value) or incoming
            elif value.startswith(OPTION_PREFIX + ":"):
                turn.handler = "dialog.option"
                return await forms.on_option(ctx, value)
            else:
                incoming = _with_option(incoming, value)
        elif incoming.kind is ContentKind.TEXT:
            alias = self.services.catalog.alias_command(incoming.text.strip())
            if alias is not None and (ctx.dialog is None or alias in ALWAYS_ALIASES):
                incoming = as_command(incoming, "/" + alias) or incoming
        if is_cancel(incoming):
            turn.handler = "dialog.cancel"
            return await forms.cancel(ctx)
        if ctx.dialog is not None and incoming.kind is ContentKind.TEXT:
            turn.handler = f"dialog.{ctx.dialog.form}"
            return await forms.on_text(ctx, incoming.text)
        kind_route = self.services.catalog.kinds.get(incoming.kind)
        if kind_route is not None and ctx.dialog is None and ctx.role in kind_route.roles:
            turn.handler = kind_route.name
            return await kind_route.handler(incoming, ctx)
        if incoming.kind not in TEXT_KINDS:
            turn.handler, turn.outcome = "guard.unsupported", "refused"
            prompt = forms.current_prompt(ctx)
            if prompt is not None:
                return [Reply("dialog/text_expected"), prompt]
            return [Reply("system/unsupported_kind", {"kind": incoming.kind.value})]
        return await self._call_route(turn, ctx, incoming)

    async def _call_route(self, turn: Turn, ctx: Context, incoming: Incoming) -> list[Reply]:
        resolved: Resolved = self.services.catalog.resolve(incoming, ctx)
        if resolved.route is None:
            turn.handler, turn.outcome = "router.unmatched", "refused"
            return resolved.replies
        route = resolved.route
        turn.handler = route.name
        if ctx.role not in route.roles:
            turn.outcome = "forbidden"
            log.warning(
                "role refused",
                extra={"handler": route.name, "user": ctx.user.id, "role": ctx.user.role},
            )
            return [Reply("system/forbidden")]
        dialog_before = _dialog_key(ctx)
        replies = await route.handler(incoming, ctx)
        if dialog_before is not None and _dialog_key(ctx) == dialog_before:
            reminder = self.services.forms.reminder(ctx)
            if reminder is not None:
                replies = [*replies, reminder]
        return replies


class _AlreadyHandled(Exception):
    """Another delivery of the same update was handled first: roll this one back."""


def _seen(identity: Identity, now: datetime) -> None:
    """Pushes go to the channel a person last wrote on; writing again makes them reachable."""
    if identity.unreachable_at is not None:
        identity.unreachable_at = None
    if identity.last_seen_at is None or now - identity.last_seen_at > LAST_SEEN_RESOLUTION:
        identity.last_seen_at = now


def _dialog_key(ctx: Context) -> tuple[str, object] | None:
    return None if ctx.dialog is None else (ctx.dialog.form, ctx.dialog.started_at)


def _with_option(incoming: Incoming, value: str) -> Incoming:
    return Incoming(
        sender=incoming.sender,
        kind=ContentKind.OPTION,
        received_at=incoming.received_at,
        option=value,
        message_id=incoming.message_id,
    )
