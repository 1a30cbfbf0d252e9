"""Users and their channel identities: find or create the person behind a channel id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DialogState, Identity, Role, User

# Built once: every incoming message runs it, and a statement object reused keeps its
# cache key (building and keying it afresh cost about a tenth of a /start's CPU).
_WITH_DIALOG = (
    select(User, DialogState, Identity)
    .join(Identity, Identity.user_id == User.id)
    .outerjoin(DialogState, DialogState.user_id == User.id)
    .where(
        Identity.channel == bindparam("channel"),
        Identity.external_id == bindparam("external_id"),
    )
)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_identity(self, channel: str, external_id: str) -> User | None:
        stmt = (
            select(User)
            .join(Identity, Identity.user_id == User.id)
            .where(Identity.channel == channel, Identity.external_id == external_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def with_dialog(
        self, channel: str, external_id: str
    ) -> tuple[User, DialogState | None, Identity] | None:
        """The person behind an identity, their open form and the identity, in one round trip."""
        params = {"channel": channel, "external_id": external_id}
        row = (await self.session.execute(_WITH_DIALOG, params)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def find_or_create(
        self, channel: str, external_id: str, display_name: str, now: datetime
    ) -> tuple[User, bool]:
        """The user behind this identity, created as a household on first contact."""
        user = await self.by_identity(channel, external_id)
        if user is not None:
            return user, False
        return await self.create(channel, external_id, display_name, now)

    async def create(
        self, channel: str, external_id: str, display_name: str, now: datetime
    ) -> tuple[User, bool]:
        """Create a household for an identity just looked up and not found.

        Returns (user, True), or (the other user, False) when another process created
        the same identity between that look-up and this insert.
        """
        try:
            async with self.session.begin_nested():
                user = User(
                    display_name=display_name[:64],
                    role=Role.HOUSEHOLD.value,
                    created_at=now,
                    updated_at=now,
                    last_seen_at=now,
                )
                self.session.add(user)
                await self.session.flush()
                self.session.add(
                    Identity(
                        user_id=user.id,
                        channel=channel,
                        external_id=external_id,
                        created_at=now,
                        last_seen_at=now,
                    )
                )
                await self.session.flush()
        except IntegrityError:
            existing = await self.by_identity(channel, external_id)
            if existing is None:
                raise
            return existing, False
        return user, True

    async def reachable_identity(self, user_id: int) -> Identity | None:
        """Where to send a person a message: the reachable channel they last wrote on."""
        stmt = (
            select(Identity)
            .where(Identity.user_id == user_id, Identity.unreachable_at.is_(None))
            .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_unreachable(self, channel: str, external_id: str, now: datetime) -> None:
        """The person blocked the bot or left the channel; cleared when they write again."""
        await self.session.execute(
            update(Identity)
            .where(Identity.channel == channel, Identity.external_id == external_id)
            .values(unreachable_at=now)
        )

    async def identity(self, channel: str, external_id: str) -> Identity | None:
        stmt = select(Identity).where(
            Identity.channel == channel, Identity.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def identities(self, user_id: int) -> list[Identity]:
        stmt = select(Identity).where(Identity.user_id == user_id).order_by(Identity.id)
        return list((await self.session.execute(stmt)).scalars())

    async def by_role(self, role: Role) -> list[User]:
        stmt = select(User).where(User.role == role.value).order_by(User.id)
        return list((await self.session.execute(stmt)).scalars())
