"""Training: courses, registrations with their waiting list, attendance, follow-ups, the
trainee archive, and the monthly figures other features (the liaison report) read.

``monthly_figures`` is the contract the monthly report codes against; everything else
serves handlers/training and scheduler/jobs/training. Nothing here commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ACTIVE_STATUSES,
    Attendance,
    Course,
    CourseStatus,
    FollowUp,
    Person,
    Registration,
    RegistrationStatus,
)
from storage.upsert import insert_ignore

LEADER = "电商带头人"
CONFIRMED = RegistrationStatus.CONFIRMED.value
WAITING = RegistrationStatus.WAITING.value
CANCELLED = RegistrationStatus.CANCELLED.value


@dataclass(frozen=True)
class TrainingFigures:
    """Training in one county (or one village of it) in one calendar month.

    courses: courses held (not cancelled) that started in the month — county-wide, every
    course in the county; for a village, the courses that village's people registered for.
    registered: confirmed registrations of the place's people on those courses.
    attended: of those, the ones present at one session or more.
    poor_attended: attended and 建档立卡.
    leaders_trained: attended and either registered as 电商带头人 or on a course for leaders.
    """

    courses: int
    registered: int
    attended: int
    poor_attended: int
    leaders_trained: int


@dataclass(frozen=True)
class Seats:
    confirmed: int
    waiting: int


@dataclass(frozen=True)
class Enrolled:
    """The outcome of registering: the row, and whether it went on the waiting list."""

    registration: Registration
    waiting_position: int | None  # 1-based place on the waiting list, None if confirmed


@dataclass(frozen=True)
class ArchiveRow:
    """One registration in the trainee archive, as the export writes it."""

    registration: Registration
    person: Person
    course: Course
    sessions_attended: int
    outcomes: dict[int, str | None]  # follow-up round (30/90) -> outcome


@dataclass(frozen=True)
class ArchiveSummary:
    trainees: int
    registrations: int
    attended: int
    poor_attended: int
    by_category: dict[str, int]
    by_course: list[tuple[str, int, int]]  # (title, confirmed, attended)
    by_outcome: dict[str, int]
    unanswered: int


def month_bounds(year: int, month: int, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local calendar month ``year-month`` starts and ends."""
    zone = ZoneInfo(timezone)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class TrainingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _is_postgres(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"

    # -- courses ----------------------------------------------------------------------
    async def create_course(
        self, *, now: datetime, created_by: int | None, **fields: Any
    ) -> Course:
        course = Course(**fields, created_by=created_by, created_at=now, updated_at=now)
        self.session.add(course)
        await self.session.flush()
        return course

    async def course(self, course_id: int) -> Course | None:
        return await self.session.get(Course, course_id)

    async def lock_course(self, course_id: int) -> Course | None:
        """The course, locked for this transaction (seat counting must not race)."""
        stmt = select(Course).where(Course.id == course_id)
        if self._is_postgres:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def upcoming(self, county: str | None, now: datetime, limit: int = 20) -> list[Course]:
        """Open courses not yet over, soonest first; in ``county`` unless it is None."""
        stmt = select(Course).where(Course.status == CourseStatus.OPEN.value, Course.ends_at > now)
        if county is not None:
            stmt = stmt.where(Course.county == county)
        stmt = stmt.order_by(Course.starts_at, Course.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    async def cancel_course(self, course: Course, now: datetime) -> list[Registration]:
        """Cancel the course; the registrations still active, whose people must be told."""
        course.status = CourseStatus.CANCELLED.value
        course.cancelled_at = now
        course.updated_at = now
        stmt = select(Registration).where(
            Registration.course_id == course.id, Registration.status.in_(ACTIVE_STATUSES)
        )
        return list((await self.session.execute(stmt.order_by(Registration.id))).scalars())

    async def seats(self, course_id: int) -> Seats:
        stmt = (
            select(Registration.status, func.count())
            .where(Registration.course_id == course_id, Registration.status.in_(ACTIVE_STATUSES))
            .group_by(Registration.status)
        )
        counts = dict((await self.session.execute(stmt)).all())
        return Seats(counts.get(CONFIRMED, 0), counts.get(WAITING, 0))

    # -- registrations ----------------------------------------------------------------
    async def registration(self, registration_id: int) -> Registration | None:
        return await self.session.get(Registration, registration_id)

    async def duplicate(
        self, course_id: int, *, phone: str | None = None, id_hash: str | None = None
    ) -> Registration | None:
        """An active registration on the course by someone with this phone or ID number."""
        matches = []
        if phone:
            matches.append(Person.phone == phone)
        if id_hash:
            matches.append(Person.id_hash == id_hash)
        if not matches:
            return None
        stmt = (
            select(Registration)
            .join(Person, Person.id == Registration.person_id)
            .where(
                Registration.course_id == course_id,
                Registration.status.in_(ACTIVE_STATUSES),
                or_(*matches),
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active_for_person(self, course_id: int, person_id: int) -> Registration | None:
        stmt = select(Registration).where(
            Registration.course_id == course_id,
            Registration.person_id == person_id,
            Registration.status.in_(ACTIVE_STATUSES),
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_user_on(self, course_id: int, user_id: int) -> Registration | None:
        """This chat user's active registration on the course, if any."""
        stmt = select(Registration).where(
            Registration.course_id == course_id,
            Registration.user_id == user_id,
            Registration.status.in_(ACTIVE_STATUSES),
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def enrol(
        self,
        course: Course,
        person: Person,
        *,
        now: datetime,
        user_id: int | None,
        entered_by: int | None,
        interests: Sequence[str] = (),
    ) -> Enrolled:
        """Confirm a seat if one is free, else queue; call with the course locked."""
        seats = await self.seats(course.id)
        status = CONFIRMED if seats.confirmed < course.capacity and not seats.waiting else WAITING
        stmt = select(Registration).where(
            Registration.course_id == course.id, Registration.person_id == person.id
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            row = Registration(course_id=course.id, person_id=person.id, created_at=now)
            self.session.add(row)
        row.status, row.queued_at, row.cancelled_at, row.promoted_at = status, now, None, None
        row.user_id, row.entered_by, row.interests = user_id, entered_by, list(interests)
        await self.session.flush()
        position = seats.waiting + 1 if status == WAITING else None
        return Enrolled(row, position)

    async def waiting_position(self, registration: Registration) -> int | None:
        if registration.status != WAITING:
            return None
        stmt = select(func.count()).where(
            Registration.course_id == registration.course_id,
            Registration.status == WAITING,
            or_(
                Registration.queued_at < registration.queued_at,
                and_(
                    Registration.queued_at == registration.queued_at,
                    Registration.id <= registration.id,
                ),
            ),
        )
        return int(await self.session.scalar(stmt) or 0)

    async def withdraw(self, registration: Registration, now: datetime) -> list[Registration]:
        """Cancel a registration (course locked by the caller); the people promoted."""
        was_confirmed = registration.status == CONFIRMED
        registration.status = CANCELLED
        registration.cancelled_at = now
        await self.session.flush()
        if not was_confirmed:
            return []
        course = await self.course(registration.course_id)
        assert course is not None
        return await self.promote(course, now)

    async def promote(self, course: Course, now: datetime) -> list[Registration]:
        """Fill free seats from the waiting list in queue order; the rows promoted."""
        if not course.is_open:
            return []
        seats = await self.seats(course.id)
        free = course.capacity - seats.confirmed
        if free <= 0 or not seats.waiting:
            return []
        stmt = (
            select(Registration)
            .where(Registration.course_id == course.id, Registration.status == WAITING)
            .order_by(Registration.queued_at, Registration.id)
            .limit(free)
        )
        promoted = list((await self.session.execute(stmt)).scalars())
        for row in promoted:
            row.status, row.promoted_at = CONFIRMED, now
        await self.session.flush()
        return promoted

    async def of_user(self, user_id: int, now: datetime) -> list[tuple[Registration, Course]]:
        """This person's active registrations on courses not yet over."""
        stmt = (
            select(Registration, Course)
            .join(Course, Course.id == Registration.course_id)
            .where(
                Registration.user_id == user_id,
                Registration.status.in_(ACTIVE_STATUSES),
                Course.ends_at > now,
            )
            .order_by(Course.starts_at, Registration.id)
        )
        return [(r, c) for r, c in (await self.session.execute(stmt))]

    async def completed_by_user(
        self, user_id: int, now: datetime
    ) -> list[tuple[Registration, Course, int]]:
        """This person's courses that are over and that they attended, with sessions attended."""
        attended = (
            select(Attendance.registration_id, func.count().label("n"))
            .group_by(Attendance.registration_id)
            .subquery()
        )
        stmt = (
            select(Registration, Course, attended.c.n)
            .join(attended, attended.c.registration_id == Registration.id)
            .join(Course, Course.id == Registration.course_id)
            .where(
                Registration.user_id == user_id,
                Registration.status == CONFIRMED,
                Course.ends_at <= now,
            )
            .order_by(Course.starts_at.desc(), Registration.id)
        )
        return [(r, c, n) for r, c, n in await self.session.execute(stmt)]

    async def roster(
        self, course_id: int, statuses: Sequence[str] = ACTIVE_STATUSES
    ) -> list[tuple[Registration, Person]]:
        """Registrations on a course with their people: confirmed first, then queue order."""
        stmt = (
            select(Registration, Person)
            .join(Person, Person.id == Registration.person_id)
            .where(Registration.course_id == course_id, Registration.status.in_(list(statuses)))
            .order_by(Registration.status, Registration.queued_at, Registration.id)
        )
        return [(r, p) for r, p in (await self.session.execute(stmt))]

    # -- attendance -------------------------------------------------------------------
    async def mark_attended(
        self, registration_id: int, session_date: date, *, method: str, by: int, now: datetime
    ) -> bool:
        """Record presence at one session; False if it was recorded already."""
        values = {
            "registration_id": registration_id,
            "session_date": session_date,
            "method": method,
            "recorded_by": by,
            "recorded_at": now,
        }
        conflict = ["registration_id", "session_date"]
        return await insert_ignore(self.session, Attendance, values, conflict) is not None

    async def present_on(self, course_id: int, session_date: date) -> set[int]:
        stmt = (
            select(Attendance.registration_id)
            .join(Registration, Registration.id == Attendance.registration_id)
            .where(Registration.course_id == course_id, Attendance.session_date == session_date)
        )
        return set((await self.session.execute(stmt)).scalars())

    async def confirmed_by_phone(self, course_id: int, phone: str) -> list[Registration]:
        stmt = (
            select(Registration)
            .join(Person, Person.id == Registration.person_id)
            .where(
                Registration.course_id == course_id,
                Registration.status == CONFIRMED,
                Person.phone == phone,
            )
        )
        return list((await self.session.execute(stmt)).scalars())

    # -- reminders and follow-ups (scheduled jobs) -----------------------------------
    async def due_reminders(
        self, after: datetime, until: datetime
    ) -> list[tuple[Registration, Course]]:
        """Confirmed registrations of chatting trainees, on open courses starting in
        (after, until]."""
        stmt = (
            select(Registration, Course)
            .join(Course, Course.id == Registration.course_id)
            .where(
                Course.status == CourseStatus.OPEN.value,
                Course.starts_at > after,
                Course.starts_at <= until,
                Registration.status == CONFIRMED,
                Registration.user_id.is_not(None),
            )
            .order_by(Registration.id)
        )
        return [(r, c) for r, c in (await self.session.execute(stmt))]

    async def due_followups(
        self, round_days: int, now: datetime, limit: int = 1000
    ) -> list[tuple[Registration, Course]]:
        """Attended registrations on courses that ended ``round_days`` ago or more and were
        not yet asked this round."""
        attended = exists().where(Attendance.registration_id == Registration.id)
        asked = exists().where(
            FollowUp.registration_id == Registration.id, FollowUp.round_days == round_days
        )
        stmt = (
            select(Registration, Course)
            .join(Course, Course.id == Registration.course_id)
            .where(
                Course.ends_at <= now - timedelta(days=round_days),
                Registration.status == CONFIRMED,
                attended,
                ~asked,
            )
            .order_by(Registration.id)
            .limit(limit)
        )
        return [(r, c) for r, c in (await self.session.execute(stmt))]

    async def open_followup(
        self, registration_id: int, round_days: int, *, now: datetime
    ) -> int | None:
        """Record that a follow-up round is put; None if it already was."""
        values = {
            "registration_id": registration_id,
            "round_days": round_days,
            "asked_at": now,
            "asked_in_chat": False,
        }
        conflict = ["registration_id", "round_days"]
        return await insert_ignore(self.session, FollowUp, values, conflict)

    async def followup(self, followup_id: int) -> FollowUp | None:
        return await self.session.get(FollowUp, followup_id)

    async def mark_asked_in_chat(self, followup_id: int) -> None:
        await self.session.execute(
            update(FollowUp).where(FollowUp.id == followup_id).values(asked_in_chat=True)
        )

    async def unanswered(
        self, county: str | None, limit: int = 30
    ) -> list[tuple[FollowUp, Person, Course]]:
        """Follow-ups put but not answered, oldest first, for trainees of ``county``."""
        stmt = (
            select(FollowUp, Person, Course)
            .join(Registration, Registration.id == FollowUp.registration_id)
            .join(Person, Person.id == Registration.person_id)
            .join(Course, Course.id == Registration.course_id)
            .where(FollowUp.outcome.is_(None))
            .order_by(FollowUp.asked_at, FollowUp.id)
            .limit(limit)
        )
        if county is not None:
            stmt = stmt.where(Person.county == county)
        return [(f, p, c) for f, p, c in (await self.session.execute(stmt))]

    async def count_unanswered(self, county: str | None) -> int:
        stmt = (
            select(func.count())
            .select_from(FollowUp)
            .join(Registration, Registration.id == FollowUp.registration_id)
            .join(Person, Person.id == Registration.person_id)
            .where(FollowUp.outcome.is_(None))
        )
        if county is not None:
            stmt = stmt.where(Person.county == county)
        return int(await self.session.scalar(stmt) or 0)

    # -- archive ----------------------------------------------------------------------
    def _archive_query(self, county: str | None) -> Any:
        stmt = (
            select(Registration, Person, Course)
            .join(Person, Person.id == Registration.person_id)
            .join(Course, Course.id == Registration.course_id)
            .where(Registration.status != CANCELLED)
        )
        if county is not None:
            stmt = stmt.where(Person.county == county)
        return stmt

    async def archive(self, county: str | None) -> list[ArchiveRow]:
        """Every active registration of ``county``'s people (None: all), with attendance and
        follow-up outcomes, in course then registration order."""
        stmt = self._archive_query(county).order_by(Course.starts_at, Course.id, Registration.id)
        rows = (await self.session.execute(stmt)).all()
        ids = [r.id for r, _, _ in rows]
        sessions: dict[int, int] = {}
        outcomes: dict[int, dict[int, str | None]] = {}
        for chunk in _chunks(ids, 5000):
            att = select(Attendance.registration_id, func.count()).where(
                Attendance.registration_id.in_(chunk)
            )
            for reg_id, n in await self.session.execute(att.group_by(Attendance.registration_id)):
                sessions[reg_id] = n
            fu = select(FollowUp.registration_id, FollowUp.round_days, FollowUp.outcome).where(
                FollowUp.registration_id.in_(chunk)
            )
            for reg_id, round_days, outcome in await self.session.execute(fu):
                outcomes.setdefault(reg_id, {})[round_days] = outcome
        return [
            ArchiveRow(r, p, c, sessions.get(r.id, 0), outcomes.get(r.id, {})) for r, p, c in rows
        ]

    async def summary(self, county: str | None) -> ArchiveSummary:
        rows = await self.archive(county)
        confirmed = [row for row in rows if row.registration.status == CONFIRMED]
        attended = [row for row in confirmed if row.sessions_attended]
        courses: dict[int, list[Any]] = {}
        for row in confirmed:
            entry = courses.setdefault(row.course.id, [row.course.title, 0, 0])
            entry[1] += 1
            entry[2] += 1 if row.sessions_attended else 0
        outcomes = Counter(
            outcome for row in rows for outcome in row.outcomes.values() if outcome is not None
        )
        return ArchiveSummary(
            trainees=len({row.person.id for row in rows}),
            registrations=len(rows),
            attended=len(attended),
            poor_attended=sum(1 for row in attended if row.person.poor_registered),
            by_category=dict(Counter(row.person.category or "" for row in rows).most_common()),
            by_course=[tuple(v) for v in courses.values()],  # type: ignore[misc]
            by_outcome=dict(outcomes),
            unanswered=await self.count_unanswered(county),
        )

    async def subsidy_eligible(self, county: str | None) -> list[tuple[Person, Course, int]]:
        """建档立卡 trainees who attended, with the course and sessions attended."""
        attended = (
            select(Attendance.registration_id, func.count().label("n"))
            .group_by(Attendance.registration_id)
            .subquery()
        )
        stmt = (
            select(Person, Course, attended.c.n)
            .select_from(Registration)
            .join(attended, attended.c.registration_id == Registration.id)
            .join(Person, Person.id == Registration.person_id)
            .join(Course, Course.id == Registration.course_id)
            .where(Registration.status == CONFIRMED, Person.poor_registered.is_(True))
            .order_by(Course.starts_at, Person.name, Person.id)
        )
        if county is not None:
            stmt = stmt.where(Person.county == county)
        return [(p, c, n) for p, c, n in (await self.session.execute(stmt))]

    # -- the monthly report's figures -------------------------------------------------
    async def monthly_figures(
        self,
        *,
        county: str,
        village: str | None,
        year: int,
        month: int,
        timezone: str = "Asia/Shanghai",
    ) -> TrainingFigures:
        """Trainees trained in ``county`` (or its ``village``) in local month ``year-month``."""
        start, end = month_bounds(year, month, timezone)
        in_month = and_(
            Course.status == CourseStatus.OPEN.value,
            Course.starts_at >= start,
            Course.starts_at < end,
        )
        place = [Person.county == county]
        if village is not None:
            place.append(Person.village == village)
        attended = exists().where(Attendance.registration_id == Registration.id)
        leader = or_(Person.category == LEADER, Course.audience == LEADER)
        stmt = (
            select(
                func.count(func.distinct(Registration.course_id)),
                func.count(),
                func.count().filter(attended),
                func.count().filter(and_(attended, Person.poor_registered.is_(True))),
                func.count().filter(and_(attended, leader)),
            )
            .select_from(Registration)
            .join(Person, Person.id == Registration.person_id)
            .join(Course, Course.id == Registration.course_id)
            .where(in_month, Registration.status == CONFIRMED, *place)
        )
        row = (await self.session.execute(stmt)).one()
        courses = int(row[0])
        if village is None:
            count = (
                select(func.count()).select_from(Course).where(in_month, Course.county == county)
            )
            courses = int(await self.session.scalar(count) or 0)
        return TrainingFigures(courses, int(row[1]), int(row[2]), int(row[3]), int(row[4]))


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
