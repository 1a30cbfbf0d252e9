"""Policy Q&A persistence: the hand-off queue, FAQ entries and each person's last answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.policy import PolicyFaq, PolicyLastAnswer, PolicyQuestion, QuestionStatus
from storage.models.user import User


class PolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hand_off(
        self, *, user_id: int, question: str, now: datetime
    ) -> tuple[PolicyQuestion, bool]:
        """Queue ``question`` for staff; the same person's identical open question is reused
        (the flag says whether a new one was queued)."""
        existing = (
            await self.session.execute(
                select(PolicyQuestion).where(
                    PolicyQuestion.user_id == user_id,
                    PolicyQuestion.question == question,
                    PolicyQuestion.status == QuestionStatus.OPEN.value,
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing, False
        row = PolicyQuestion(user_id=user_id, question=question, created_at=now)
        self.session.add(row)
        await self.session.flush()
        return row, True

    @staticmethod
    def _open(county: str | None) -> Select[Any]:
        stmt = select(PolicyQuestion).where(PolicyQuestion.status == QuestionStatus.OPEN.value)
        if county is not None:
            stmt = stmt.join(User, User.id == PolicyQuestion.user_id).where(User.county == county)
        return stmt

    async def open_questions(
        self, county: str | None = None, limit: int = 20
    ) -> list[PolicyQuestion]:
        """Open questions, oldest first; with ``county``, only askers from that county."""
        stmt = self._open(county).order_by(PolicyQuestion.created_at, PolicyQuestion.id)
        return list((await self.session.execute(stmt.limit(limit))).scalars())

    async def count_open(self, county: str | None = None) -> int:
        stmt = select(func.count()).select_from(self._open(county).subquery())
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(self, question_id: int) -> PolicyQuestion | None:
        return await self.session.get(PolicyQuestion, question_id)

    async def answer(
        self, question_id: int, *, text: str, by: int, now: datetime
    ) -> PolicyQuestion | None:
        """Record the answer if the question is still open; None when it was not open."""
        result = await self.session.execute(
            update(PolicyQuestion)
            .where(
                PolicyQuestion.id == question_id,
                PolicyQuestion.status == QuestionStatus.OPEN.value,
            )
            .values(
                status=QuestionStatus.ANSWERED.value,
                answer=text,
                answered_by=by,
                answered_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        row = await self.session.get(PolicyQuestion, question_id)
        if row is not None:
            await self.session.refresh(row)
        return row

    async def add_faq(
        self, *, question: str, answer: str, by: int, now: datetime, question_id: int | None
    ) -> PolicyFaq:
        row = PolicyFaq(
            question=question,
            answer=answer,
            question_id=question_id,
            created_by=by,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def faq_for_question(self, question_id: int) -> PolicyFaq | None:
        rows = await self.session.execute(
            select(PolicyFaq).where(PolicyFaq.question_id == question_id).limit(1)
        )
        return rows.scalar_one_or_none()

    async def faqs(self) -> list[PolicyFaq]:
        rows = await self.session.execute(select(PolicyFaq).order_by(PolicyFaq.id))
        return list(rows.scalars())

    async def remember(
        self,
        *,
        user_id: int,
        question: str,
        answered: bool,
        parts: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        """Keep this person's last question and answer parts (replacing the previous one)."""
        row = await self.session.get(PolicyLastAnswer, user_id)
        if row is None:
            row = PolicyLastAnswer(user_id=user_id)
            self.session.add(row)
        row.question = question
        row.answered = answered
        row.parts = parts
        row.asked_at = now
        await self.session.flush()

    async def last(self, user_id: int) -> PolicyLastAnswer | None:
        return await self.session.get(PolicyLastAnswer, user_id)
