"""Training jobs: the reminder the day before a course, and the follow-up questions 30 and
90 days after it ends. Both enqueue outbox rows with dedupe keys, so a repeated or
catch-up run never sends anything twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.messages import Option, Reply
from scheduler.jobs.base import JobRuntime, JobSpec
from storage.models import Course, FollowUpOutcome, Priority
from storage.repositories import Repositories

KIND = "training"
REMIND_AHEAD = timedelta(hours=24)
FOLLOW_UP_ROUNDS = (30, 90)
BATCH = 5000  # follow-ups opened per round and run; a backlog is worked off over days


def _course(course: Course) -> dict[str, object]:
    return {
        "id": course.id,
        "title": course.title,
        "county": course.county,
        "place": course.place,
        "starts_at": course.starts_at,
        "ends_at": course.ends_at,
    }


async def remind(rt: JobRuntime, slot: datetime) -> str:
    """Remind every confirmed trainee of a course starting within the next 24 hours."""
    sent = 0
    async with rt.db.transaction() as session:
        repos = Repositories.on(session, rt.pii)
        for reg, course in await repos.training.due_reminders(slot, slot + REMIND_AHEAD):
            assert reg.user_id is not None
            row = await rt.notifier.send(
                repos,
                reg.user_id,
                Reply("training/reminder", _course(course)),
                now=rt.clock.now(),
                kind=KIND,
                priority=Priority.REMINDER,
                dedupe_key=f"trn:remind:{reg.id}:{int(course.starts_at.timestamp())}",
            )
            sent += row is not None
    return f"reminders={sent}"


def outcome_options(followup_id: int) -> tuple[Option, ...]:
    return tuple(
        Option(f"outcome_{o.value}", f"tfu:{followup_id}:{o.value}") for o in FollowUpOutcome
    )


async def follow_up(rt: JobRuntime, slot: datetime) -> str:
    """Put the 30- and 90-day question to trainees who attended; those who do not chat are
    left for staff to ask by phone (/followups lists them)."""
    opened = asked = 0
    now = rt.clock.now()
    async with rt.db.transaction() as session:
        repos = Repositories.on(session, rt.pii)
        for days in FOLLOW_UP_ROUNDS:
            for reg, course in await repos.training.due_followups(days, slot, limit=BATCH):
                followup_id = await repos.training.open_followup(reg.id, days, now=now)
                if followup_id is None:
                    continue
                opened += 1
                if reg.user_id is None:
                    continue
                row = await rt.notifier.send(
                    repos,
                    reg.user_id,
                    Reply(
                        "training/followup_question",
                        {**_course(course), "days": days},
                        outcome_options(followup_id),
                    ),
                    now=now,
                    kind=KIND,
                    priority=Priority.NOTICE,
                    dedupe_key=f"trn:followup:{followup_id}",
                )
                if row is not None:
                    await repos.training.mark_asked_in_chat(followup_id)
                    asked += 1
    return f"followups={opened} asked_in_chat={asked}"


SPECS = (
    JobSpec("training.reminders", remind, timedelta(hours=1)),
    JobSpec("training.followups", follow_up, timedelta(days=1)),
)
