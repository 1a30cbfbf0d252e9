"""Policy Q&A in chat: cited answers, follow-ups, the hand-off to staff, the staff answer
delivered through the outbox, and FAQ entries answering later questions."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage, PolicyQuestion
from tests.conftest import issue_invite
from tests.factories import ChatDriver, find_token, incoming, joined, labels, verify_dialog


async def outbox_rows(core) -> list[OutboxMessage]:
    async with core.db.transaction() as session:
        rows = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(rows.scalars())


async def test_answer_with_source_then_more_and_source(core) -> None:
    chat = ChatDriver(core.dispatcher, user="farmer")
    await verify_dialog(
        chat,
        [
            ("服务站的网速得多快才算达标", ["100Mbps", "来源：豫通局〔2020〕47号 附件2"]),
            ("来源", "豫通局〔2020〕47号 附件2（网络覆盖）"),
            ("详细点", "4G网络信号覆盖良好"),
            ("太康县的帮扶谁负责", ["河南联通", "69个", "来源：豫通局〔2020〕47号 附件1"]),
            ("/ask 月报几号前交", "每月25日前"),
        ],
    )
    assert "详细点（看原文）" in labels(chat.last)
    more = joined(await chat.press("详细点"))
    assert "每月25日前书面报至省通信管理局" in more and "三（三）" in more


async def test_follow_up_without_an_answer(core) -> None:
    chat = ChatDriver(core.dispatcher, user="new")
    assert "还没有可以展开的回答" in joined(await chat.say("原文"))


async def test_hand_off_answer_through_outbox_and_faq(core) -> None:
    farmer = ChatDriver(core.dispatcher, user="farmer")
    replies = await farmer.say("俺娘的养老金啥时候能涨")
    declined = joined(replies)
    assert "不在已收录的电商扶贫政策文件范围内" in declined and "来源" not in declined
    token = find_token(replies, "转给工作人员")
    handed = joined(await farmer.send(incoming(option=token, user="farmer")))
    assert "已把您的问题转给工作人员" in handed and "养老金" in handed
    again = joined(await farmer.send(incoming(option=token, user="farmer")))
    assert "编号 1" in again  # a second press queues nothing new

    admin = ChatDriver(core.dispatcher, user="admin")
    code = await issue_invite(core.db, "admin")
    await verify_dialog(
        admin,
        [
            (f"/bind {code}", "管理员"),
            ("/questions", ["待答问题共 1 条", "1. 俺娘的养老金啥时候能涨"]),
            ("/answer 1", "用法"),
            ("/answer 9 不存在", "不是待答问题"),
        ],
    )
    answered = await admin.say("/answer 1 养老金调整请咨询县人社局。")
    assert "已答复问题 1" in joined(answered)
    save = find_token(answered, "存为常见问题")
    await verify_dialog(
        admin,
        [
            ("/answer 1 再答一次", "不是待答问题"),
            ("/questions", "目前没有待答问题"),
        ],
    )
    rows = await outbox_rows(core)
    assert len(rows) == 1 and rows[0].kind == "policy_answer"
    assert "养老金调整请咨询县人社局" in rows[0].text and "来源：工作人员答复" in rows[0].text
    async with core.db.transaction() as session:
        question = (await session.execute(select(PolicyQuestion))).scalar_one()
    assert question.status == "answered" and question.answered_at is not None

    saved = joined(await admin.send(incoming(option=save, user="admin")))
    assert "已存为常见问题" in saved
    assert "已存为常见问题" in joined(await admin.say("/faq 1"))  # idempotent

    neighbour = ChatDriver(core.dispatcher, user="neighbour")
    reply = joined(await neighbour.say("俺娘养老金啥时候涨"))
    assert "养老金调整请咨询县人社局" in reply and "来源：工作人员答复" in reply


async def test_hand_off_button_only_hands_off_its_own_question(core) -> None:
    chat = ChatDriver(core.dispatcher, user="farmer")
    replies = await chat.say("今天郑州下雨吗")
    token = find_token(replies, "转给工作人员")
    await chat.say("服务站的网速得多快才算达标")
    stale = joined(await chat.send(incoming(option=token, user="farmer")))
    assert "重新发一遍" in stale
    async with core.db.transaction() as session:
        assert (await session.execute(select(PolicyQuestion))).first() is None


async def test_staff_commands_are_for_admins(core) -> None:
    chat = ChatDriver(core.dispatcher, user="farmer")
    assert "没有使用这项功能的权限" in joined(await chat.say("/questions"))
    assert "没有使用这项功能的权限" in joined(await chat.say("/answer 1 好的"))


async def test_administrators_hear_of_a_new_question(core) -> None:
    province = ChatDriver(core.dispatcher, user="province")
    county = ChatDriver(core.dispatcher, user="county")
    await province.say(f"/bind {await issue_invite(core.db, 'admin')}")
    await county.say(f"/bind {await issue_invite(core.db, 'admin', county='滑县')}")
    farmer = ChatDriver(core.dispatcher, user="farmer")
    replies = await farmer.say("我的手机13812345678办低保咋办")
    token = find_token(replies, "转给工作人员")
    await farmer.send(incoming(option=token, user="farmer"))
    await farmer.send(incoming(option=token, user="farmer"))  # no second notice
    rows = [r for r in await outbox_rows(core) if r.kind == "policy_question"]
    assert len(rows) == 1  # the province admin; the 滑县 admin serves another county
    assert "编号 1" in rows[0].text and "138****5678" in rows[0].text
    assert "13812345678" not in rows[0].text


async def test_county_admins_see_and_answer_their_county_only(core) -> None:
    county = ChatDriver(core.dispatcher, user="county")
    await county.say(f"/bind {await issue_invite(core.db, 'admin', county='滑县')}")
    farmer = ChatDriver(core.dispatcher, user="farmer")
    token = find_token(await farmer.say("今天郑州下雨吗"), "转给工作人员")
    await farmer.send(incoming(option=token, user="farmer"))
    await verify_dialog(
        county,
        [("/questions", "目前没有待答问题"), ("/answer 1 好的", "不是待答问题")],
    )
    province = ChatDriver(core.dispatcher, user="province")
    await province.say(f"/bind {await issue_invite(core.db, 'admin')}")
    assert "1. 今天郑州下雨吗" in joined(await province.say("/questions"))
