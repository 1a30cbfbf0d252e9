"""The trainee archive as an Excel workbook: one sheet of every registration, one of the
subsidy-eligible trainees. Phones and ID numbers are masked unless ``full`` (an
administrator's export)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from content.filters import mask_id, mask_phone
from storage.models import Person
from storage.repositories.training import ArchiveRow


class Words(Protocol):
    """The renderer's side the workbook needs: templates and label macros."""

    def text(self, template: str, data: dict[str, Any] | None = None) -> str: ...

    def label(self, name: str, data: dict[str, Any] | None = None) -> str: ...


def build_workbook(
    rows: Sequence[ArchiveRow],
    *,
    id_number: Callable[[Person], str | None],
    full: bool,
    timezone: str,
    words: Words,
) -> bytes:
    """The archive as .xlsx bytes; ``id_number`` reads a person's number (decrypting);
    every heading and value word comes from the templates through ``words``."""
    zone = ZoneInfo(timezone)
    book = Workbook(write_only=True)
    archive_title, subsidy_title = words.text("training/xlsx_sheets").split("|")
    archive, subsidy = book.create_sheet(archive_title), book.create_sheet(subsidy_title)
    archive.append(words.text("training/xlsx_headers").split("|"))
    subsidy.append(words.text("training/xlsx_subsidy_headers").split("|"))
    yes, no = words.label("yes"), words.label("no")
    numbers: dict[int, str] = {}
    for row in rows:
        person = row.person
        if person.id not in numbers:
            number = id_number(person) if person.id_number_enc else None
            numbers[person.id] = (number if full else mask_id(number)) if number else ""
        phone = (person.phone if full else mask_phone(person.phone)) or ""
        starts = row.course.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        eligible = bool(person.poor_registered and row.sessions_attended)
        line = _archive_line(row, phone, numbers[person.id], starts, eligible, words, yes, no)
        archive.append(line)
        if eligible:
            subsidy.append(_subsidy_line(row, phone, numbers[person.id], starts))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _archive_line(
    row: ArchiveRow,
    phone: str,
    number: str,
    starts: str,
    eligible: bool,
    words: Words,
    yes: str,
    no: str,
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
        yes if person.poor_registered else no,
        course.id,
        course.title,
        starts,
        words.label("registration_status", {"value": reg.status}),
        row.sessions_attended,
        yes if reg.entered_by is not None else no,
        "、".join(reg.interests or ()),
        _outcome(words, row.outcomes.get(30)),
        _outcome(words, row.outcomes.get(90)),
        yes if eligible else no,
    )


def _outcome(words: Words, value: str | None) -> str:
    return words.label("outcome_name", {"value": value}) if value else ""


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
