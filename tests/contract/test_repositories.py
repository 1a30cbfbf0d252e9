"""Repository contracts, run on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.models import Role
from storage.repositories import RedeemOutcome, Repositories

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


async def test_identity_creates_one_household(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        user, created = await repos.users.find_or_create("telegram", "42", "王", NOW)
        again, created_again = await repos.users.find_or_create("telegram", "42", "王", NOW)
    assert created and not created_again and user.id == again.id
    assert user.role == Role.HOUSEHOLD.value
    async with db.transaction() as session:
        found = await Repositories.on(session).users.with_dialog("telegram", "42")
    assert found is not None and found[0].id == user.id and found[1] is None


async def test_times_come_back_in_utc(db: Database) -> None:
    local = datetime(2026, 11, 2, 16, 0, tzinfo=UTC).astimezone()
    async with db.transaction() as session:
        user, _ = await Repositories.on(session).users.find_or_create("web", "a", "", local)
    async with db.transaction() as session:
        fresh = await Repositories.on(session).users.get(user.id)
    assert fresh is not None and fresh.created_at == local and fresh.created_at.tzinfo == UTC


async def test_invite_is_redeemed_once_even_when_raced(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        code, _ = await repos.invites.issue(
            role=Role.STAFF, now=NOW, valid_for=timedelta(days=7), county="滑县"
        )
        users = [(await repos.users.find_or_create("t", str(i), "", NOW))[0] for i in range(4)]

    async def redeem(user_id: int) -> RedeemOutcome:
        async with db.transaction() as session:
            result = await Repositories.on(session).invites.redeem(code, user_id=user_id, now=NOW)
            return result.outcome

    outcomes = await asyncio.gather(*(redeem(u.id) for u in users))
    assert sorted(outcomes) == sorted([RedeemOutcome.OK] + [RedeemOutcome.USED] * 3)


async def test_invite_expiry_and_unknown(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        code, row = await repos.invites.issue(
            role=Role.ADMIN, now=NOW, valid_for=timedelta(days=1)
        )
        user, _ = await repos.users.find_or_create("t", "x", "", NOW)
        assert row.code_hash not in code  # only the hash is stored
        late = await repos.invites.redeem(code, user_id=user.id, now=NOW + timedelta(days=2))
        wrong = await repos.invites.redeem("AAAAA-BBBBB", user_id=user.id, now=NOW)
    assert late.outcome is RedeemOutcome.EXPIRED and wrong.outcome is RedeemOutcome.UNKNOWN


async def test_dialog_state_round_trip(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        user, _ = await repos.users.find_or_create("t", "d", "", NOW)
        await repos.dialogs.save(
            user.id, form="profile", step=1, answers={"name": "李"}, history=[0], now=NOW
        )
    async with db.transaction() as session:
        repos = Repositories.on(session)
        state = await repos.dialogs.get(user.id)
        assert state is not None and state.answers == {"name": "李"} and state.history == [0]
        await repos.dialogs.clear(user.id)
    async with db.transaction() as session:
        assert await Repositories.on(session).dialogs.get(user.id) is None
