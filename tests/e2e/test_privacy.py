"""Personal data: /mydata shows a household what is kept (masked), /forgetme erases it after
a confirmation button and audits it, the app refuses to start with ID numbers stored and no
(or the wrong) CUNZHAN_SECRET_KEY, and logs never hold a full phone or ID number."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import logs
from bot.app import CunzhanApp
from bot.settings import SettingsError, load_settings
from storage.models import AuditEntry, Identity, InboxItem, Person
from storage.repositories import Repositories
from tests.conftest import issue_invite
from tests.factories import ChatDriver, find_token, incoming, joined

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


async def register(core, user: str) -> int:
    """A household who chatted once and whose station registered them with phone and ID."""
    await ChatDriver(core.dispatcher, user=user).say("/start")
    async with core.db.transaction() as session:
        repos = Repositories.on(session, core.pii)
        person_user = await repos.users.by_identity("test", user)
        assert person_user is not None
        person = await repos.people.create(
            name="王秀英",
            now=core.clock.now(),
            created_by=None,
            phone=PHONE,
            county="郏县",
            village="李口村",
            consent_at=core.clock.now(),
            user_id=person_user.id,
        )
        repos.people.set_id_number(
            person,
            ID_NUMBER,
            birth_date=core.clock.now().date(),
            sex="女",
            consent_at=core.clock.now(),
        )
        return person_user.id


async def test_mydata_shows_what_is_kept_masked_and_is_audited(core) -> None:
    user_id = await register(core, "hh1")
    text = joined(await ChatDriver(core.dispatcher, user="hh1").say("/mydata"))
    assert "王秀英" in text and "138****5678" in text and "110105********002X" in text
    assert PHONE not in text and ID_NUMBER not in text
    async with core.db.transaction() as session:
        audited = await Repositories.on(session).audit.recent(action="privacy.view")
    assert [e.actor_id for e in audited] == [user_id]


async def test_forgetme_erases_after_confirmation_and_is_audited(core) -> None:
    user_id = await register(core, "hh2")
    chat = ChatDriver(core.dispatcher, user="hh2")
    assert "确定要删除" in joined(await chat.say("/forgetme"))
    assert "已删除" in joined(await chat.press("确认删除"))
    async with core.db.transaction() as session:
        person = (await session.execute(select(Person))).scalar_one()
        identities = await session.scalar(
            select(func.count()).select_from(Identity).where(Identity.user_id == user_id)
        )
        audit = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "privacy.forget"))
        ).scalar_one()
    assert (person.name, person.phone, person.id_number_enc, person.id_hash) == (
        "已注销",
        None,
        None,
        None,
    )
    assert person.user_id is None and identities == 0
    assert audit.actor_id == user_id and audit.details["people"] == 1
    # the next message starts as a stranger, and nothing of the old record shows
    again = joined(await chat.say("/mydata"))
    assert "王秀英" not in again and "138****5678" not in again


async def test_forgetme_keeps_everything_when_declined_or_late(core, clock) -> None:
    await register(core, "hh3")
    chat = ChatDriver(core.dispatcher, user="hh3")
    await chat.say("/forgetme")
    assert "保持不变" in joined(await chat.press("不删除"))
    confirm = await chat.say("/forgetme")
    clock.advance(timedelta(minutes=11))
    chat.last = confirm
    assert "已过期" in joined(await chat.press("确认删除"))
    assert "王秀英" in joined(await chat.say("/mydata"))


async def test_forgetme_cannot_be_typed_or_forged(core) -> None:
    await register(core, "hh4")
    chat = ChatDriver(core.dispatcher, user="hh4")
    replies = await chat.say("/forgetme")
    token = find_token(replies, "确认删除")
    value, _, signature = token.rpartition("~")
    forged = joined(await chat.send(incoming(option=value + "~" + signature[::-1], user="hh4")))
    assert "不属于您" in forged
    other = ChatDriver(core.dispatcher, user="someone-else")
    await other.say("/start")
    assert "不属于您" in joined(await other.send(incoming(option=token, user="someone-else")))
    assert "王秀英" in joined(await chat.say("/mydata"))


async def test_staff_cannot_forget_themselves_in_chat(core) -> None:
    code = await issue_invite(core.db, "staff", county="郏县")
    chat = ChatDriver(core.dispatcher, user="st1")
    await chat.say(f"/bind {code}")
    assert "没有使用这项功能的权限" in joined(await chat.say("/forgetme"))


async def start_app(database_url: str, tmp_path, env: dict[str, str]) -> None:
    settings = load_settings({"CUNZHAN_DATABASE_URL": database_url, **env}, workdir=tmp_path)
    app = CunzhanApp(settings)
    try:
        await app.check_personal_data_key()
    finally:
        await app.db.dispose()


async def test_refuses_to_start_with_id_numbers_and_no_or_wrong_key(
    core, database_url, tmp_path
) -> None:
    await start_app(database_url, tmp_path, {})  # no ID numbers yet: a generated key is fine
    await register(core, "hh5")
    with pytest.raises(SettingsError, match="CUNZHAN_SECRET_KEY"):
        await start_app(database_url, tmp_path, {})
    with pytest.raises(SettingsError, match="does not open"):
        await start_app(database_url, tmp_path, {"CUNZHAN_SECRET_KEY": "another-key"})
    await start_app(database_url, tmp_path, {"CUNZHAN_SECRET_KEY": "test-secret-key"})


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_logs_never_hold_a_full_phone_or_id_number(fmt: str, monkeypatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO", fmt)
        log = logging.getLogger("cunzhan.test")
        log.info("phone %s registered", PHONE, extra={"id_number": ID_NUMBER, "raw": f"x{PHONE}"})
        try:
            raise ValueError(f"bad id {ID_NUMBER.lower()} / ＋86 {PHONE}")
        except ValueError:
            log.exception("failed for %s", ID_NUMBER)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    out = stream.getvalue()
    assert "138****5678" in out and "110105********002X" in out
    for secret in (PHONE, ID_NUMBER, ID_NUMBER.lower(), "19491231"):
        assert secret not in out


def telegram_update(update_id: int, chat: int, text: str) -> dict:
    sender = {"id": chat, "is_bot": False, "first_name": "秀英", "last_name": "王"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1790000000,
            "chat": {"id": chat, "type": "private", "first_name": "秀英"},
            "from": sender,
            "text": text,
        },
    }


def wechat_fields(openid: str, text: str, at: int) -> dict:
    return {
        "fields": {
            "ToUserName": "gh_station",
            "FromUserName": openid,
            "CreateTime": str(at),
            "MsgType": "text",
            "Content": text,
            "MsgId": str(at),
        }
    }


async def test_forgetme_scrubs_the_raw_updates_kept_in_the_inbox(core) -> None:
    user_id = await register(core, "hh7")
    now = core.clock.now()
    secret = f"我的电话是{PHONE}"
    async with core.db.transaction() as session:
        session.add_all(
            [
                Identity(user_id=user_id, channel="telegram", external_id="7001"),
                Identity(user_id=user_id, channel="wechat", external_id="oXiuying"),
            ]
        )
        inbox = Repositories.on(session).inbox
        mine = [
            await inbox.add("telegram", "1:a", telegram_update(1, 7001, secret), now),
            await inbox.add("telegram", "2:b", telegram_update(2, 7001, "王秀英"), now),
            await inbox.add("wechat", "w1", wechat_fields("oXiuying", secret, 1), now),
        ]
        others = [
            # another person whose id contains this one's (7001 in 17001) and a name match
            await inbox.add("telegram", "3:c", telegram_update(3, 17001, "7001"), now),
            await inbox.add("wechat", "w2", wechat_fields("oOther", "oXiuying 王秀英", 2), now),
        ]
        for item_id in mine[:2] + others:
            await inbox.claim(item_id, now=now, replies=[{"text": "收到"}])
    chat = ChatDriver(core.dispatcher, user="hh7")
    await chat.say("/forgetme")
    assert "已删除" in joined(await chat.press("确认删除"))
    async with core.db.transaction() as session:
        rows = {
            i.id: i
            for i in (await session.execute(select(InboxItem).order_by(InboxItem.id))).scalars()
        }
        audit = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "privacy.forget"))
        ).scalar_one()
    for item_id in mine:  # the rows stay (a redelivery is still recognised), emptied
        assert rows[item_id].payload == {"forgotten": True}
        assert rows[item_id].replies is None
    assert [rows[i].key for i in mine] == ["1:a", "2:b", "w1"]
    assert rows[mine[0]].status == "handled" and rows[mine[2]].status == "received"
    for item_id in others:
        assert rows[item_id].payload != {"forgotten": True}
        assert rows[item_id].replies == [{"text": "收到"}]
    assert audit.details["inbox_scrubbed"] == 3
    async with core.db.transaction() as session:
        # a redelivery of a scrubbed update is still recognised as a duplicate
        again = await Repositories.on(session).inbox.add(
            "telegram", "1:a", telegram_update(1, 7001, secret), now
        )
    assert again is None
