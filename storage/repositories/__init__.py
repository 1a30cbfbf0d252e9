"""Repositories, one per aggregate. Each takes a session and never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.audit import AuditRepository
from storage.repositories.dialogs import DialogRepository
from storage.repositories.invites import InviteRepository, Redeemed, RedeemOutcome
from storage.repositories.users import UserRepository


@dataclass(frozen=True)
class Repositories:
    """Every repository bound to one session (one incoming message's transaction)."""

    session: AsyncSession
    users: UserRepository
    invites: InviteRepository
    audit: AuditRepository
    dialogs: DialogRepository

    @classmethod
    def on(cls, session: AsyncSession) -> Repositories:
        return cls(
            session=session,
            users=UserRepository(session),
            invites=InviteRepository(session),
            audit=AuditRepository(session),
            dialogs=DialogRepository(session),
        )


__all__ = [
    "AuditRepository",
    "DialogRepository",
    "InviteRepository",
    "RedeemOutcome",
    "Redeemed",
    "Repositories",
    "UserRepository",
]
