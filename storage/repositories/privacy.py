"""A person's own data: what cunzhan holds about them (for /mydata) and forgetting it (for
/forgetme), plus the start-up check that stored ID numbers open with the configured key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    DialogState,
    Identity,
    InboxItem,
    OutboxMessage,
    OutboxStatus,
    Person,
    Role,
    User,
)

FORGOTTEN_NAME = "已注销"
UNSENT = (OutboxStatus.PENDING.value, OutboxStatus.HELD.value)
# What a forgotten person's inbox row keeps: its (channel, key) still recognises a redelivery.
SCRUBBED_PAYLOAD: dict[str, Any] = {"forgotten": True}


def payload_senders(payload: Any) -> set[str]:
    """Who sent a stored update: Telegram's ``from``/``chat`` ids (anywhere in the update),
    WeChat's ``FromUserName``."""
    found: set[str] = set()
    stack = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "FromUserName" and isinstance(value, str):
                    found.add(value)
                elif key in ("from", "chat") and isinstance(value, dict) and "id" in value:
                    found.add(str(value["id"]))
                if isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


@dataclass(frozen=True)
class Holdings:
    """Everything stored about one user, as the repository found it (nothing decrypted)."""

    user: User
    channels: list[str]
    person: Person | None
    messages: dict[str, int]
    audit_entries: int


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def id_number_sample(self) -> str | None:
        """One stored (encrypted) ID number, or None when none is kept."""
        stmt = select(Person.id_number_enc).where(Person.id_number_enc.is_not(None)).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def holdings(self, user: User) -> Holdings:
        channels = list(
            (
                await self.session.execute(
                    select(Identity.channel)
                    .where(Identity.user_id == user.id)
                    .order_by(Identity.id)
                )
            ).scalars()
        )
        person = (
            await self.session.execute(select(Person).where(Person.user_id == user.id))
        ).scalar_one_or_none()
        rows = await self.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.user_id == user.id)
            .group_by(OutboxMessage.status)
        )
        audit = await self.session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                (AuditEntry.actor_id == user.id)
                | ((AuditEntry.target_type == "user") & (AuditEntry.target_id == str(user.id)))
            )
        )
        return Holdings(
            user=user,
            channels=channels,
            person=person,
            messages={status: n for status, n in rows.all()},
            audit_entries=int(audit.scalar_one()),
        )

    async def forget(self, user: User, now: datetime) -> dict[str, int]:
        """Erase what identifies ``user``: the linked person's name, phone and ID number,
        the chat identities (a later message starts as a stranger), the open form and the
        messages not yet sent. Records others keep (orders, attendance, reports) stay, tied
        to an anonymous person. Returns what was done, by kind."""
        people = await self.session.execute(
            update(Person)
            .where(Person.user_id == user.id)
            .values(
                name=FORGOTTEN_NAME,
                phone=None,
                id_number_enc=None,
                id_hash=None,
                birth_date=None,
                sex=None,
                township=None,
                village=None,
                consent_at=None,
                id_consent_at=None,
                user_id=None,
                updated_at=now,
            )
        )
        scrubbed = await self._scrub_inbox(user)
        identities = await self.session.execute(
            delete(Identity).where(Identity.user_id == user.id)
        )
        await self.session.execute(delete(DialogState).where(DialogState.user_id == user.id))
        unsent = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.user_id == user.id, OutboxMessage.status.in_(UNSENT))
            .values(status=OutboxStatus.CANCELLED.value, error="forgotten")
        )
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.user_id == user.id)
            .values(text="", options=[], address="")
        )
        user.display_name = ""
        user.county = None
        user.village = None
        user.role = Role.HOUSEHOLD.value
        user.updated_at = now
        return {
            "people": people.rowcount or 0,
            "identities": identities.rowcount or 0,
            "cancelled_messages": unsent.rowcount or 0,
            "inbox_scrubbed": scrubbed,
        }

    async def _scrub_inbox(self, user: User) -> int:
        """The raw updates ``user``'s identities sent (names, texts; kept for a while to
        recognise redeliveries) lose everything but their key. A row not yet handled is
        scrubbed too: its message is dropped as unreadable rather than handled later."""
        identities = (
            await self.session.execute(
                select(Identity.channel, Identity.external_id).where(Identity.user_id == user.id)
            )
        ).all()
        ids: list[int] = []
        for channel, external_id in identities:
            candidates = await self.session.execute(
                select(InboxItem.id, InboxItem.payload).where(
                    InboxItem.channel == channel,
                    cast(InboxItem.payload, Text).contains(external_id),
                )
            )
            ids += [i for i, data in candidates.all() if external_id in payload_senders(data)]
        if ids:
            await self.session.execute(
                update(InboxItem)
                .where(InboxItem.id.in_(ids))
                .values(payload=SCRUBBED_PAYLOAD, replies=null())
            )
        return len(ids)
