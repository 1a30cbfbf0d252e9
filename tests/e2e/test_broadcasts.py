"""Broadcasts end to end through the real dispatcher: the form, preview and count, confirm,
schedule and cancel, county admins' limits, the fan-out in chunks (20,000 recipients, a
crash half-way, two fan-outs at once) and the progress shown by /broadcasts."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.channels.base import Capabilities, DeliveryResult, DeliveryStatus
from bot.messages import Rendered
from scheduler.delivery import DeliverySettings, DeliveryWorker
from scheduler.fanout import Fanout
from storage.db import Database
from storage.models import Broadcast, Identity, OutboxMessage, User
from storage.repositories import Repositories
from tests.conftest import issue_invite
from tests.factories import ChatDriver, incoming, joined, labels, verify_dialog


async def populate(
    db: Database,
    count: int,
    *,
    county: str | None,
    village: str | None = None,
    role: str = "household",
    channel: str = "test",
    prefix: str = "p",
    unreachable: bool = False,
    now=None,
    first_address: int | None = None,
) -> list[int]:
    """``count`` people with one identity each, inserted in bulk."""
    from datetime import UTC, datetime

    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    async with db.transaction() as session:
        ids = []
        for start in range(0, count, 2000):
            rows = [
                {
                    "display_name": f"{prefix}{i}",
                    "role": role,
                    "county": county,
                    "village": village,
                    "created_at": now,
                    "updated_at": now,
                    "bind_failures": 0,
                }
                for i in range(start, min(count, start + 2000))
            ]
            result = await session.execute(insert(User).returning(User.id), rows)
            ids.extend(result.scalars())
        for start in range(0, count, 2000):
            await session.execute(
                insert(Identity),
                [
                    {
                        "user_id": user_id,
                        "channel": channel,
                        "external_id": f"{prefix}{n}"
                        if first_address is None
                        else str(first_address + n),
                        "created_at": now,
                        "last_seen_at": now,
                        "unreachable_at": now if unreachable else None,
                    }
                    for n, user_id in enumerate(ids[start : start + 2000], start)
                ],
            )
    return ids


async def make_admin(core, user: str, county: str | None = None) -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, "admin", county=county)
    await verify_dialog(chat, [("/start", "农户"), (f"/bind {code}", "管理员")])
    return chat


class Recorder:
    """A channel at the network edge that records what it was asked to send."""

    name = "test"
    capabilities = Capabilities(buttons=True, max_text_chars=4000, messages_per_second=0)

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, address: str, rendered: Rendered) -> DeliveryResult:
        self.sent.append((address, rendered.text))
        return DeliveryResult(DeliveryStatus.SENT)


async def deliver_all(core, channel: Recorder) -> None:
    worker = DeliveryWorker(core.db, {"test": channel}, core.clock, DeliverySettings())
    while await worker._claim_round():
        await asyncio.gather(*worker._in_flight.values())
        await worker._flush()


def fanout(core, chunk: int = 1000) -> Fanout:
    return Fanout(core.db, core.notifier, core.clock, chunk=chunk)


async def test_admin_broadcasts_to_households_of_a_county(core) -> None:
    await populate(core.db, 3, county="滑县", prefix="hx")
    await populate(core.db, 1, county="滑县", prefix="gone", unreachable=True)
    await populate(core.db, 2, county="内黄县", prefix="nh")
    await populate(core.db, 2, county="滑县", role="staff", prefix="st")
    admin = await make_admin(core, "boss")
    assert "发通知" in labels(admin.last)
    await verify_dialog(
        admin,
        [
            ("/broadcast", "发给哪些人"),
            ("游客", "没有看懂"),
            ("农户", "哪个范围"),
            ("火星", "没有找到"),
            ("滑", "什么时候"),
            ("[立即]", "正文"),
            ("明天上午九点在村委会开电商培训会", ["收件人数：3 人", "另有 1 人", "滑县"]),
        ],
    )
    preview = admin.last
    await verify_dialog(admin, [("[确认发送]", ["已确认通知", "共 3 人", "马上开始发送"])])
    await verify_dialog(admin, [("/broadcasts", ["发送中", "待发送 4", "已发送 0/4"])])
    assert await fanout(core, chunk=2).step() == 3
    channel = Recorder()
    await deliver_all(core, channel)
    assert sorted(a for a, _ in channel.sent) == ["hx0", "hx1", "hx2"]
    assert all(text.startswith("【通知】\n明天上午九点") for _, text in channel.sent)
    assert await fanout(core).step() == 0  # nothing left to send: the sender is told
    assert await fanout(core).step() == 0
    await deliver_all(core, channel)
    [report] = [text for address, text in channel.sent if address == "boss"]
    assert "已发送完毕" in report and "送达 3 人" in report and "联系不上 1 人" in report
    await verify_dialog(
        admin, [("[刷新进度]", ["已完成", "已发送 3/4", "待发送 0", "联系不上 1"])]
    )
    admin.last = preview
    await verify_dialog(admin, [("[确认发送]", "不需要再确认")])


async def test_city_and_village_scopes_and_roles(core) -> None:
    await populate(core.db, 2, county="滑县", village="王庄村", prefix="wz")
    await populate(core.db, 1, county="滑县", village="李庄村", prefix="lz")
    await populate(core.db, 2, county="内黄县", role="liaison", prefix="li")
    await populate(core.db, 1, county="荥阳市", role="liaison", prefix="zz")
    admin = await make_admin(core, "boss")
    await verify_dialog(
        admin,
        [
            ("/broadcast", "发给哪些人"),
            ("农户、联络员", "哪个范围"),
            ("安阳市", "什么时候"),
            ("立即", "正文"),
            ("请各村上报", ["收件人数：5 人", "范围：安阳市"]),
            ("[不发了]", "已放弃"),
            ("/broadcast", "发给哪些人"),
            ("全部", "哪个范围"),
            ("滑县 王庄村", "什么时候"),
            ("立即", "正文"),
            ("王庄村通知", ["收件人数：2 人", "范围：滑县 王庄村"]),
        ],
    )


async def test_county_admin_stays_in_county_and_others_cannot_broadcast(core) -> None:
    await populate(core.db, 2, county="滑县", prefix="hx")
    county_admin = await make_admin(core, "county", county="滑县")
    await verify_dialog(
        county_admin,
        [
            ("/broadcast", "发给哪些人"),
            ("全部", "哪个范围"),
            ("全省", "只能向滑县"),
            ("安阳市", "只能向滑县"),
            ("内黄县", "只能向滑县"),
            ("[滑县]", "什么时候"),
            ("立即", "正文"),
            ("县里的通知", "收件人数：2 人"),
            ("[确认发送]", "已确认通知"),
        ],
    )
    province = await make_admin(core, "province")
    await verify_dialog(
        province,
        [
            ("/broadcast", "发给哪些人"),
            ("全部", "哪个范围"),
            ("全省", "什么时候"),
            ("明天 9:00", "正文"),
            ("全省的通知", ["收件人数：2 人", "发送时间："]),
            ("[确认发送]", "开始前可以取消"),
        ],
    )
    listed = joined(await county_admin.say("/broadcasts"))
    assert "县里的通知" in listed and "全省的通知" not in listed
    assert labels(county_admin.last) == ["取消通知 1", "刷新进度"]
    everyone = joined(await province.say("/broadcasts"))
    assert "县里的通知" in everyone and "全省的通知" in everyone
    household = ChatDriver(core.dispatcher, user="someone")
    await household.say("/start")
    assert "发通知" not in labels(household.last)
    refused = joined(await household.say("/broadcast"))
    assert "发给哪些人" not in refused


async def test_scheduled_broadcast_waits_and_can_be_cancelled_before_it_starts(core) -> None:
    await populate(core.db, 4, county="滑县", prefix="hx")
    admin = await make_admin(core, "boss")
    for text in ("第一条预约通知", "第二条预约通知"):
        await verify_dialog(
            admin,
            [
                ("/broadcast", "发给哪些人"),
                ("农户", "哪个范围"),
                ("滑县", "什么时候"),
                ("昨天", "没有看懂"),
                ("2026-10-01 09:00", "现在之后"),
                ("明天 9:00", "正文"),
                (text, "北京时间"),
                ("[确认发送]", ["开始前可以取消", "共 4 人"]),
            ],
        )
    assert await fanout(core).step() == 0
    await verify_dialog(admin, [("/broadcasts", ["已预约", "计划"])])
    cancel_first = [label for label in labels(admin.last) if label.startswith("取消通知")][-1]
    await verify_dialog(admin, [(f"[{cancel_first}]", "已取消通知")])
    core.clock.advance(timedelta(days=1))
    assert await fanout(core).step() == 4
    await verify_dialog(admin, [("/broadcasts", ["已取消", "已发送 0/4"])])
    async with core.db.transaction() as session:
        [running] = [b for b in await Repositories.on(session).broadcasts.recent() if b.enqueued]
    async with core.db.transaction() as session:
        boss = await Repositories.on(session).users.by_identity("test", "boss")
    token = core.renderer.signer.sign(boss.id, f"bc:cancel:{running.id}")
    replies = await admin.send(incoming(option=token, user="boss"))
    assert "不能再取消" in joined(replies)


async def create_confirmed(core, *, county: str | None = None) -> int:
    async with core.db.transaction() as session:
        repos = Repositories.on(session)
        row = await repos.broadcasts.create_draft(
            created_by=None,
            text="全体通知",
            roles=["household"],
            scope="province" if county is None else "county",
            region="河南省" if county is None else county,
            counties=None if county is None else [county],
            village=None,
            owner_county=None,
            start_at=core.clock.now(),
            now=core.clock.now(),
        )
        assert await repos.broadcasts.confirm(row, core.clock.now())
        return row.id


async def test_twenty_thousand_recipients_survive_a_crash_and_a_second_fanout(core) -> None:
    await populate(core.db, 20_000, county="滑县", prefix="hx")
    broadcast_id = await create_confirmed(core)
    written = await fanout(core, chunk=1500).step(max_chunks=4)  # then the process "dies"
    assert written == 6000
    first, second = fanout(core, chunk=1500), fanout(core, chunk=1500)
    rest = await asyncio.gather(first.step(), second.step())
    assert sum(rest) == 14_000
    async with core.db.transaction() as session:
        rows, people = (
            await session.execute(
                select(func.count(), func.count(func.distinct(OutboxMessage.user_id))).where(
                    OutboxMessage.batch_id == broadcast_id
                )
            )
        ).one()
        broadcast = await session.get(Broadcast, broadcast_id)
        progress = await Repositories.on(session).broadcasts.progress(broadcast, core.clock.now())
    assert rows == people == 20_000
    assert broadcast.status == "queued" and broadcast.enqueued == 20_000
    assert (progress.total, progress.pending, progress.sent) == (20_000, 20_000, 0)


async def test_cli_shows_a_broadcasts_progress_bar(core, database_url, tmp_path) -> None:
    from storage.models import OutboxStatus
    from storage.repositories.outbox import Outcome
    from tests.conftest import make_env
    from tests.e2e.test_cli import cli

    await populate(core.db, 10, county="滑县", prefix="hx")
    broadcast_id = await create_confirmed(core, county="滑县")
    await fanout(core).step()
    async with core.db.transaction() as session:
        outbox = Repositories.on(session).outbox
        rows = await outbox.claim("w", now=core.clock.now(), limit=6, lease=timedelta(minutes=1))
        outcomes = [Outcome(r.id, OutboxStatus.SENT) for r in rows[:4]]
        outcomes.append(Outcome(rows[4].id, OutboxStatus.BLOCKED))
        outcomes.append(Outcome(rows[5].id, OutboxStatus.FAILED))
        await outbox.finish_many("w", outcomes, core.clock.now())
    env = make_env(database_url)
    shown = await asyncio.to_thread(cli, ["broadcast", "status", str(broadcast_id)], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    line = shown.stdout.strip()
    assert line.startswith("[" + "#" * 18 + "-" * 12 + "]  60%")
    assert "4/10 sent, 4 pending, 1 failed, 0 unknown, 1 unreachable" in line
    missing = await asyncio.to_thread(cli, ["broadcast", "status", "999"], env, tmp_path)
    assert missing.returncode == 2 and "no broadcast 999" in missing.stderr
    args = ["broadcast", "status", str(broadcast_id), "--watch", "--interval", "0.2"]
    watching = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert watching.stdout is not None
    # Wait for its first drawing (however slowly it starts), then let the broadcast finish.
    first = (await asyncio.wait_for(watching.stdout.readline(), 60)).decode()
    assert watching.returncode is None
    await deliver_all(core, Recorder())
    rest, _ = await asyncio.wait_for(watching.communicate(), 30)
    lines = [first.strip(), *rest.decode().strip().splitlines()]
    assert watching.returncode == 0 and len(lines) >= 2
    assert "60%" in lines[0] and lines[-1].startswith("[" + "#" * 30 + "] 100%")


async def test_broadcast_over_telegram_with_429s_5xx_and_blocked_people(
    fake, telegram_app
) -> None:
    admin_chat, first = 990, 700_000
    await populate(telegram_app.db, 20, county="滑县", channel="telegram", first_address=first)
    code = await issue_invite(telegram_app.db, "admin")
    said = 0
    for text in ("/start", f"/bind {code}", "/broadcast", "农户", "滑县", "立即", "今晚停电检修"):
        fake.inject_message(admin_chat, text)
        said += 1
        await fake.wait_for_sent(said, chat_id=admin_chat)
    preview = fake.messages_to(admin_chat)[-1]
    assert "收件人数：20 人" in preview.text
    [confirm] = [
        data for row in fake.buttons(preview) for label, data in row if label == "确认发送"
    ]
    fake.block_chat(first + 3)
    fake.block_chat(first + 4)
    fake.inject_callback(admin_chat, confirm)
    await fake.wait_for_sent(said + 1, chat_id=admin_chat)
    fake.fail_next("sendMessage", status=429, retry_after=1, times=2)
    fake.fail_next("sendMessage", status=502)
    await fake.wait_until(
        lambda: "已发送完毕" in fake.messages_to(admin_chat)[-1].text,
        timeout=30,
        what="the report to the admin",
    )
    report = fake.messages_to(admin_chat)[-1].text
    assert "共 20 人，送达 18 人" in report and "联系不上 2 人" in report
    for n in range(20):
        expected = 0 if n in (3, 4) else 1
        assert len(fake.messages_to(first + n)) == expected, n
    fake.inject_message(admin_chat, "/broadcasts")
    await fake.wait_for_sent(said + 3, chat_id=admin_chat)
    listed = fake.messages_to(admin_chat)[-1].text
    assert "已完成" in listed and "已发送 18/20" in listed and "联系不上 2" in listed
    async with telegram_app.db.transaction() as session:
        statuses = await Repositories.on(session).outbox.counts(batch_id=1)
        attempts = list(
            await session.scalars(
                select(OutboxMessage.attempts).where(OutboxMessage.batch_id == 1)
            )
        )
    assert statuses == {"sent": 18, "blocked": 2}
    assert sum(attempts) == 20 + 3  # two 429s and one 502 were retried
