"""Repositories, one per aggregate. Each takes a session and never commits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import PiiCipher
from storage.repositories.audit import AuditRepository
from storage.repositories.broadcasts import BroadcastRepository
from storage.repositories.dialogs import DialogRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.info_items import InfoItemRepository
from storage.repositories.invites import InviteRepository, Redeemed, RedeemOutcome
from storage.repositories.jobs import JobRunRepository
from storage.repositories.links import LinkCodeRepository
from storage.repositories.orders import OrderRepository, OrderTotals
from storage.repositories.outbox import OutboxRepository
from storage.repositories.people import PeopleRepository
from storage.repositories.policy import PolicyRepository
from storage.repositories.prices import PriceRepository, Recorded
from storage.repositories.privacy import PrivacyRepository
from storage.repositories.reports import Member, ReportRepository, RosterRow
from storage.repositories.subscriptions import SubscriptionRepository
from storage.repositories.training import TrainingFigures, TrainingRepository
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
    links: LinkCodeRepository
    orders: OrderRepository
    subscriptions: SubscriptionRepository
    info_items: InfoItemRepository
    prices: PriceRepository
    training: TrainingRepository
    reports: ReportRepository
    broadcasts: BroadcastRepository
    policy: PolicyRepository
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
            links=LinkCodeRepository(session),
            orders=OrderRepository(session),
            subscriptions=SubscriptionRepository(session),
            info_items=InfoItemRepository(session),
            prices=PriceRepository(session),
            training=TrainingRepository(session),
            reports=ReportRepository(session),
            broadcasts=BroadcastRepository(session),
            policy=PolicyRepository(session),
            privacy=PrivacyRepository(session),
        )


__all__ = [
    "AuditRepository",
    "BroadcastRepository",
    "DialogRepository",
    "InboxRepository",
    "InfoItemRepository",
    "InviteRepository",
    "JobRunRepository",
    "LinkCodeRepository",
    "Member",
    "OrderRepository",
    "OrderTotals",
    "OutboxRepository",
    "PeopleRepository",
    "PolicyRepository",
    "PriceRepository",
    "PrivacyRepository",
    "Recorded",
    "RedeemOutcome",
    "Redeemed",
    "ReportRepository",
    "Repositories",
    "RosterRow",
    "SubscriptionRepository",
    "TrainingFigures",
    "TrainingRepository",
    "UserRepository",
]
