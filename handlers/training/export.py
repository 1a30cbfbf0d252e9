"""The trainee archive as an Excel workbook: one sheet of every registration, one of the
subsidy-eligible trainees. Phones and ID numbers are masked unless ``full`` (an
administrator's export)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from content.filters import mask_id, mask_phone
from storage.models import Person
from storage.repositories.training import ArchiveRow

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    "姓名",
    "性别",
    "出生日期",
    "手机号",
    "身份证号",
    "县",
    "乡镇",
    "村",
    "类别",
    "建档立卡",
    "课程编号",
    "课程",
    "开课时间",
    "报名状态",
    "出勤次数",
    "服务站代报",
    "想学内容",
    "30天回访",
    "90天回访",
    "可申请补贴",
)
SUBSIDY_HEADERS = (
    "姓名",
    "手机号",
    "身份证号",
    "县",
    "乡镇",
    "村",
    "课程",
    "开课时间",
    "出勤次数",
)
STATUS = {"confirmed": "已报名", "waiting": "候补"}
OUTCOME = {
    "shop": "开了网店",
    "selling": "在网上卖货",
    "employed": "在电商企业就业",
    "nothing": "还没有",
}
YES, NO = "是", "否"


def build_workbook(
    rows: Sequence[ArchiveRow],
    *,
    id_number: Callable[[Person], str | None],
    full: bool,
    timezone: str,
) -> bytes:
    """The archive as .xlsx bytes; ``id_number`` reads a person's number (decrypting)."""
    zone = ZoneInfo(timezone)
    book = Workbook(write_only=True)
    archive, subsidy = book.create_sheet("学员档案"), book.create_sheet("补贴名单")
    archive.append(HEADERS)
    subsidy.append(SUBSIDY_HEADERS)
    numbers: dict[int, str] = {}
    for row in rows:
        person = row.person
        if person.id not in numbers:
            number = id_number(person) if person.id_number_enc else None
            numbers[person.id] = (number if full else mask_id(number)) if number else ""
        phone = (person.phone if full else mask_phone(person.phone)) or ""
        starts = row.course.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        eligible = bool(person.poor_registered and row.sessions_attended)
        archive.append(_archive_line(row, phone, numbers[person.id], starts, eligible))
        if eligible:
            subsidy.append(_subsidy_line(row, phone, numbers[person.id], starts))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _archive_line(
    row: ArchiveRow, phone: str, number: str, starts: str, eligible: bool
) -> tuple[object, ...]:
    person, course, reg = row.person, row.course, row.registration
    return (
        person.name,
        person.sex or "",
        person.birth_date.isoformat() if person.birth_date else "",
        phone,
        number,
        person.county or "",
        person.township or "",
        person.village or "",
        person.category or "",
        YES if person.poor_registered else NO,
        course.id,
        course.title,
        starts,
        STATUS.get(reg.status, reg.status),
        row.sessions_attended,
        YES if reg.entered_by is not None else NO,
        "、".join(reg.interests or ()),
        OUTCOME.get(row.outcomes.get(30) or "", ""),
        OUTCOME.get(row.outcomes.get(90) or "", ""),
        YES if eligible else NO,
    )


def _subsidy_line(row: ArchiveRow, phone: str, number: str, starts: str) -> tuple[object, ...]:
    person = row.person
    return (
        person.name,
        phone,
        number,
        person.county or "",
        person.township or "",
        person.village or "",
        row.course.title,
        starts,
        row.sessions_attended,
    )
