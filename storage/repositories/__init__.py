"""Repositories, one per aggregate. Each takes a session and never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import PiiCipher
from storage.repositories.audit import AuditRepository
from storage.repositories.dialogs import DialogRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.invites import InviteRepository, Redeemed, RedeemOutcome
from storage.repositories.jobs import JobRunRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import PeopleRepository
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.users import UserRepository


@dataclass(frozen=True)
class Repositories:
    """Every repository bound to one session (one incoming message's transaction)."""

    session: AsyncSession
    users: UserRepository
    invites: InviteRepository
    audit: AuditRepository
    dialogs: DialogRepository
    outbox: OutboxRepository
    people: PeopleRepository
    jobs: JobRunRepository
    inbox: InboxRepository
    privacy: PrivacyRepository

    @classmethod
    def on(cls, session: AsyncSession, pii: PiiCipher | None = None) -> Repositories:
        """``pii`` is needed only by code that stores or reads ID numbers."""
        return cls(
            session=session,
            users=UserRepository(session),
            invites=InviteRepository(session),
            audit=AuditRepository(session),
            dialogs=DialogRepository(session),
            outbox=OutboxRepository(session),
            people=PeopleRepository(session, pii),
            jobs=JobRunRepository(session),
            inbox=InboxRepository(session),
            privacy=PrivacyRepository(session),
        )


__all__ = [
    "AuditRepository",
    "DialogRepository",
    "InboxRepository",
    "InviteRepository",
    "JobRunRepository",
    "OutboxRepository",
    "PeopleRepository",
    "PrivacyRepository",
    "RedeemOutcome",
    "Redeemed",
    "Repositories",
    "UserRepository",
]
