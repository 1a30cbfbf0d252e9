"""One-time invite codes: issue (only the hash is stored) and redeem atomically."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, Role

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


class RedeemOutcome(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class Redeemed:
    outcome: RedeemOutcome
    invite: Invite | None = None


def normalise_code(raw: str) -> str:
    """Upper-case, without spaces, dashes or full-width forms."""
    text = raw.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})
    return "".join(ch for ch in text.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


class InviteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(
        self,
        *,
        role: Role,
        now: datetime,
        valid_for: timedelta,
        county: str | None = None,
        village: str | None = None,
        created_by: int | None = None,
    ) -> tuple[str, Invite]:
        """Create an invite; returns the code (shown once, never stored) and the row."""
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        invite = Invite(
            code_hash=hash_code(code),
            role=role.value,
            county=county,
            village=village,
            created_at=now,
            expires_at=now + valid_for,
            created_by=created_by,
        )
        self.session.add(invite)
        await self.session.flush()
        return format_code(code), invite

    async def redeem(self, raw_code: str, *, user_id: int, now: datetime) -> Redeemed:
        """Mark the invite used by ``user_id`` if it is valid; exactly one redeemer wins."""
        code_hash = hash_code(raw_code)
        result = await self.session.execute(
            update(Invite)
            .where(
                Invite.code_hash == code_hash,
                Invite.used_at.is_(None),
                Invite.expires_at > now,
            )
            .values(used_at=now, used_by=user_id)
            .execution_options(synchronize_session=False)
        )
        invite = (
            await self.session.execute(select(Invite).where(Invite.code_hash == code_hash))
        ).scalar_one_or_none()
        if invite is None:
            return Redeemed(RedeemOutcome.UNKNOWN)
        await self.session.refresh(invite)
        if result.rowcount == 1:
            return Redeemed(RedeemOutcome.OK, invite)
        if invite.used_at is not None:
            return Redeemed(RedeemOutcome.USED, invite)
        return Redeemed(RedeemOutcome.EXPIRED, invite)
