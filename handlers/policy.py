"""Policy questions: free text that no other feature claimed lands here.

A question is answered from the policy documents (``content.policy``) with its source,
or declined with an offer to hand it to staff.  Follow-ups (详细点 / 原文 / 来源) work on
the person's last answer.  Administrators list open questions (/questions), answer one
(/answer ID 文本) — the asker gets the answer through the outbox — and may keep an answer
as an FAQ entry (/faq ID or the button), which then answers similar questions.
"""

from __future__ import annotations

import hashlib
import re

from bot.context import Context
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from content.filters import mask_personal_numbers
from content.policy.answer import Answer, Faq, PolicyEngine
from storage.models import Role

router = Router("policy")
router.menu("menu_ask", "/ask", order=10)
router.menu("menu_questions", "/questions", roles=(Role.ADMIN,), order=75)

MORE_WORDS = {"详细点", "详细", "详细一点", "详细些", "原文", "全文", "展开", "具体点", "看原文"}
SOURCE_WORDS = {"来源", "出处", "出自哪", "哪个文件", "依据", "出自哪里"}
MAX_QUESTION_CHARS = 500


def compose(
    engine: PolicyEngine, question: str, faqs: list[Faq] | tuple[Faq, ...] = ()
) -> tuple[Answer, Reply]:
    """The answer to ``question`` and the reply that says it (chat and ``cunzhan ask``)."""
    answer = engine.answer(question, faqs)
    if answer.answered:
        return answer, Reply("policy/answer", answer.as_data(), (Option("policy_more", "p:more"),))
    handoff = Option("policy_handoff", f"p:handoff{question_key(question)}")
    options = () if answer.reason == "empty" else (handoff,)
    return answer, Reply("policy/declined", answer.as_data(), options)


def question_key(question: str) -> str:
    """A short fingerprint of a question: a hand-off button only hands off its own question."""
    return hashlib.sha256(question.strip().encode()).hexdigest()[:10]


def _follow_up(text: str) -> str | None:
    word = re.sub(r"[\s。！!？?，,]", "", text)
    if word in MORE_WORDS:
        return "more"
    if word in SOURCE_WORDS:
        return "source"
    return None


@router.command("ask", aliases=("政策问答",), summary="help_ask")
async def ask_hint(msg: Incoming, ctx: Context) -> list[Reply]:
    """Explain how to ask; ``/ask 问题`` asks directly."""
    if msg.args:
        return await question(msg, ctx)
    return [Reply("policy/ask_hint")]


@router.text()
async def question(msg: Incoming, ctx: Context) -> list[Reply]:
    """Answer a free-text question from the documents, or offer to hand it to staff."""
    text = (" ".join(msg.args) if msg.command else msg.text).strip()[:MAX_QUESTION_CHARS]
    follow = _follow_up(text)
    if follow is not None:
        return await _show_last(ctx, follow)
    rows = await ctx.repos.policy.faqs()
    faqs = [Faq(r.id, r.question, r.answer) for r in rows]
    answer, reply = compose(ctx.services.policy, text, faqs)
    await ctx.repos.policy.remember(
        user_id=ctx.user.id,
        question=text,
        answered=answer.answered,
        parts=answer.memo(),
        now=ctx.now,
    )
    return [reply]


async def _show_last(ctx: Context, what: str) -> list[Reply]:
    last = await ctx.repos.policy.last(ctx.user.id)
    if last is None or not last.answered or not last.parts:
        return [Reply("policy/no_last")]
    template = "policy/full" if what == "more" else "policy/source"
    return [Reply(template, {"parts": last.parts})]


@router.option("p")
async def chosen(msg: Incoming, ctx: Context) -> list[Reply]:
    """Buttons: show the full passage, hand the last question to staff, save an FAQ."""
    value = (msg.option or "").split(":", 1)[1]
    if value == "more":
        return await _show_last(ctx, "more")
    if value.startswith("handoff"):
        return await _hand_off(ctx, value.removeprefix("handoff"))
    if value.startswith("faq") and ctx.role is Role.ADMIN:
        return await _save_faq(ctx, value.removeprefix("faq"))
    return [Reply("system/stale_option")]


async def _hand_off(ctx: Context, key: str) -> list[Reply]:
    last = await ctx.repos.policy.last(ctx.user.id)
    if last is None or not last.question or question_key(last.question) != key:
        return [Reply("policy/nothing_to_hand_off")]
    row, created = await ctx.repos.policy.hand_off(
        user_id=ctx.user.id, question=last.question, now=ctx.now
    )
    if created:
        await _tell_admins(ctx, row.id, last.question)
    await ctx.repos.audit.record(
        action="policy.hand_off",
        target_type="policy_question",
        target_id=row.id,
        at=ctx.now,
        actor_id=ctx.user.id,
    )
    return [Reply("policy/handed_off", {"id": row.id, "question": last.question})]


async def _tell_admins(ctx: Context, question_id: int, question: str) -> None:
    """Each administrator for the asker's county (province admins: all) hears of it."""
    notice = Reply(
        "policy/new_question", {"id": question_id, "question": mask_personal_numbers(question)}
    )
    for admin in await ctx.repos.users.by_role(Role.ADMIN):
        if admin.county and admin.county != ctx.user.county:
            continue
        await ctx.notify(
            admin.id,
            notice,
            kind="policy_question",
            dedupe_key=f"policy-q:{question_id}:{admin.id}",
        )


@router.command("questions", aliases=("待答问题",), roles=(Role.ADMIN,), summary="help_questions")
async def questions(msg: Incoming, ctx: Context) -> list[Reply]:
    """The open questions, oldest first."""
    rows = await ctx.repos.policy.open_questions(ctx.user.county)
    if not rows:
        return [Reply("policy/questions_empty")]
    total = await ctx.repos.policy.count_open(ctx.user.county)
    listed = [
        {"id": r.id, "question": mask_personal_numbers(r.question), "created_at": r.created_at}
        for r in rows
    ]
    return [Reply("policy/questions", {"rows": listed, "total": total})]


@router.command("answer", aliases=("答复",), roles=(Role.ADMIN,), summary="help_answer")
async def answer_question(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/answer ID 文本``: answer an open question; the asker gets it via the outbox."""
    if len(msg.args) < 2 or not msg.args[0].isdigit():
        return [Reply("policy/answer_usage")]
    question_id = int(msg.args[0])
    text = " ".join(msg.args[1:]).strip()[: MAX_QUESTION_CHARS * 4]
    if ctx.user.county is not None:  # a county admin answers their own county's askers
        mine = await ctx.repos.policy.open_questions(ctx.user.county, limit=1000)
        if question_id not in {q.id for q in mine}:
            return [Reply("policy/answer_unknown", {"id": question_id})]
    row = await ctx.repos.policy.answer(question_id, text=text, by=ctx.user.id, now=ctx.now)
    if row is None:
        return [Reply("policy/answer_unknown", {"id": question_id})]
    await ctx.notify(
        row.user_id,
        Reply("policy/staff_answer", {"question": row.question, "answer": text}),
        kind="policy_answer",
        dedupe_key=f"policy-answer:{row.id}",
    )
    await ctx.repos.audit.record(
        action="policy.answer",
        target_type="policy_question",
        target_id=row.id,
        at=ctx.now,
        actor_id=ctx.user.id,
    )
    save = Option("policy_save_faq", f"p:faq{row.id}")
    return [Reply("policy/answered", {"id": row.id}, (save,))]


@router.command("faq", roles=(Role.ADMIN,), summary="help_faq")
async def faq(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/faq ID``: keep an answered question and its answer as an FAQ entry."""
    if len(msg.args) != 1 or not msg.args[0].isdigit():
        return [Reply("policy/faq_usage")]
    return await _save_faq(ctx, msg.args[0])


async def _save_faq(ctx: Context, raw_id: str) -> list[Reply]:
    row = await ctx.repos.policy.get(int(raw_id)) if raw_id.isdigit() else None
    if row is None or row.answer is None:
        return [Reply("policy/faq_unknown", {"id": raw_id})]
    existing = await ctx.repos.policy.faq_for_question(row.id)
    if existing is not None:
        return [Reply("policy/faq_saved", {"id": existing.id})]
    entry = await ctx.repos.policy.add_faq(
        question=row.question, answer=row.answer, by=ctx.user.id, now=ctx.now, question_id=row.id
    )
    return [Reply("policy/faq_saved", {"id": entry.id})]
