"""The outbox writer: how a handler or a job says something to someone on the bot's own
initiative (an answer from staff, a reminder, a broadcast, a course notice).

``Notifier.send`` renders the reply for its recipient (options are signed for them),
picks the reachable channel they last wrote on, and adds an outbox row in the caller's
transaction, so the message exists exactly when the change that caused it does.
scheduler/delivery.py sends it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot.messages import Rendered, Reply
from bot.render import Renderer
from storage.models import Priority
from storage.repositories import Repositories


class Notifier:
    """Built once by the composition root; used by handlers (``ctx.notify``) and jobs."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def render_for(self, user_id: int, reply: Reply) -> Rendered:
        return self.renderer.present(reply, user_id=user_id)

    async def send(
        self,
        repos: Repositories,
        user_id: int,
        reply: Reply,
        *,
        now: datetime,
        kind: str,
        priority: int = Priority.NOTICE,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
        batch_id: int | None = None,
    ) -> int | None:
        """The outbox row's id; None if the person has no reachable channel or
        ``dedupe_key`` was already used (so calling twice never sends twice)."""
        identity = await repos.users.reachable_identity(user_id)
        if identity is None:
            return None
        rendered = self.render_for(user_id, reply)
        return await repos.outbox.enqueue(
            **self.row(rendered, user_id, identity.channel, identity.external_id),
            blob_id=await self._blob(repos, rendered),
            now=now,
            kind=kind,
            priority=priority,
            dedupe_key=dedupe_key,
            not_before=not_before,
            batch_id=batch_id,
        )

    @staticmethod
    def row(rendered: Rendered, user_id: int, channel: str, address: str) -> dict[str, Any]:
        """The outbox columns that carry a rendered message to one address."""
        return {
            "user_id": user_id,
            "channel": channel,
            "address": address,
            "text": rendered.text,
            "options": [asdict(o) for o in rendered.options],
        }

    @staticmethod
    async def _blob(repos: Repositories, rendered: Rendered) -> int | None:
        item = rendered.attachment
        if item is None:
            return None
        return await repos.outbox.put_blob(item.filename, item.mime_type, item.content)
