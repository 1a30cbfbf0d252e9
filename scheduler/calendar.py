"""Working days for reminders: Chinese public holidays and adjusted workdays from the
chinese-calendar package, and a weekends-only fallback for years it does not cover.

The fallback is logged once per year per calendar and never raises, so a reminder job
keeps running on 1 January of a year the package has not been updated for.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("cunzhan.calendar")

SEARCH_LIMIT_DAYS = 31


class WorkCalendar:
    """Built once by scheduler/setup.py (or a test) and handed to jobs in their runtime."""

    def __init__(self) -> None:
        self._uncovered: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if day.year not in self._uncovered:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                self._uncovered.add(day.year)
                log.warning(
                    "holiday calendar does not cover this year; using weekends only",
                    extra={"year": day.year},
                )
        return day.weekday() < 5

    def covers(self, year: int) -> bool:
        """True if holidays (not just weekends) are known for ``year``."""
        if year in self._uncovered:
            return False
        self.is_workday(date(year, 6, 1))
        return year not in self._uncovered

    def previous_workday(self, day: date) -> date:
        """``day`` if it is a working day, else the nearest working day before it."""
        return self._walk(day, -1)

    def next_workday(self, day: date) -> date:
        """``day`` if it is a working day, else the nearest working day after it."""
        return self._walk(day, 1)

    def _walk(self, day: date, step: int) -> date:
        current = day
        for _ in range(SEARCH_LIMIT_DAYS):
            if self.is_workday(current):
                return current
            current += timedelta(days=step)
        return day
