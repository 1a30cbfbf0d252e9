"""Report types as data: the shipped YAML, validation of admins' changes, periods and due
dates, reminder days around holidays, and reading the one-line report."""

from __future__ import annotations

from datetime import date

import pytest

from content.report_types import (
    Period,
    ReportTypeError,
    ValueProblem,
    load_definitions,
    match_type,
    merge_definitions,
    parse_amount_fen,
    parse_line,
    parse_value,
)
from scheduler.calendar import WorkCalendar


@pytest.fixture
def types():
    return merge_definitions(load_definitions(), {})


def test_shipped_types_follow_the_documents(types) -> None:
    progress, demo = types["progress"], types["demo_county"]
    assert progress.source == "豫通局〔2020〕47号" and progress.due_date(Period(2026, 10)) == date(
        2026, 10, 25
    )
    assert demo.source == "豫商体系〔2020〕25号"
    assert demo.due_date(Period(2026, 10)) == date(2026, 11, 5)  # previous month, by the 5th
    assert demo.current_period(date(2026, 11, 3)) == Period(2026, 10)
    assert progress.last_due_period(date(2026, 11, 2)) == Period(2026, 10)
    assert demo.last_due_period(date(2026, 11, 2)) == Period(2026, 9)
    assert Period(2026, 12).shift(1) == Period(2027, 1) and Period.parse("2026-13") is None
    assert Period(2026, 2).day(31) == date(2026, 2, 28)


def test_overrides_change_a_due_day_add_a_type_and_refuse_nonsense() -> None:
    shipped = load_definitions()
    changed = merge_definitions(shipped, {"progress": {"due_day": 20}})
    assert changed["progress"].due_day == 20 and len(changed["progress"].fields) == 9
    added = {
        "x_report": {
            "name": "新报表",
            "due_day": 3,
            "fields": [{"key": "qty", "label": "数量", "kind": "number"}],
        }
    }
    assert "x_report" in merge_definitions(shipped, added)
    bad = [
        {"progress": {"due_day": 0}},
        {"progress": {"covers": "next_year"}},
        {"progress": {"fields": [{"key": "a", "label": "甲", "kind": "photo"}]}},
        {
            "progress": {
                "fields": [{"key": "a", "label": "甲", "kind": "number", "prefill": "x.y"}]
            }
        },
        {"progress": {"fields": [{"key": "a", "label": "甲", "kind": "choice"}]}},
        {"progress": {"remind": {"at": "nine"}}},
        {"progress": {"remind": {"at": "22:00"}}},
    ]
    for change in bad:
        with pytest.raises(ReportTypeError):
            merge_definitions(shipped, change)


def test_reminder_days_move_to_working_days(types) -> None:
    cal = WorkCalendar()
    days = dict(types["progress"].reminder_days(Period(2026, 10), cal.is_workday))
    # Due Sunday 25 October: 1-day and due-day reminders on Friday the 23rd.
    assert days == {
        "d3": date(2026, 10, 22),
        "d1": date(2026, 10, 23),
        "d0": date(2026, 10, 23),
        "overdue": date(2026, 10, 26),
    }
    # Uncovered year: weekends only, no crash. Due Tue 25 May 2027 (3 days before is Saturday).
    days = dict(types["progress"].reminder_days(Period(2027, 5), cal.is_workday))
    assert days["d3"] == date(2027, 5, 21) and days["d0"] == date(2027, 5, 25)


def test_one_line_reports(types) -> None:
    progress = types["progress"]
    found = match_type("月报 培训12人 代销8单 3200元", list(types.values()))
    assert found is not None and found[0].code == "progress"
    assert match_type("示范县月报 培训3人", list(types.values()))[0].code == "demo_county"
    assert match_type("你好", list(types.values())) is None
    parsed = parse_line(progress, "培训12人 代销8单 3200元")
    assert parsed.values == {"trained": 12, "sale_count": 8, "sale_amount": 320000}
    parsed = parse_line(progress, "代购3单1,200.5元，培训2期，贫困户4户 备注：一切正常 10斤")
    assert parsed.values == {
        "notes": "一切正常 10斤",
        "purchase_count": 3,
        "purchase_amount": 120050,
        "courses": 2,
        "poor_households": 4,
    }
    parsed = parse_line(progress, "苹果5箱 代销-")
    assert parsed.values == {} and parsed.unknown == ["苹果5箱", "代销-"]
    demo = types["demo_county"]
    parsed = parse_line(demo, "服务站暂停运营 上行0.5万元")
    assert parsed.values == {"station_status": "暂停运营", "upstream_sales": 500000}


def test_values_are_checked() -> None:
    progress = merge_definitions(load_definitions(), {})["progress"]
    trained = progress.field("trained")
    assert parse_value(trained, "12人") == 12
    for text, reason in (("1.5", "number"), ("-1", "number"), ("100001", "too_big")):
        with pytest.raises(ValueProblem) as problem:
            parse_value(trained, text)
        assert problem.value.reason == reason
    assert parse_amount_fen("3,200.50元") == 320050 and parse_amount_fen("0.32万元") == 320000
    with pytest.raises(ValueProblem):
        parse_amount_fen("3.333")
