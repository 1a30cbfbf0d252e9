"""The Excel export of one report type and period: one sheet, one row per village, the
type's fields in order, each prefilled field beside the figure cunzhan had recorded."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from content.regions import Gazetteer
from content.report_types import ReportType
from storage.repositories import RosterRow

MONEY_FORMAT = "0.00"
HEADINGS = ("city", "county", "village", "liaison", "status", "at", "ver", "recorded")
STATUSES = ("submitted", "late", "excused", "missing")


class Labels(Protocol):
    def label(self, name: str, data: dict[str, Any] | None = None) -> str: ...


def export_words(labels: Labels) -> tuple[dict[str, str], dict[str, str]]:
    """Column headings and status words, from labels.j2 (``report_heading``, ``report_status``)."""
    headings = {k: labels.label("report_heading", {"key": k}) for k in HEADINGS}
    statuses = {k: labels.label("report_status", {"key": k}) for k in STATUSES}
    return headings, statuses


def status_of(row: RosterRow) -> str:
    """submitted | late | excused | missing"""
    if row.report is not None:
        return "late" if row.report.late else "submitted"
    return "excused" if row.excused else "missing"


def period_workbook(
    rtype: ReportType,
    period: str,
    rows: Sequence[RosterRow],
    *,
    regions: Gazetteer,
    labels: Labels,
    timezone: str,
) -> bytes:
    """The period's export as chat and command line make it: each county's city from the
    gazetteer, times in ``timezone``, the words from labels.j2."""
    zone = ZoneInfo(timezone)
    headings, statuses = export_words(labels)

    def city_of(county: str) -> str:
        found = regions.county(county)
        return found.city if found else ""

    return build_workbook(
        rtype,
        period,
        rows,
        city_of=city_of,
        local=lambda t: t.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        headings=headings,
        statuses=statuses,
    )


def build_workbook(
    rtype: ReportType,
    period: str,
    rows: Sequence[RosterRow],
    *,
    city_of: Callable[[str], str],
    local: Callable[[datetime], str],
    headings: dict[str, str],
    statuses: dict[str, str],
) -> bytes:
    """The .xlsx bytes; ``headings`` and ``statuses`` are the Chinese words (from a template)."""
    book = Workbook()
    sheet = book.active
    sheet.title = period
    head = [headings[k] for k in ("city", "county", "village", "liaison", "status", "at", "ver")]
    for spec in rtype.fields:
        head.append(spec.label + (f"（{spec.unit}）" if spec.unit else ""))
        if spec.prefill:
            head.append(headings["recorded"] + spec.label)
    sheet.append(head)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        report = row.report
        line: list[object] = [
            city_of(row.member.county),
            row.member.county,
            row.member.village,
            row.member.name,
            statuses[status_of(row)],
            local(report.submitted_at) if report else "",
            report.version if report else "",
        ]
        money_columns = []
        for spec in rtype.fields:
            sources = [report.figures if report else {}]
            if spec.prefill:
                sources.append(report.recorded if report else {})
            for source in sources:
                value = source.get(spec.key)
                if spec.kind == "money" and value is not None:
                    value = round(value / 100, 2)
                    money_columns.append(len(line) + 1)
                line.append("" if value is None else value)
        sheet.append(line)
        for column in money_columns:
            sheet.cell(row=sheet.max_row, column=column).number_format = MONEY_FORMAT
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
