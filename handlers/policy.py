"""Policy questions: free text that no other feature claimed lands here.

Until the policy corpus and its answer composer arrive, the handler says so
honestly and keeps the question's route in place.
"""

from __future__ import annotations

from bot.context import Context
from bot.messages import Incoming, Reply
from bot.router import Router

router = Router("policy")
router.menu("menu_ask", "/ask", order=10)


@router.command("ask", aliases=("政策问答",), summary="help_ask")
async def ask_hint(msg: Incoming, ctx: Context) -> list[Reply]:
    """Explain how to ask; ``/ask 问题`` asks directly."""
    if msg.args:
        return await question(msg, ctx)
    return [Reply("policy/ask_hint")]


@router.text()
async def question(msg: Incoming, ctx: Context) -> list[Reply]:
    """Answer a free-text question (placeholder until the Q&A engine lands)."""
    text = " ".join(msg.args) if msg.command else msg.text
    return [Reply("policy/placeholder", {"question_length": len(text)})]
