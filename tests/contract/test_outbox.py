"""Outbox, people and job-run repositories on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from storage.crypto import PiiCipher, PiiKeyError
from storage.db import Database
from storage.models import OutboxStatus, Person, Priority
from storage.repositories import Repositories

NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def message(n: int, **extra) -> dict:
    return {
        "user_id": None,
        "channel": "test",
        "address": f"a{n}",
        "text": f"消息{n}",
        "now": NOW,
        "kind": "notice",
        **extra,
    }


async def test_enqueue_is_idempotent_by_dedupe_key(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        first = await repos.outbox.enqueue(**message(1, dedupe_key="k1"))
        again = await repos.outbox.enqueue(**message(1, dedupe_key="k1"))
        many = await repos.outbox.enqueue_many(
            [message(2, dedupe_key="k1"), message(3, dedupe_key="k3"), message(4)]
        )
    assert first is not None and again is None and len(many) == 2
    async with db.transaction() as session:
        assert (await Repositories.on(session).outbox.counts()) == {"pending": 3}


async def test_claims_by_concurrent_workers_never_overlap(db: Database) -> None:
    async with db.transaction() as session:
        await Repositories.on(session).outbox.enqueue_many([message(n) for n in range(30)])

    async def claim(holder: str) -> list[int]:
        async with db.transaction() as session:
            rows = await Repositories.on(session).outbox.claim(
                holder, now=NOW, limit=8, lease=timedelta(seconds=30)
            )
            return [r.id for r in rows]

    batches = await asyncio.gather(*(claim(f"w{i}") for i in range(5)))
    ids = [i for batch in batches for i in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_priority_and_not_before_order_the_claims(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        await repos.outbox.enqueue(**message(1, priority=Priority.BULK))
        await repos.outbox.enqueue(**message(2, priority=Priority.DIRECT))
        await repos.outbox.enqueue(**message(3, not_before=NOW + timedelta(hours=1)))
    async with db.transaction() as session:
        rows = await Repositories.on(session).outbox.claim(
            "w", now=NOW, limit=10, lease=timedelta(seconds=30)
        )
    assert [r.address for r in rows] == ["a2", "a1"]


async def test_outcomes_and_stale_claims(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        await repos.outbox.enqueue_many([message(n) for n in range(3)])
        rows = await repos.outbox.claim("w1", now=NOW, limit=3, lease=timedelta(seconds=30))
        a, b, _c = rows
        assert await repos.outbox.finish(a.id, "w1", OutboxStatus.SENT, now=NOW)
        assert not await repos.outbox.finish(b.id, "intruder", OutboxStatus.SENT, now=NOW)
        retry_at = NOW + timedelta(seconds=5)
        assert await repos.outbox.finish(
            b.id, "w1", OutboxStatus.PENDING, now=NOW, error="429", retry_at=retry_at
        )
    async with db.transaction() as session:
        repos = Repositories.on(session)
        assert await repos.outbox.expire_stale_claims(NOW + timedelta(seconds=10)) == 0
        assert await repos.outbox.expire_stale_claims(NOW + timedelta(seconds=31)) == 1
        assert await repos.outbox.counts() == {"sent": 1, "pending": 2}
        again = await repos.outbox.claim("w2", now=retry_at, limit=5, lease=timedelta(seconds=9))
    assert [r.id for r in again] == [b.id] and again[0].attempts == 2


async def test_a_live_worker_keeps_its_claims_and_records_in_bulk(db: Database) -> None:
    from storage.repositories.outbox import Outcome

    lease = timedelta(seconds=30)
    async with db.transaction() as session:
        repos = Repositories.on(session)
        await repos.outbox.enqueue_many([message(n) for n in range(5)])
        rows = await repos.outbox.claim("w1", now=NOW, limit=5, lease=lease)
    later = NOW + timedelta(seconds=25)
    async with db.transaction() as session:
        repos = Repositories.on(session)
        assert await repos.outbox.renew("w1", now=later, lease=lease) == 5
        assert await repos.outbox.expire_stale_claims(NOW + timedelta(seconds=40)) == 0
        outcomes = [
            Outcome(rows[0].id, OutboxStatus.SENT),
            Outcome(rows[1].id, OutboxStatus.SENT),
            Outcome(rows[2].id, OutboxStatus.BLOCKED, error="403"),
            Outcome(rows[3].id, OutboxStatus.PENDING, retry_at=later, refund=True),
            Outcome(rows[4].id, OutboxStatus.HELD),
        ]
        assert await repos.outbox.finish_many("intruder", outcomes, later) == 0
        assert await repos.outbox.finish_many("w1", outcomes, later) == 5
        assert await repos.outbox.finish_many("w1", outcomes, later) == 0
        assert await repos.outbox.counts() == {"sent": 2, "blocked": 1, "pending": 1, "held": 1}
        again = await repos.outbox.claim("w2", now=later, limit=5, lease=lease)
    assert [r.id for r in again] == [rows[3].id] and again[0].attempts == 1


async def test_held_rows_return_when_the_person_writes_again(db: Database) -> None:
    from storage.models import Identity
    from storage.repositories.outbox import Outcome

    async with db.transaction() as session:
        repos = Repositories.on(session)
        await repos.users.create("wechat", "o1", "李", NOW)
        await repos.outbox.enqueue(**message(1, channel="wechat", address="o1"))
        [row] = await repos.outbox.claim("w", now=NOW, limit=1, lease=timedelta(seconds=9))
        await repos.outbox.finish_many("w", [Outcome(row.id, OutboxStatus.HELD)], NOW)
        seen = await repos.outbox.last_seen("wechat", ["o1", "o2"])
        assert seen == {"o1": NOW}
        window = NOW + timedelta(hours=1)
        assert await repos.outbox.release_held("wechat", seen_since=window, now=window) == 0
        identity = (await session.execute(select(Identity))).scalar_one()
        identity.last_seen_at = window
        await session.flush()
        assert await repos.outbox.release_held("wechat", seen_since=window, now=window) == 1
        assert await repos.outbox.counts() == {"pending": 1}


async def test_blobs_are_stored_once(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        one = await repos.outbox.put_blob("a.png", "image/png", b"\x89PNG-bytes")
        two = await repos.outbox.put_blob("b.png", "image/png", b"\x89PNG-bytes")
        blob = await repos.outbox.blob(one)
    assert one == two and blob is not None and blob.content == b"\x89PNG-bytes"


async def test_reachable_identity_is_the_last_used_channel(db: Database) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        user, _ = await repos.users.create("telegram", "7", "王", NOW)
        from storage.models import Identity

        session.add(
            Identity(
                user_id=user.id,
                channel="wechat",
                external_id="o7",
                created_at=NOW,
                last_seen_at=NOW + timedelta(hours=1),
            )
        )
        await session.flush()
        assert (await repos.users.reachable_identity(user.id)).channel == "wechat"
        await repos.users.mark_unreachable("wechat", "o7", NOW)
        assert (await repos.users.reachable_identity(user.id)).channel == "telegram"
        await repos.users.mark_unreachable("telegram", "7", NOW)
        assert await repos.users.reachable_identity(user.id) is None


async def test_id_numbers_are_encrypted_and_found_by_keyed_hash(db: Database) -> None:
    pii = PiiCipher("key-one")
    number = "11010519491231002X"
    async with db.transaction() as session:
        repos = Repositories.on(session, pii)
        person = await repos.people.create(
            name="张三", now=NOW, created_by=None, county="滑县", village="王庄村"
        )
        repos.people.set_id_number(
            person, number, birth_date=date(1949, 12, 31), sex="女", consent_at=NOW
        )
    async with db.transaction() as session:
        raw = (await session.execute(text("SELECT id_number_enc, id_hash FROM people"))).one()
        assert number not in raw[0] and number not in raw[1]
        repos = Repositories.on(session, pii)
        found = await repos.people.by_id_number(number)
        assert found is not None and repos.people.id_number(found) == number
        assert [p.id for p in await repos.people.named("滑县", "王庄村", "张三")] == [found.id]
        stranger = Repositories.on(session, PiiCipher("another-key"))
        assert await stranger.people.by_id_number(number) is None
        row = (await session.execute(select(Person))).scalar_one()
        with pytest.raises(PiiKeyError):
            stranger.people.id_number(row)


async def test_a_job_slot_is_claimed_once(db: Database) -> None:
    slot = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)

    async def claim(holder: str) -> int | None:
        async with db.transaction() as session:
            return await Repositories.on(session).jobs.claim(
                "remind", slot, holder=holder, now=NOW
            )

    results = await asyncio.gather(*(claim(f"p{i}") for i in range(4)))
    assert sum(r is not None for r in results) == 1


async def test_inbox_records_an_update_once(db: Database) -> None:
    from storage.models import InboxStatus

    async with db.transaction() as session:
        repos = Repositories.on(session)
        first = await repos.inbox.add("telegram", "1001", {"update_id": 1001}, NOW)
        again = await repos.inbox.add("telegram", "1001", {"update_id": 1001}, NOW)
        await repos.inbox.add("telegram", "1002", {"update_id": 1002}, NOW)
        assert first is not None and again is None
        assert [i.key for i in await repos.inbox.unhandled("telegram")] == ["1001", "1002"]
        await repos.inbox.finish(first, now=NOW, replies=[{"text": "好"}])
        assert [i.key for i in await repos.inbox.unhandled("telegram")] == ["1002"]
        done = await repos.inbox.get("telegram", "1001")
        assert done.status == InboxStatus.HANDLED and done.replies == [{"text": "好"}]
        later = NOW + timedelta(days=2)
        assert await repos.inbox.purge(handled_before=later) == 1
