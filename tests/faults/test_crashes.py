"""SIGKILL at the worst moments: mid-form, after a poll batch was confirmed to Telegram but
before it was handled, right after a webhook's 200; then restart and check the ledger
(every update handled once: one invite per ``/invite``, inbox rows all handled)."""

from __future__ import annotations

from collections import Counter

from tests.conftest import free_port, issue_invite
from tests.faults.conftest import assert_ledger, ledger, wait_for

INVITE = "/invite staff"


async def bind_admins(fake, database_url: str, chats: list[int]) -> None:
    from storage.db import Database

    db = Database(database_url)
    try:
        for chat in chats:
            fake.inject_message(chat, f"/bind {await issue_invite(db, 'admin', county='郏县')}")
    finally:
        await db.dispose()
    for chat in chats:
        await fake.wait_for_sent(1, chat_id=chat, timeout=20)


async def test_kill_mid_form_loses_nothing(fake, bots, database_url) -> None:
    proc = await bots.start()
    fake.inject_message(700, "/profile")
    await fake.wait_for_sent(1, chat_id=700)
    fake.inject_message(700, "老王")
    [_, county_prompt] = await fake.wait_for_sent(2, chat_id=700)
    assert "县" in county_prompt.text
    await proc.kill()
    await bots.start()

    def said(words: str) -> bool:
        return any(words in m.text for m in fake.messages_to(700))

    fake.inject_message(700, "郏县")
    await fake.wait_until(lambda: said("哪个村"), timeout=15, what="the village prompt")
    fake.inject_message(700, "跳过")
    await fake.wait_until(lambda: said("已保存"), what="the saved profile")
    saved = next(m for m in fake.messages_to(700) if "已保存" in m.text)
    assert "老王" in saved.text and "郏县" in saved.text
    assert_ledger(await ledger(database_url), handled=4)
    assert bots.tracebacks() == []


async def test_kill_after_a_batch_was_confirmed_but_before_it_was_handled(
    fake, bots, database_url
) -> None:
    admins = list(range(8001, 8021))
    households = list(range(9001, 9101))
    proc = await bots.start()
    await bind_admins(fake, database_url, admins)
    mark = len(fake.requests)
    sent_before = len(fake.sent)
    ids = [fake.inject_message(chat, INVITE) for _ in range(5) for chat in admins]
    ids += [fake.inject_message(chat, "/help") for chat in households]

    def confirmed() -> bool:
        return any(
            method == "getUpdates" and int(params.get("offset") or 0) > ids[0]
            for method, params in fake.requests[mark:]
        )

    await wait_for(confirmed, timeout=15, what="the first batch to be confirmed", every=0.002)
    await proc.kill()
    handled_before_kill = len(fake.sent) - sent_before
    assert handled_before_kill < len(ids), "the kill came too late to test anything"
    assert not any(u["update_id"] == ids[0] for u in fake.pending_updates)  # Telegram forgot it

    await bots.start()

    def everyone_answered() -> bool:
        per_chat = Counter(m.chat_id for m in fake.sent[sent_before:])
        return all(per_chat[c] >= 5 for c in admins) and all(per_chat[c] >= 1 for c in households)

    await wait_for(everyone_answered, timeout=30, what="a reply to every update")
    book = await ledger(database_url)
    assert book["invites"] == 5 * len(admins)  # none lost, none made twice
    assert_ledger(book, handled=len(admins) + len(ids))
    assert bots.tracebacks() == []


async def test_kill_right_after_a_webhook_200(fake, bots, database_url) -> None:
    port = free_port()
    hook = {
        "CUNZHAN_HTTP_PORT": str(port),
        "CUNZHAN_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
        "CUNZHAN_TELEGRAM_WEBHOOK_SECRET": "hook-secret",
    }
    proc = await bots.start(**hook)
    from storage.db import Database

    db = Database(database_url)
    code = await issue_invite(db, "admin", county="郏县")
    await db.dispose()
    assert await fake.post_update_to_webhook(fake.inject_message(710, f"/bind {code}")) == 200
    await fake.wait_for_sent(1, chat_id=710)
    invite = fake.inject_message(710, INVITE)
    payload = dict(next(u for u in fake.pending_updates if u["update_id"] == invite))
    assert await fake.post_update_to_webhook(invite) == 200
    await proc.kill()
    await bots.start(**hook)
    sent = await fake.wait_for_sent(2, chat_id=710, timeout=15)
    assert "邀请码" in sent[-1].text
    # Telegram never saw the 200 it was sent? It redelivers: recognised, not handled again.
    assert await fake.post_update_to_webhook(payload) == 200
    book = await ledger(database_url)
    assert book["invites"] == 1
    assert_ledger(book, handled=2)
    assert bots.tracebacks() == []
