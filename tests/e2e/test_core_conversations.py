"""Conversations through the real dispatcher and database on each engine: menus, roles,
invites, the profile form, cancel/back, and bad input that must change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.messages import ContentKind
from bot.router import Route
from storage.models import AuditEntry, DialogState, User
from tests.conftest import issue_invite
from tests.factories import ChatDriver, incoming, joined, labels, verify_dialog


async def count(core, model) -> int:
    async with core.db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def user_row(core, external_id: str = "u1") -> User:
    async with core.db.transaction() as session:
        from storage.repositories import Repositories

        user = await Repositories.on(session).users.by_identity("test", external_id)
        assert user is not None
        return user


async def test_start_shows_household_menu_and_help(core) -> None:
    chat = ChatDriver(core.dispatcher)
    replies = await chat.say("/start")
    assert "欢迎使用" in joined(replies)
    assert labels(replies) == ["政策问答", "培训课程", "我的培训", "我的信息", "修改资料", "帮助"]
    again = await chat.say("开始")
    assert "欢迎使用" not in joined(again) and "农户" in joined(again)
    help_text = joined(await chat.say("/help"))
    assert "/me" in help_text and "/bind" in help_text and "/invite" not in help_text
    assert await count(core, User) == 1


async def test_menu_button_runs_its_command(core) -> None:
    chat = ChatDriver(core.dispatcher)
    await chat.say("/start")
    replies = await chat.press("我的信息")
    assert "身份：农户" in joined(replies)


async def test_admin_bound_from_cli_code_sees_admin_menu_and_can_invite(core) -> None:
    admin = ChatDriver(core.dispatcher, user="admin")
    code = await issue_invite(core.db, "admin")
    await verify_dialog(admin, [("/start", "农户"), (f"/bind {code}", "管理员")])
    assert "生成邀请码" in labels(admin.last)
    replies = await admin.say("/invite staff 滑 王庄村")
    text = joined(replies)
    assert "滑县 王庄村" in text and "/bind " in text
    staff_code = text.split("/bind ")[1].strip()
    staff = ChatDriver(core.dispatcher, user="staff")
    await verify_dialog(
        staff, [(f"/bind {staff_code}", ["服务站人员", "滑县", "王庄村"]), ("/me", "滑县 王庄村")]
    )
    # The same code a second time is refused.
    other = ChatDriver(core.dispatcher, user="other")
    await verify_dialog(other, [(f"/bind {staff_code}", "已经被使用过")])
    async with core.db.transaction() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["role.bind", "invite.issue", "role.bind", "invite.refused"]


async def test_non_admin_cannot_reach_admin_actions(core) -> None:
    chat = ChatDriver(core.dispatcher)
    replies = await chat.say("/invite staff")
    assert "没有使用这项功能的权限" in joined(replies)
    assert await count(core, AuditEntry) == 0


async def test_expired_code_and_throttle(core, clock) -> None:
    code = await issue_invite(core.db, "staff", days=1)
    chat = ChatDriver(core.dispatcher)
    clock.advance(timedelta(days=400))  # the invite was issued at the real time
    assert "过期" in joined(await chat.say(f"/bind {code}"))
    clock.set(clock.now() - timedelta(days=400))
    for _ in range(3):
        assert "不正确" in joined(await chat.say("/bind WRONG-CODE1"))
    assert "不正确" in joined(await chat.say("/bind WRONG-CODE2"))
    # Locked now: even the right code is refused until the lockout passes.
    assert "分钟后再试" in joined(await chat.say(f"/bind {code}"))
    clock.advance(timedelta(minutes=16))
    assert "服务站人员" in joined(await chat.say(f"/bind {code.lower().replace('-', ' ')}"))


async def test_profile_form_with_back_cancel_and_reasons(core) -> None:
    chat = ChatDriver(core.dispatcher)
    await verify_dialog(
        chat,
        [
            ("/profile", "怎么称呼"),
            ("", "没有收到文字"),
            ("李大姐", "哪个县"),
            ("火星县", ["没有找到", "哪个县"]),
            ("返回", "怎么称呼"),
            ("王二嫂", "哪个县"),
            ("荣阳", "哪个村"),
            ("跳过", ["已保存", "王二嫂", "荥阳市"]),
        ],
    )
    user = await user_row(core)
    assert (user.display_name, user.county, user.village) == ("王二嫂", "荥阳市", None)
    await verify_dialog(chat, [("/profile", "怎么称呼"), ("取消", "已取消")])
    assert await count(core, DialogState) == 0
    assert (await user_row(core)).display_name == "王二嫂"


async def test_profile_keep_buttons_and_commands_inside_a_form(core) -> None:
    chat = ChatDriver(core.dispatcher)
    await verify_dialog(chat, [("/profile", ""), ("老张", ""), ("滑县", ""), ("王庄村", "已保存")])
    await chat.say("/profile")
    assert "保持不变：老张" in labels(chat.last)
    await chat.press("保持不变")
    replies = await chat.say("/me")  # a command in the middle of a form
    assert "还有“修改资料”没有填完" in joined(replies)
    await verify_dialog(chat, [("[保持不变]", "哪个村"), ("[保持不变]", ["已保存", "王庄村"])])


async def test_stale_and_forged_buttons_change_nothing(core) -> None:
    alice = ChatDriver(core.dispatcher, user="alice")
    bob = ChatDriver(core.dispatcher, user="bob")
    await alice.say("/profile")
    alice_cancel = alice.last[-1]["options"][-1]["token"]
    await bob.say("/start")
    # Bob replays Alice's button: refused, Alice's form untouched.
    replies = await bob.send(incoming(option=alice_cancel, user="bob"))
    assert "不属于您" in joined(replies)
    tampered = alice_cancel.replace("!cancel", "!back")
    assert "不属于您" in joined(await alice.send(incoming(option=tampered, user="alice")))
    assert await count(core, DialogState) == 1
    await alice.say("阿丽")  # moves on; the old step's button is now stale
    assert "已经结束或已经填过" in joined(
        await alice.send(incoming(option=alice_cancel, user="alice"))
    )
    assert await count(core, DialogState) == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (incoming(""), "没有收到文字"),
        (incoming("   \u200b "), "没有收到文字"),
        (incoming("长" * 5000), "消息太长"),
        (incoming("/frobnicate"), "没有“/frobnicate”这个命令"),
        (incoming(kind=ContentKind.STICKER), "只能读文字"),
        (incoming(kind=ContentKind.PHOTO), "收到您的图片"),
        (incoming("😀🎉🙏"), "政策问答"),
        (incoming("'; DROP TABLE users; --"), "政策问答"),
    ],
)
async def test_bad_input_gets_clear_reply_and_changes_nothing(core, message, expected) -> None:
    replies = await ChatDriver(core.dispatcher).send(message)
    assert replies and expected in joined(replies)
    assert await count(core, AuditEntry) == 0
    assert await count(core, DialogState) == 0


async def test_non_text_inside_form_re_asks(core) -> None:
    chat = ChatDriver(core.dispatcher)
    await chat.say("/profile")
    replies = await chat.send(incoming(kind=ContentKind.PHOTO))
    assert "需要用文字回答" in joined(replies) and "怎么称呼" in joined(replies)


async def test_flood_limit_warns_once_then_is_silent(database_url, settings_for) -> None:
    from bot.app import CunzhanApp

    app = CunzhanApp(settings_for(database_url, CUNZHAN_FLOOD_MESSAGES="3"))
    try:
        chat = ChatDriver(app.dispatcher)
        for _ in range(3):
            assert "您好" in joined(await chat.say("/start"))
        assert "太快" in joined(await chat.say("/start"))
        assert await chat.say("/start") == []
        other = ChatDriver(app.dispatcher, user="other")
        assert "欢迎" in joined(await other.say("/start"))
    finally:
        await app.db.dispose()


async def test_handler_error_becomes_polite_reply_with_id(core, caplog) -> None:
    async def boom(msg, ctx):
        raise RuntimeError("boom 13812345678")

    core.services.catalog.commands["boom"] = Route("test.boom", boom)
    replies = await ChatDriver(core.dispatcher).say("/boom")
    text = joined(replies)
    assert "错误编号" in text
    error_id = text.split("错误编号 ")[1].split()[0]
    assert any(getattr(r, "error_id", None) == error_id for r in caplog.records)
