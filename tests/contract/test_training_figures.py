"""The contract other features code against: ``repos.training.monthly_figures`` on both
engines, with month edges in local time, villages, cancelled courses and attendance."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage.repositories import Repositories, TrainingFigures

NOW = datetime(2026, 11, 1, tzinfo=UTC)


async def _course(repos: Repositories, starts: datetime, county: str = "滑县", **extra):
    fields = {
        "title": "直播带货",
        "topics": ["直播带货"],
        "county": county,
        "place": "城关镇",
        "starts_at": starts,
        "ends_at": starts.replace(hour=starts.hour + 6),
        "capacity": 10,
        "teacher": "李老师",
        "audience": "农户",
        **extra,
    }
    return await repos.training.create_course(now=NOW, created_by=None, **fields)


async def _trainee(repos, course, name, village, *, poor=False, category="其他", came=False):
    person = await repos.people.create(
        name=name,
        now=NOW,
        created_by=None,
        county="滑县",
        village=village,
        poor_registered=poor,
        category=category,
    )
    enrolled = await repos.training.enrol(course, person, now=NOW, user_id=None, entered_by=None)
    if came:
        day = date(course.starts_at.year, course.starts_at.month, course.starts_at.day)
        await repos.training.mark_attended(
            enrolled.registration.id, day, method="phone", by=None, now=NOW
        )
    return enrolled.registration


async def test_monthly_figures(db) -> None:
    async with db.transaction() as session:
        repos = Repositories.on(session)
        # 2026-11-30 17:00 UTC is 2026-12-01 01:00 in Shanghai: a December course.
        december = await _course(repos, datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
        november = await _course(repos, datetime(2026, 11, 10, 1, 0, tzinfo=UTC))
        leaders = await _course(
            repos, datetime(2026, 11, 20, 1, 0, tzinfo=UTC), audience="电商带头人"
        )
        cancelled = await _course(repos, datetime(2026, 11, 21, 1, 0, tzinfo=UTC))
        await _course(repos, datetime(2026, 11, 22, 1, 0, tzinfo=UTC), county="内黄县")
        await _trainee(repos, november, "甲", "王庄村", poor=True, came=True)
        await _trainee(repos, november, "乙", "王庄村", came=False)
        await _trainee(repos, november, "丙", "李庄村", category="电商带头人", came=True)
        await _trainee(repos, leaders, "丁", "王庄村", came=True)
        gone = await _trainee(repos, leaders, "戊", "王庄村", poor=True, came=True)
        await repos.training.withdraw(gone, NOW)
        await _trainee(repos, cancelled, "己", "王庄村", came=True)
        await repos.training.cancel_course(cancelled, NOW)
        await _trainee(repos, december, "庚", "王庄村", poor=True, came=True)

        figures = repos.training.monthly_figures
        county = await figures(county="滑县", village=None, year=2026, month=11)
        assert county == TrainingFigures(
            courses=2, registered=4, attended=3, poor_attended=1, leaders_trained=2
        )
        village = await figures(county="滑县", village="王庄村", year=2026, month=11)
        assert village == TrainingFigures(2, 3, 2, 1, 1)
        assert await figures(county="滑县", village="李庄村", year=2026, month=11) == (
            TrainingFigures(1, 1, 1, 0, 1)
        )
        assert await figures(county="滑县", village=None, year=2026, month=12) == (
            TrainingFigures(1, 1, 1, 1, 0)
        )
        assert await figures(county="滑县", village="张庄村", year=2026, month=10) == (
            TrainingFigures(0, 0, 0, 0, 0)
        )
