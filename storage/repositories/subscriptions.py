"""Subscriptions to information topics: who wants which topic for which region, who an
information item reaches, whose daily price digest is due, and what a person was last sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, OutboxMessage, Subscription, User

# Outbox kinds of pushes that belong to a topic: "info:<topic>" and "digest:<topic>".
PUSH_KIND_PREFIXES = ("info:", "digest:")
SCOPES = ("county", "city", "province")


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_user(self, user_id: int) -> list[Subscription]:
        stmt = select(Subscription).where(Subscription.user_id == user_id)
        return list((await self.session.execute(stmt.order_by(Subscription.id))).scalars())

    async def get(self, user_id: int, topic: str) -> Subscription | None:
        stmt = select(Subscription).where(
            Subscription.user_id == user_id, Subscription.topic == topic
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def subscribe(
        self, user_id: int, topic: str, *, scope: str, now: datetime
    ) -> Subscription:
        """Subscribe, or change the region of an existing subscription to ``topic``."""
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
        row = await self.get(user_id, topic)
        if row is None:
            row = Subscription(user_id=user_id, topic=topic, created_at=now)
            self.session.add(row)
        row.scope, row.updated_at = scope, now
        await self.session.flush()
        return row

    async def set_digest_time(
        self, user_id: int, topic: str, at: str | None, now: datetime
    ) -> bool:
        row = await self.get(user_id, topic)
        if row is None:
            return False
        row.digest_time, row.updated_at = at, now
        return True

    async def unsubscribe(self, user_id: int, topic: str | None = None) -> int:
        """Remove one topic, or every topic when ``topic`` is None; how many were removed."""
        stmt = delete(Subscription).where(Subscription.user_id == user_id)
        if topic is not None:
            stmt = stmt.where(Subscription.topic == topic)
        result = await self.session.execute(stmt)
        return result.rowcount or 0

    def _audience(
        self,
        topic: str,
        scope: str,
        county: str | None,
        city_counties: Sequence[str],
        roles: Sequence[str],
    ):
        """Subscribers of ``topic`` whose region (around their current county) overlaps the
        item's: ``county`` for a county item, ``city_counties`` the counties of its city."""
        stmt = (
            select(Subscription.user_id)
            .join(User, User.id == Subscription.user_id)
            .where(Subscription.topic == topic)
        )
        in_city = User.county.in_(list(city_counties))
        if scope == "county":
            stmt = stmt.where(
                or_(
                    Subscription.scope == "province",
                    (Subscription.scope == "city") & in_city,
                    (Subscription.scope == "county") & (User.county == county),
                )
            )
        elif scope == "city":
            stmt = stmt.where(or_(Subscription.scope == "province", in_city))
        if roles:
            stmt = stmt.where(User.role.in_(list(roles)))
        return stmt

    async def audience(
        self,
        topic: str,
        *,
        scope: str,
        county: str | None,
        city_counties: Sequence[str],
        roles: Sequence[str] = (),
        after_user_id: int = 0,
        limit: int = 1000,
    ) -> list[int]:
        """One page (by user id) of the people an item for this region and roles reaches."""
        stmt = self._audience(topic, scope, county, city_counties, roles)
        stmt = stmt.where(Subscription.user_id > after_user_id)
        stmt = stmt.order_by(Subscription.user_id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def audience_size(
        self,
        topic: str,
        *,
        scope: str,
        county: str | None,
        city_counties: Sequence[str],
        roles: Sequence[str],
    ) -> int:
        stmt = self._audience(topic, scope, county, city_counties, roles).subquery()
        return (await self.session.execute(select(func.count()).select_from(stmt))).scalar_one()

    async def reachable_identities(self, user_ids: Sequence[int]) -> dict[int, Identity]:
        """For each person, the reachable channel they last wrote on (as ``users`` picks it)."""
        if not user_ids:
            return {}
        stmt = select(Identity).where(
            Identity.user_id.in_(list(user_ids)), Identity.unreachable_at.is_(None)
        )
        best: dict[int, Identity] = {}
        for identity in (await self.session.execute(stmt)).scalars():
            current = best.get(identity.user_id)
            if current is None or _fresher(identity, current):
                best[identity.user_id] = identity
        return best

    async def due_digests(
        self, topic: str, *, today: date, local_time: str, limit: int = 500
    ) -> list[tuple[Subscription, str | None]]:
        """Subscriptions whose digest time has come today and that have not had today's,
        each with the person's current county."""
        stmt = (
            select(Subscription, User.county)
            .join(User, User.id == Subscription.user_id)
            .where(
                Subscription.topic == topic,
                Subscription.digest_time.is_not(None),
                Subscription.digest_time <= local_time,
                or_(Subscription.last_digest_on.is_(None), Subscription.last_digest_on < today),
            )
            .order_by(Subscription.id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(stmt)).all()]

    async def mark_digested(self, subscription_ids: Sequence[int], today: date) -> None:
        """Record that these subscriptions had ``today``'s digest."""
        if subscription_ids:
            await self.session.execute(
                update(Subscription)
                .where(Subscription.id.in_(list(subscription_ids)))
                .values(last_digest_on=today)
            )

    async def last_push_topic(self, user_id: int) -> str | None:
        """The topic of the newest topic push queued for this person (what 退订 refers to)."""
        stmt = (
            select(OutboxMessage.kind)
            .where(
                OutboxMessage.user_id == user_id,
                or_(*(OutboxMessage.kind.startswith(p) for p in PUSH_KIND_PREFIXES)),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        kind = (await self.session.execute(stmt)).scalar_one_or_none()
        return kind.split(":", 1)[1] if kind else None


def _fresher(a: Identity, b: Identity) -> bool:
    if (a.last_seen_at is None) != (b.last_seen_at is None):
        return a.last_seen_at is not None
    if a.last_seen_at != b.last_seen_at:
        return bool(a.last_seen_at and b.last_seen_at and a.last_seen_at > b.last_seen_at)
    return a.id > b.id
