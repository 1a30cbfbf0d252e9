"""The persisted state of the form each person is in (at most one at a time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DialogState


class DialogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> DialogState | None:
        return await self.session.get(DialogState, user_id)

    async def save(
        self,
        user_id: int,
        *,
        form: str,
        step: int,
        answers: dict[str, Any],
        history: list[int],
        now: datetime,
    ) -> DialogState:
        state = await self.session.get(DialogState, user_id)
        if state is None:
            state = DialogState(user_id=user_id, started_at=now)
            self.session.add(state)
        state.form = form
        state.step = step
        # New containers, so that SQLAlchemy sees the JSON columns change.
        state.answers = dict(answers)
        state.history = list(history)
        state.updated_at = now
        await self.session.flush()
        return state

    async def clear(self, user_id: int) -> None:
        await self.session.execute(delete(DialogState).where(DialogState.user_id == user_id))
