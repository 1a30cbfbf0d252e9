"""Linking codes: issue one for a person (only the hash is stored), redeem it once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkCode
from storage.repositories.invites import RedeemOutcome, hash_code

# Digits only: typed on a phone keypad in WeChat and Telegram alike.
CODE_DIGITS = 8


@dataclass(frozen=True)
class LinkRedeemed:
    outcome: RedeemOutcome
    link: LinkCode | None = None


class LinkCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(
        self, *, user_id: int, channel: str, now: datetime, valid_for: timedelta
    ) -> str:
        """A new code for ``user_id`` (shown once, never stored); older unused ones end."""
        await self.session.execute(
            update(LinkCode)
            .where(LinkCode.user_id == user_id, LinkCode.used_at.is_(None))
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        self.session.add(
            LinkCode(
                code_hash=hash_code(code),
                user_id=user_id,
                channel=channel,
                created_at=now,
                expires_at=now + valid_for,
            )
        )
        await self.session.flush()
        return code

    async def redeem(self, raw_code: str, *, identity_id: int, now: datetime) -> LinkRedeemed:
        """Mark the code used by ``identity_id`` if it is valid; exactly one redeemer wins."""
        code_hash = hash_code(raw_code)
        result = await self.session.execute(
            update(LinkCode)
            .where(
                LinkCode.code_hash == code_hash,
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
            .values(used_at=now, used_by_identity=identity_id)
            .execution_options(synchronize_session=False)
        )
        link = (
            await self.session.execute(select(LinkCode).where(LinkCode.code_hash == code_hash))
        ).scalar_one_or_none()
        if link is None:
            return LinkRedeemed(RedeemOutcome.UNKNOWN)
        await self.session.refresh(link)
        if result.rowcount == 1:
            return LinkRedeemed(RedeemOutcome.OK, link)
        if link.used_at is not None:
            return LinkRedeemed(RedeemOutcome.USED, link)
        return LinkRedeemed(RedeemOutcome.EXPIRED, link)
