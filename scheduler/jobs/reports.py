"""Report reminders and escalation, run every hour.

For each report type and the periods around today: the reminder stage that is due (3 days
before, 1 day before and the morning of the due day, each moved to the previous working
day; the overdue notice the working day after) goes to every liaison who has neither
reported nor been excused, and with the overdue notice each county administrator gets,
privately, the list of their county's overdue liaisons. A locked period gets nothing.

A round only adds outbox rows with dedupe keys, so running it again (a second process, a
restart, a catch-up after downtime) never sends anything twice; after downtime only the
latest stage that fell due is sent, once, and never in the night (a restart at 02:00
leaves it to the 08:00 round).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import Option, Reply
from bot.notify import Notifier
from content.report_types import (
    REMIND_HOURS,
    Period,
    ReportType,
    load_definitions,
    merge_definitions,
)
from scheduler.calendar import WorkCalendar
from scheduler.jobs.base import JobRuntime, JobSpec
from storage.models import Priority
from storage.repositories import Member, Repositories

log = logging.getLogger("cunzhan.jobs.reports")

REMINDER_KIND = "report_reminder"
ESCALATION_KIND = "report_escalation"
OVERDUE_WINDOW = timedelta(days=7)  # an overdue notice is not started later than this
CHUNK = 500


@dataclass(frozen=True)
class Stage:
    name: str  # d3 | d1 | d0 | overdue
    at: datetime  # UTC
    due: datetime  # the end of the due day, UTC


def stages(
    rtype: ReportType, period: Period, calendar: WorkCalendar, zone: ZoneInfo
) -> list[Stage]:
    """Every reminder stage of ``period`` with its send time."""
    due = rtype.due_date(period)
    due_end = datetime.combine(due + timedelta(days=1), time(0), zone).astimezone(UTC)
    return [
        Stage(name, datetime.combine(day, rtype.remind_at, zone).astimezone(UTC), due_end)
        for name, day in rtype.reminder_days(period, calendar.is_workday)
    ]


def active_stage(
    rtype: ReportType, period: Period, now: datetime, calendar: WorkCalendar, zone: ZoneInfo
) -> Stage | None:
    """The latest stage that fell due by ``now`` and is still worth sending, if any."""
    found = None
    for stage in stages(rtype, period, calendar, zone):
        if stage.at <= now:
            found = stage
    if found is None:
        return None
    if found.name == "overdue":
        return found if now < found.at + OVERDUE_WINDOW else None
    return found if now < found.due else None


async def remind(rt: JobRuntime, slot: datetime) -> str:
    """One round for the hour ``slot`` starts."""
    zone = ZoneInfo(rt.timezone)
    calendar = rt.calendar or WorkCalendar()
    local = slot.astimezone(zone)
    if not REMIND_HOURS[0] <= local.hour < REMIND_HOURS[1]:  # a night-time catch-up waits
        return "quiet hours"
    today = local.date()
    sent = escalated = 0
    async with rt.db.transaction() as session:
        repos = Repositories.on(session, rt.pii)
        types = merge_definitions(load_definitions(), await repos.reports.type_overrides())
        liaisons: list[Member] | None = None
        for rtype in types.values():
            current = rtype.current_period(today)
            for period in (current.shift(-1), current, current.shift(1)):
                stage = active_stage(rtype, period, slot, calendar, zone)
                if stage is None or await repos.reports.is_locked(rtype.code, str(period)):
                    continue
                if liaisons is None:
                    liaisons = await repos.reports.liaisons()
                round_ = Round(rt, repos, rtype, period, stage, now=rt.clock.now())
                pending = await round_.pending(liaisons)
                sent += await round_.remind(pending)
                if stage.name == "overdue":
                    escalated += await round_.escalate(pending)
    return f"reminders={sent} escalations={escalated}"


@dataclass
class Round:
    """One stage of one period of one type."""

    rt: JobRuntime
    repos: Repositories
    rtype: ReportType
    period: Period
    stage: Stage
    now: datetime

    async def pending(self, liaisons: list[Member]) -> list[Member]:
        """Liaisons whose village has not reported and who are not excused."""
        reports = self.repos.reports
        done = await reports.submitted_places(self.rtype.code, str(self.period))
        excused = await reports.excused_users(self.rtype.code, str(self.period))
        return [
            m for m in liaisons if (m.county, m.village) not in done and m.user_id not in excused
        ]

    async def remind(self, pending: list[Member]) -> int:
        prefix = f"rpt:{self.rtype.code}:{self.period}:{self.stage.name}:"
        already = await self.repos.reports.sent_keys(prefix, REMINDER_KIND)
        todo = [m for m in pending if f"{prefix}{m.user_id}" not in already]
        due = self.rtype.due_date(self.period)
        data: dict[str, Any] = {
            "name": self.rtype.name,
            "period": str(self.period),
            "due": due.isoformat(),
            "stage": self.stage.name,
            "days_left": (due - self.stage.at.astimezone(ZoneInfo(self.rt.timezone)).date()).days,
        }
        options = (Option("report_now", "/report"),)
        return await self._enqueue(
            todo,
            lambda m: Reply("reports/reminder", {**data, "who": m.name}, options),
            lambda m: f"{prefix}{m.user_id}",
            REMINDER_KIND,
        )

    async def escalate(self, pending: list[Member]) -> int:
        """Each county administrator gets their county's overdue list, privately."""
        by_county: dict[str, list[Member]] = defaultdict(list)
        for member in pending:
            by_county[member.county].append(member)
        if not by_county:
            return 0
        admins = await self.repos.reports.county_admins(by_county)
        uncovered = set(by_county) - {a.county for a in admins}
        if uncovered:
            log.warning(
                "overdue liaisons in counties without an administrator",
                extra={"type": self.rtype.code, "counties": sorted(uncovered)},
            )
        prefix = f"rpte:{self.rtype.code}:{self.period}:"
        data = {"name": self.rtype.name, "period": str(self.period)}

        def reply(admin: Member) -> Reply:
            overdue = [{"name": m.name, "village": m.village} for m in by_county[admin.county]]
            return Reply(
                "reports/escalation",
                {**data, "county": admin.county, "overdue": overdue},
                (Option("report_overdue", f"/overdue {self.period} {self.rtype.code}"),),
            )

        return await self._enqueue(
            admins, reply, lambda a: f"{prefix}{a.county}:{a.user_id}", ESCALATION_KIND
        )

    async def _enqueue(self, people, reply_for, key_for, kind: str) -> int:
        if not people:
            return 0
        where = await self.repos.reports.reachable([p.user_id for p in people])
        notifier: Notifier = self.rt.notifier
        rows = []
        for person in people:
            address = where.get(person.user_id)
            if address is None:
                continue
            rendered = notifier.render_for(person.user_id, reply_for(person))
            rows.append(
                {
                    **Notifier.row(rendered, person.user_id, address[0], address[1]),
                    "now": self.now,
                    "kind": kind,
                    "priority": Priority.REMINDER,
                    "dedupe_key": key_for(person),
                }
            )
        added = 0
        for start in range(0, len(rows), CHUNK):
            added += len(await self.repos.outbox.enqueue_many(rows[start : start + CHUNK]))
        return added


SPECS = (JobSpec("reports.remind", remind, timedelta(hours=1)),)
