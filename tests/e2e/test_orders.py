"""Agency orders through the real dispatcher on each engine: one line and the guided form,
confirm before save, status changes, audited corrections, cancel, a household's own view,
role refusal, and a restart in the middle of the form."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import Order, Person
from tests.conftest import issue_invite
from tests.factories import ChatDriver, joined, verify_dialog


async def staff_chat(core, user: str = "staff", village: str = "王庄村") -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, "staff", county="滑县", village=village)
    await verify_dialog(chat, [(f"/bind {code}", "服务站人员")])
    return chat


async def count(core, model) -> int:
    async with core.db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_one_line_is_echoed_and_saved_only_after_confirm(core) -> None:
    chat = await staff_chat(core)
    text = joined(await chat.say("代销 苹果 200斤 3.5元/斤 张三 13812345678"))
    assert "苹果" in text and "700.00 元" in text and "138****5678" in text
    assert "13812345678" not in text
    assert await count(core, Order) == 0
    poor = await chat.say("是")
    assert "确认" in joined(poor) and await count(core, Order) == 0
    saved = joined(await chat.press("确认保存"))
    assert "已保存" in saved and "#1" in saved
    assert await count(core, Order) == 1 and await count(core, Person) == 1
