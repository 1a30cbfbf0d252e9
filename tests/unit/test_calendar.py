"""The working-day calendar: holidays and adjusted workdays, and the weekends-only fallback."""

from __future__ import annotations

import logging
from datetime import date

from scheduler.calendar import WorkCalendar


def test_golden_week_and_adjusted_saturday() -> None:
    cal = WorkCalendar()
    assert not cal.is_workday(date(2026, 10, 5))  # Monday in Golden Week
    assert cal.is_workday(date(2026, 10, 10))  # Saturday made a working day
    assert cal.previous_workday(date(2026, 10, 4)) == date(2026, 9, 30)
    assert cal.next_workday(date(2026, 10, 2)) == date(2026, 10, 8)
    assert cal.previous_workday(date(2026, 10, 9)) == date(2026, 10, 9)
    assert cal.covers(2026)


def test_uncovered_year_falls_back_to_weekends_and_warns_once(caplog) -> None:
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="cunzhan.calendar"):
        assert cal.is_workday(date(2031, 1, 1))  # a Wednesday; holidays unknown
        assert not cal.is_workday(date(2031, 1, 4))  # Saturday
        assert cal.previous_workday(date(2031, 1, 5)) == date(2031, 1, 3)
        assert not cal.covers(2031)
    warnings = [r for r in caplog.records if r.name == "cunzhan.calendar"]
    assert len(warnings) == 1 and warnings[0].year == 2031
