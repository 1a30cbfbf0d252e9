"""Reports: submissions and their revisions, excuses, period locks, admins' type overrides,
and the bulk look-ups the reminder round and the admin views need (liaisons, who submitted,
who is excused, where to reach each person)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ExcuseStatus,
    Identity,
    OutboxMessage,
    Report,
    ReportExcuse,
    ReportLock,
    ReportRevision,
    ReportTypeOverride,
    Role,
    User,
)
from storage.upsert import insert_ignore

CHUNK = 900  # stays under SQLite's bound-parameter limit


@dataclass(frozen=True)
class Member:
    """A person expected to report (or to be told about reports): id, name and place."""

    user_id: int
    name: str
    county: str
    village: str


@dataclass(frozen=True)
class RosterRow:
    """One liaison's standing for a period: their report (if any) and whether excused."""

    member: Member
    report: Report | None
    excused: bool


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- types ----------------------------------------------------------------------------
    async def type_overrides(self) -> dict[str, dict[str, Any]]:
        rows = await self.session.execute(
            select(ReportTypeOverride.code, ReportTypeOverride.definition)
        )
        return {code: dict(definition) for code, definition in rows.all()}

    async def set_type_override(
        self, code: str, change: dict[str, Any], *, now: datetime, by: int | None
    ) -> None:
        """Merge ``change`` into the stored override of ``code`` (created if absent)."""
        row = (
            await self.session.execute(
                select(ReportTypeOverride).where(ReportTypeOverride.code == code)
            )
        ).scalar_one_or_none()
        if row is None:
            self.session.add(
                ReportTypeOverride(code=code, definition=change, updated_at=now, updated_by=by)
            )
        else:
            row.definition = {**row.definition, **change}
            row.updated_at, row.updated_by = now, by
        await self.session.flush()

    # -- submissions ----------------------------------------------------------------------
    async def get(self, type_code: str, period: str, county: str, village: str) -> Report | None:
        stmt = select(Report).where(
            Report.type_code == type_code,
            Report.period == period,
            Report.county == county,
            Report.village == village,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def submit(
        self,
        *,
        type_code: str,
        period: str,
        county: str,
        village: str,
        user_id: int,
        figures: dict[str, Any],
        recorded: dict[str, Any],
        late: bool,
        now: datetime,
    ) -> Report:
        """Store a submission: the first makes the report, each later one is an amendment
        (a new revision; the report keeps whether its first submission was late)."""
        values = {
            "type_code": type_code,
            "period": period,
            "county": county,
            "village": village,
            "user_id": user_id,
            "figures": figures,
            "recorded": recorded,
            "version": 1,
            "late": late,
            "first_submitted_at": now,
            "submitted_at": now,
        }
        created = await insert_ignore(
            self.session, Report, values, ["type_code", "period", "county", "village"]
        )
        report = await self.get(type_code, period, county, village)
        assert report is not None
        await self.session.refresh(report)
        if created is None:
            report.version += 1
            report.figures, report.recorded = figures, recorded
            report.user_id, report.submitted_at = user_id, now
        self.session.add(
            ReportRevision(
                report_id=report.id,
                version=report.version,
                user_id=user_id,
                figures=figures,
                recorded=recorded,
                late=late,
                submitted_at=now,
            )
        )
        await self.session.flush()
        return report

    async def revisions(self, report_id: int) -> list[ReportRevision]:
        stmt = (
            select(ReportRevision)
            .where(ReportRevision.report_id == report_id)
            .order_by(ReportRevision.version)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def for_period(
        self, type_code: str, period: str, *, county: str | None = None
    ) -> list[Report]:
        stmt = select(Report).where(Report.type_code == type_code, Report.period == period)
        if county is not None:
            stmt = stmt.where(Report.county == county)
        stmt = stmt.order_by(Report.county, Report.village)
        return list((await self.session.execute(stmt)).scalars())

    async def submitted_places(self, type_code: str, period: str) -> set[tuple[str, str]]:
        """(county, village) of every report of the period."""
        stmt = select(Report.county, Report.village).where(
            Report.type_code == type_code, Report.period == period
        )
        return {(c, v) for c, v in (await self.session.execute(stmt)).all()}

    async def rates_by_period(
        self, type_code: str, periods: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        """(period, county) → number of reports, for a chart over several periods."""
        stmt = (
            select(Report.period, Report.county, func.count())
            .where(Report.type_code == type_code, Report.period.in_(list(periods)))
            .group_by(Report.period, Report.county)
        )
        return {(p, c): n for p, c, n in (await self.session.execute(stmt)).all()}

    async def roster(
        self, type_code: str, period: str, *, county: str | None = None
    ) -> list[RosterRow]:
        """Every liaison (of ``county``) with their village's report and excuse for a period."""
        reports = {
            (r.county, r.village): r
            for r in await self.for_period(type_code, period, county=county)
        }
        excused = await self.excused_users(type_code, period)
        return [
            RosterRow(m, reports.get((m.county, m.village)), m.user_id in excused)
            for m in await self.liaisons(county=county)
        ]

    # -- locks ------------------------------------------------------------------------------
    async def is_locked(self, type_code: str, period: str) -> bool:
        stmt = select(ReportLock.id).where(
            ReportLock.type_code == type_code, ReportLock.period == period
        )
        return (await self.session.execute(stmt)).first() is not None

    async def lock(self, type_code: str, period: str, *, now: datetime, by: int | None) -> bool:
        """True if this call locked the period (False: it was locked already)."""
        values = {"type_code": type_code, "period": period, "locked_at": now, "locked_by": by}
        return (
            await insert_ignore(self.session, ReportLock, values, ["type_code", "period"])
        ) is not None

    # -- excuses ----------------------------------------------------------------------------
    async def request_excuse(
        self,
        *,
        type_code: str,
        period: str,
        member: Member,
        reason: str,
        now: datetime,
    ) -> ReportExcuse:
        """The liaison's request (a repeated one updates the reason of a pending request)."""
        stmt = select(ReportExcuse).where(
            ReportExcuse.type_code == type_code,
            ReportExcuse.period == period,
            ReportExcuse.user_id == member.user_id,
        )
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            row = ReportExcuse(
                type_code=type_code,
                period=period,
                user_id=member.user_id,
                county=member.county,
                village=member.village,
                reason=reason,
                status=ExcuseStatus.PENDING.value,
                created_at=now,
            )
            self.session.add(row)
        elif row.status == ExcuseStatus.PENDING.value:
            row.reason = reason
        await self.session.flush()
        return row

    async def excuse(self, excuse_id: int) -> ReportExcuse | None:
        return await self.session.get(ReportExcuse, excuse_id)

    async def decide_excuse(
        self, excuse_id: int, *, accept: bool, by: int, now: datetime
    ) -> ReportExcuse | None:
        """Decide a pending excuse; None if it is not pending any more."""
        status = ExcuseStatus.ACCEPTED if accept else ExcuseStatus.REJECTED
        result = await self.session.execute(
            update(ReportExcuse)
            .where(
                ReportExcuse.id == excuse_id,
                ReportExcuse.status == ExcuseStatus.PENDING.value,
            )
            .values(status=status.value, decided_by=by, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return None
        row = await self.session.get(ReportExcuse, excuse_id)
        if row is not None:
            await self.session.refresh(row)
        return row

    async def excused_users(self, type_code: str, period: str) -> set[int]:
        stmt = select(ReportExcuse.user_id).where(
            ReportExcuse.type_code == type_code,
            ReportExcuse.period == period,
            ReportExcuse.status == ExcuseStatus.ACCEPTED.value,
        )
        return set((await self.session.execute(stmt)).scalars())

    # -- people -----------------------------------------------------------------------------
    async def liaisons(self, *, county: str | None = None) -> list[Member]:
        """Every liaison with a county and village, ordered by place."""
        stmt = select(User.id, User.display_name, User.county, User.village).where(
            User.role == Role.LIAISON.value, User.county.is_not(None), User.village.is_not(None)
        )
        if county is not None:
            stmt = stmt.where(User.county == county)
        stmt = stmt.order_by(User.county, User.village, User.id)
        return [Member(*row) for row in (await self.session.execute(stmt)).all()]

    async def county_admins(self, counties: Iterable[str] | None = None) -> list[Member]:
        """Administrators bound to a county (all of them, or those of ``counties``)."""
        stmt = select(User.id, User.display_name, User.county, User.village).where(
            User.role == Role.ADMIN.value, User.county.is_not(None)
        )
        if counties is not None:
            stmt = stmt.where(User.county.in_(list(counties)))
        rows = (await self.session.execute(stmt.order_by(User.id))).all()
        return [Member(uid, name, county, village or "") for uid, name, county, village in rows]

    async def reachable(self, user_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """user id → (channel, external id) of the reachable channel each last wrote on."""
        found: dict[int, tuple[str, str, datetime | None, int]] = {}
        for start in range(0, len(user_ids), CHUNK):
            chunk = list(user_ids[start : start + CHUNK])
            stmt = select(
                Identity.user_id,
                Identity.channel,
                Identity.external_id,
                Identity.last_seen_at,
                Identity.id,
            ).where(Identity.user_id.in_(chunk), Identity.unreachable_at.is_(None))
            for uid, channel, external, seen, ident in (await self.session.execute(stmt)).all():
                best = found.get(uid)
                if best is None or _later(seen, ident, best[2], best[3]):
                    found[uid] = (channel, external, seen, ident)
        return {uid: (c, e) for uid, (c, e, _, _) in found.items()}

    async def sent_keys(self, prefix: str, kind: str) -> set[str]:
        """Outbox dedupe keys of ``kind`` that start with ``prefix``."""
        stmt = select(OutboxMessage.dedupe_key).where(
            OutboxMessage.kind == kind,
            OutboxMessage.dedupe_key.startswith(prefix, autoescape=True),
        )
        return {k for k in (await self.session.execute(stmt)).scalars() if k}


def _later(seen: datetime | None, ident: int, other: datetime | None, other_id: int) -> bool:
    if seen is None or other is None:
        return other is None and (seen is not None or ident > other_id)
    return (seen, ident) > (other, other_id)
