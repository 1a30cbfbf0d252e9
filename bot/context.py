"""What a handler gets besides the message: the person, repositories on this message's
session, the form engine, the clock and the read-only services (regions, menus)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from storage.crypto import PiiCipher
from storage.models import DialogState, Priority, Role, User
from storage.repositories import Repositories

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.dialogs import FormEngine
    from bot.messages import Reply
    from bot.notify import Notifier
    from bot.router import Catalog
    from content.policy.answer import PolicyEngine
    from content.regions import Gazetteer


@dataclass(frozen=True)
class Services:
    """Long-lived, read-only things every handler may consult; built once at start."""

    settings: Settings
    clock: Clock
    catalog: Catalog
    forms: FormEngine
    regions: Gazetteer
    notifier: Notifier
    pii: PiiCipher
    policy: PolicyEngine  # the policy Q&A engine (jieba, index), loaded once at start


@dataclass
class Context:
    user: User
    repos: Repositories
    services: Services
    now: datetime
    is_new_user: bool = False
    dialog: DialogState | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        return self.user.role_enum

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def start_form(self, name: str, answers: dict[str, Any] | None = None) -> list[Reply]:
        """Begin form ``name`` for this person and return its first prompt."""
        return await self.services.forms.start(self, name, answers or {})

    async def notify(
        self,
        user_id: int,
        reply: Reply,
        *,
        kind: str,
        priority: int = Priority.NOTICE,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
    ) -> int | None:
        """Send ``reply`` to another person through the outbox, in this message's transaction."""
        return await self.services.notifier.send(
            self.repos,
            user_id,
            reply,
            now=self.now,
            kind=kind,
            priority=priority,
            dedupe_key=dedupe_key,
            not_before=not_before,
        )

    def has_role(self, roles: Sequence[Role]) -> bool:
        return self.role in roles
