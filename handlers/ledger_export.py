"""The Excel 台账 of one station (or county) and month, built with openpyxl.

Pure: it takes the rows and the already-rendered words (title, column headers, labels)
and returns the .xlsx bytes; the handler decides who gets full phone numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from content.filters import mask_phone

MONEY_FORMAT = "#,##0.00"
Label = Callable[[str, dict[str, Any]], str]


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100


def build_workbook(
    *,
    title: str,
    headers: Sequence[str],
    summary_labels: Sequence[str],
    rows: Sequence[dict[str, Any]],
    totals: dict[str, int],
    full_phones: bool,
    timezone: str,
    label: Label,
) -> bytes:
    """Sheet 1: one line per order (cancelled ones marked); sheet 2: the month's figures."""
    book = Workbook()
    sheet = book.active
    sheet.title = label("xlsx_sheet_orders", {})
    _title(sheet, title)
    sheet.append(list(headers))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    zone = ZoneInfo(timezone)
    for row in rows:
        sheet.append(_order_line(row, full_phones, zone, label))
    for column in (7, 8):
        for (cell,) in sheet.iter_rows(min_row=3, min_col=column, max_col=column):
            cell.number_format = MONEY_FORMAT
    for index, width in enumerate(COLUMN_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    _summary_sheet(
        book.create_sheet(label("xlsx_sheet_summary", {})), title, summary_labels, totals
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


COLUMN_WIDTHS = (7, 11, 6, 16, 9, 6, 10, 12, 10, 14, 9, 12, 8, 17, 17, 17, 17, 24)


def _title(sheet: Worksheet, title: str) -> None:
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)


def _order_line(row: dict[str, Any], full_phones: bool, zone: ZoneInfo, label: Label) -> list[Any]:
    def when(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    phone = row["phone"] if full_phones else mask_phone(row["phone"])
    return [
        row["id"],
        row["ledger_date"],
        label("order_kind", {"name": row["kind"]}),
        row["product"],
        float(Decimal(row["quantity"])),
        row["unit"],
        _yuan(row["unit_price_fen"]),
        _yuan(row["total_fen"]),
        row["name"],
        phone or "",
        label("yes", {}) if row["poor"] else label("no", {}),
        row["platform"] or "",
        label("order_status", {"name": row["status"]}),
        when(row["created_at"]),
        when(row["shipped_at"]),
        when(row["completed_at"]),
        when(row["cancelled_at"]),
        row["note"] or "",
    ]


def _summary_sheet(
    sheet: Worksheet, title: str, names: Sequence[str], totals: dict[str, int]
) -> None:
    _title(sheet, title)
    values = (
        totals["purchase_count"],
        _yuan(totals["purchase_fen"]),
        totals["sale_count"],
        _yuan(totals["sale_fen"]),
        totals["households"],
        totals["poor_households"],
    )
    for name, value in zip(names, values, strict=True):
        sheet.append([name, value])
    for row_index in (3, 5):
        sheet.cell(row=row_index, column=2).number_format = MONEY_FORMAT
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 16
