"""Every privileged action is authorised on the server, for each command and each button:
roles are read from the database per message, and button data is signed per person."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from storage.models import AuditEntry, Invite, User
from tests.conftest import issue_invite
from tests.factories import ChatDriver, find_token, incoming, joined

FORBIDDEN = "没有使用这项功能的权限"
FORGED = "已失效或不属于您"


async def admin_chat(core, role: str, *, user: str) -> ChatDriver:
    """A person of ``role`` (bound with an invite code, as in real life)."""
    chat = ChatDriver(core.dispatcher, user=user)
    if role == "household":
        await chat.say("/start")
    else:
        await chat.say(f"/bind {await issue_invite(core.db, role, county='郏县')}")
    return chat


async def privileged_rows(core) -> tuple[int, int]:
    async with core.db.transaction() as session:
        invites = await session.scalar(
            select(func.count()).select_from(Invite).where(Invite.created_by.is_not(None))
        )
        audits = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "invite.issue")
        )
    return invites or 0, audits or 0


@pytest.mark.parametrize("words", ["/invite staff", "/invite admin 郏县", "生成邀请码"])
async def test_non_admins_cannot_run_admin_commands(core, words: str) -> None:
    before = await privileged_rows(core)
    for role in ("household", "staff", "liaison"):
        chat = await admin_chat(core, role, user=f"{role}-{len(words)}")
        assert FORBIDDEN in joined(await chat.say(words)), role
    assert await privileged_rows(core) == before


async def test_a_button_is_rechecked_after_the_role_is_taken_away(core) -> None:
    chat = await admin_chat(core, "admin", user="demoted")
    menu = await chat.say("/start")
    token = find_token(menu, "生成邀请码")
    async with core.db.transaction() as session:
        await session.execute(update(User).values(role="household"))
    chat.last = menu
    assert FORBIDDEN in joined(await chat.press("生成邀请码"))
    assert FORBIDDEN in joined(await chat.send(incoming(option=token, user="demoted")))
    assert await privileged_rows(core) == (0, 0)


async def test_forged_and_borrowed_buttons_are_refused(core) -> None:
    admin = await admin_chat(core, "admin", user="boss")
    token = find_token(await admin.say("/start"), "生成邀请码")
    value, _, signature = token.rpartition("~")
    villager = ChatDriver(core.dispatcher, user="villager")
    await villager.say("/start")
    for forged in (
        token,  # the admin's own button, pressed by someone else
        value,  # unsigned
        f"{value}~{'A' * len(signature)}",  # made-up signature
        f"/invite admin~{signature}",  # another value under a real signature
        "~",
        "\u202e" + token,
    ):
        replies = await villager.send(incoming(option=forged, user="villager"))
        assert FORGED in joined(replies), forged
    assert await privileged_rows(core) == (0, 0)


async def test_forged_callback_over_telegram(fake, telegram_app) -> None:
    fake.inject_message(401, "/start")
    [menu] = await fake.wait_for_sent(1, chat_id=401)
    data = fake.buttons(menu)[0][0][1]
    value = data.rpartition("~")[0]
    fake.inject_callback(401, "/invite admin~" + data.rpartition("~")[2])
    fake.inject_callback(401, value)
    sent = await fake.wait_for_sent(3, chat_id=401)
    assert all(FORGED in m.text for m in sent[1:])
    assert len(fake.callback_answers) == 2  # every press is answered, even refused ones


async def test_a_privileged_form_stops_when_the_role_is_taken_away(
    database_url, settings_for, clock
) -> None:
    from bot.app import CunzhanApp
    from bot.dialogs import Form, Step
    from bot.messages import Reply
    from bot.router import Router
    from handlers import ROUTERS
    from storage.models import Role

    completed: list[dict] = []

    async def finish(ctx, answers):
        completed.append(answers)
        return [Reply("system/empty")]

    secret = Router("secret")
    secret.form(
        Form(
            name="secret_form",
            title="form_profile",
            steps=(Step("word", "forms/profile/ask_display_name", lambda t, c, a: t),),
            on_complete=finish,
            roles=frozenset({Role.ADMIN}),
        )
    )

    @secret.command("secret", roles=(Role.ADMIN,))
    async def start_secret(msg, ctx):
        return await ctx.start_form("secret_form")

    app = CunzhanApp(settings_for(database_url), clock=clock, routers=(secret, *ROUTERS))
    try:
        chat = await admin_chat(app, "admin", user="formadmin")
        assert "称呼" in joined(await chat.say("/secret"))
        async with app.db.transaction() as session:
            await session.execute(update(User).values(role="household"))
        assert FORBIDDEN in joined(await chat.say("机密"))
        assert completed == []
        assert "称呼" not in joined(await chat.say("再试"))  # the form is gone
    finally:
        await app.db.dispose()
