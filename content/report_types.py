"""Report types as data: loading ``report_types.yaml`` (plus admins' overrides), the
period a report covers, its due date and reminder days, and reading the one-line form
(``月报 培训12人 代销8单 3200元``) into field values.

Nothing here touches the database or the clock: callers pass dates and overrides in.
"""

from __future__ import annotations

import calendar as _calendar
import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from content.paths import CONTENT_DIR

DEFAULT_PATH = CONTENT_DIR / "report_types.yaml"
KINDS = frozenset({"number", "money", "text", "choice"})
COVERS = frozenset({"this_month", "last_month"})
PREFILL_SOURCES = {
    "training": ("courses", "registered", "attended", "poor_attended", "leaders_trained"),
    "orders": (
        "purchase_count",
        "purchase_fen",
        "sale_count",
        "sale_fen",
        "households",
        "poor_households",
    ),
}
MAX_FIELDS = 20
REMIND_HOURS = (8, 21)  # reminders are never sent at night (see scheduler/jobs/reports.py)
MONEY_UNITS = {"元": 100, "块": 100, "万元": 1_000_000, "万": 1_000_000}
PERIOD_RE = re.compile(r"^(\d{4})-(\d{1,2})$")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


class ReportTypeError(ValueError):
    """A report type definition that cannot be used; the message says which part."""


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    kind: str
    unit: str = ""
    keyword: str = ""
    prefill: str | None = None
    optional: bool = False
    min: int = 0
    max: int | None = None
    choices: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (kept in a form's answers)."""
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "unit": self.unit,
            "optional": self.optional,
            "choices": list(self.choices),
        }


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month a report covers, written ``2026-10``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period | None:
        m = PERIOD_RE.match(text.strip().replace("/", "-").replace(".", "-"))
        if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
            return None
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def shift(self, months: int) -> Period:
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def day(self, number: int) -> date:
        """Day ``number`` of this month, clamped to its last day."""
        last = _calendar.monthrange(self.year, self.month)[1]
        return date(self.year, self.month, min(number, last))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class ReportType:
    code: str
    name: str
    covers: str
    due_day: int
    fields: tuple[FieldSpec, ...]
    source: str = ""
    role: str = "liaison"
    level: str = "village"
    words: tuple[str, ...] = ()
    remind_days: tuple[int, ...] = (3, 1, 0)
    remind_at: time = time(9, 0)
    overdue_after_days: int = 1

    def due_date(self, period: Period) -> date:
        month = period if self.covers == "this_month" else period.shift(1)
        return month.day(self.due_day)

    def current_period(self, today: date) -> Period:
        """The period being collected on ``today``."""
        here = Period.of(today)
        return here if self.covers == "this_month" else here.shift(-1)

    def last_due_period(self, today: date) -> Period:
        """The latest period whose due date is ``today`` or earlier."""
        period = self.current_period(today)
        while self.due_date(period) > today:
            period = period.shift(-1)
        return period

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def reminder_days(
        self, period: Period, is_workday: Callable[[date], bool]
    ) -> list[tuple[str, date]]:
        """(stage, day) for each reminder of ``period``, in order, each moved to the previous
        working day; then the overdue notice, moved to the next working day."""
        due = self.due_date(period)
        stages = []
        for before in sorted(set(self.remind_days), reverse=True):
            day = due - timedelta(days=before)
            for _ in range(31):
                if is_workday(day):
                    break
                day -= timedelta(days=1)
            stages.append((f"d{before}", day))
        overdue = due + timedelta(days=self.overdue_after_days)
        for _ in range(31):
            if is_workday(overdue):
                break
            overdue += timedelta(days=1)
        stages.append(("overdue", overdue))
        return stages


def _field(raw: Mapping[str, Any], where: str) -> FieldSpec:
    try:
        key, label, kind = str(raw["key"]), str(raw["label"]), str(raw["kind"])
    except KeyError as exc:
        raise ReportTypeError(f"{where}: missing {exc.args[0]}") from exc
    if not CODE_RE.match(key):
        raise ReportTypeError(f"{where}: bad key {key!r}")
    if kind not in KINDS:
        raise ReportTypeError(f"{where}: kind must be one of {sorted(KINDS)}")
    prefill = raw.get("prefill")
    if prefill is not None:
        source, _, name = str(prefill).partition(".")
        if name not in PREFILL_SOURCES.get(source, ()):
            raise ReportTypeError(f"{where}: unknown prefill {prefill!r}")
        if kind not in ("number", "money"):
            raise ReportTypeError(f"{where}: only number and money fields can be prefilled")
    choices = tuple(str(c) for c in raw.get("choices") or ())
    if kind == "choice" and not choices:
        raise ReportTypeError(f"{where}: a choice field needs choices")
    maximum = raw.get("max")
    return FieldSpec(
        key=key,
        label=label,
        kind=kind,
        unit=str(raw.get("unit") or ("元" if kind == "money" else "")),
        keyword=str(raw.get("keyword") or ""),
        prefill=str(prefill) if prefill else None,
        optional=bool(raw.get("optional", False)),
        min=int(raw.get("min", 0)),
        max=int(maximum) if maximum is not None else None,
        choices=choices,
    )


def build_type(raw: Mapping[str, Any]) -> ReportType:
    """A checked ``ReportType`` from one YAML/JSON definition; ``ReportTypeError`` if bad."""
    code = str(raw.get("code", ""))
    if not CODE_RE.match(code):
        raise ReportTypeError(f"bad type code {code!r}")
    covers = str(raw.get("covers", "this_month"))
    if covers not in COVERS:
        raise ReportTypeError(f"{code}: covers must be one of {sorted(COVERS)}")
    try:
        due_day = int(raw["due_day"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportTypeError(f"{code}: due_day must be a day of the month") from exc
    if not 1 <= due_day <= 31:
        raise ReportTypeError(f"{code}: due_day must be between 1 and 31")
    fields = tuple(_field(f, f"{code}.fields[{i}]") for i, f in enumerate(raw.get("fields") or []))
    if not fields or len(fields) > MAX_FIELDS:
        raise ReportTypeError(f"{code}: between 1 and {MAX_FIELDS} fields")
    if len({f.key for f in fields}) != len(fields):
        raise ReportTypeError(f"{code}: field keys must be unique")
    submitter = raw.get("submitter") or {}
    remind = raw.get("remind") or {}
    try:
        hour, minute = (int(x) for x in str(remind.get("at", "09:00")).split(":"))
        at = time(hour, minute)
    except ValueError as exc:
        raise ReportTypeError(f"{code}: remind.at must be HH:MM") from exc
    if not REMIND_HOURS[0] <= at.hour < REMIND_HOURS[1]:
        raise ReportTypeError(f"{code}: remind.at must be between 08:00 and 20:59")
    days = tuple(int(d) for d in remind.get("days_before", (3, 1, 0)))
    if any(not 0 <= d <= 28 for d in days):
        raise ReportTypeError(f"{code}: remind.days_before must be 0..28")
    name = str(raw.get("name") or "")
    if not name:
        raise ReportTypeError(f"{code}: a name is needed")
    return ReportType(
        code=code,
        name=name,
        covers=covers,
        due_day=due_day,
        fields=fields,
        source=str(raw.get("source") or ""),
        role=str(submitter.get("role", "liaison")),
        level=str(submitter.get("level", "village")),
        words=tuple(str(w) for w in raw.get("words") or ()),
        remind_days=days,
        remind_at=at,
        overdue_after_days=max(1, int(remind.get("overdue_after_days", 1))),
    )


def load_definitions(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The raw definitions shipped in ``report_types.yaml``, by code."""
    with open(path or DEFAULT_PATH, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    return {str(d["code"]): d for d in data.get("types") or []}


def merge_definitions(
    shipped: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, ReportType]:
    """Shipped types with admins' overrides applied (a partial dict changes those keys of a
    shipped type; a full definition adds a type). A bad override is a ``ReportTypeError``."""
    merged: dict[str, dict[str, Any]] = {k: copy.deepcopy(dict(v)) for k, v in shipped.items()}
    for code, change in overrides.items():
        base = merged.get(code, {"code": code})
        base.update(copy.deepcopy(dict(change)))
        base["code"] = code
        merged[code] = base
    return {code: build_type(raw) for code, raw in merged.items()}


# -- reading values ------------------------------------------------------------------------


class ValueProblem(ValueError):
    """A value that does not fit its field; ``reason`` names the template to explain it."""

    def __init__(self, reason: str, **data: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


# Without a maximum of its own, a figure is still bounded: one station's month never comes
# near these, and an unbounded 40-digit figure broke the check page (shown rounded) and sums.
MONEY_MAX_YUAN = 100_000_000
NUMBER_MAX = 1_000_000


def parse_amount_fen(text: str) -> int:
    """``3200``, ``3200元``, ``3,200.50``, ``0.32万元`` → fen."""
    compact = re.sub(r"[\s,，]", "", text)
    m = re.fullmatch(r"(\d+(?:\.\d{1,2})?|\d*\.\d+)(万元|万|元|块)?", compact)
    if m is None:
        raise ValueProblem("money")
    try:
        value = Decimal(m.group(1)) * MONEY_UNITS.get(m.group(2) or "元", 100)
    except InvalidOperation as exc:
        raise ValueProblem("money") from exc
    if value != value.to_integral_value():
        raise ValueProblem("money")
    return int(value)


def parse_value(spec: FieldSpec, text: str) -> int | str | None:
    """One answer for ``spec`` (digits already ASCII); ``ValueProblem`` if it does not fit."""
    text = text.strip()
    if spec.kind == "money":
        fen = parse_amount_fen(text)
        limit = spec.max if spec.max is not None else MONEY_MAX_YUAN
        if fen > limit * 100:
            raise ValueProblem("too_big", limit=limit)
        return fen
    if spec.kind == "number":
        compact = re.sub(r"[\s,，]", "", text)
        if spec.unit and compact.endswith(spec.unit):
            compact = compact[: -len(spec.unit)]
        if not compact.isdigit():
            raise ValueProblem("number", unit=spec.unit)
        value = int(compact)
        if value < spec.min:
            raise ValueProblem("too_small", limit=spec.min)
        limit = spec.max if spec.max is not None else NUMBER_MAX
        if value > limit:
            raise ValueProblem("too_big", limit=limit)
        return value
    if spec.kind == "choice":
        for index, choice in enumerate(spec.choices, 1):
            if text in (choice, str(index)):
                return choice
        raise ValueProblem("choice", choices=list(spec.choices))
    limit = spec.max or 200
    if not text:
        raise ValueProblem("empty")
    if len(text) > limit:
        raise ValueProblem("too_long", limit=limit)
    return text


TOKEN_RE = re.compile(
    r"(?P<kw>[^\d\s,，。;；:：]*)[\s:：]*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*"
    r"(?P<unit>万元|万|元|块|[^\d\s,，。;；]?)"
)
SCIENTIFIC_RE = re.compile(r"[-+]?\d+(?:\.\d+)?[eE][-+]?\d+\S*")
LEFTOVER_RE = re.compile(r"[^\s,，。;；:：、]+")


@dataclass
class LineParse:
    """What a one-line report said: values by field key, and the pieces nobody understood."""

    values: dict[str, int | str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    problems: list[tuple[str, ValueProblem]] = field(default_factory=list)


def match_type(text: str, types: Sequence[ReportType]) -> tuple[ReportType, str] | None:
    """The type whose word starts ``text`` (the longest word wins) and the rest of the text."""
    best: tuple[int, ReportType] | None = None
    stripped = text.strip()
    for rtype in types:
        for word in rtype.words:
            if stripped.startswith(word) and (best is None or len(word) > best[0]):
                best = (len(word), rtype)
    if best is None:
        return None
    return best[1], stripped[best[0] :]


def parse_line(rtype: ReportType, text: str) -> LineParse:
    """``培训12人 代销8单 3200元 服务站正常运营 备注：…`` → values by field key."""
    out = LineParse()
    text = text.strip()
    for spec in rtype.fields:
        if spec.kind == "text" and spec.keyword:
            m = re.search(re.escape(spec.keyword) + r"[:：\s]*(.+)$", text)
            if m:
                out.values[spec.key] = m.group(1).strip()[: spec.max or 200]
                text = text[: m.start()]
        elif spec.kind == "choice":
            for choice in spec.choices:
                if choice in text:
                    out.values[spec.key] = choice
                    text = text.replace(choice, " ").replace(spec.keyword, " ", 1)
                    break
    # 1e9元 is not 9元 after an unknown "1e"; nan元, inf元 and other words without a figure
    # are reported back as not understood rather than silently dropped.
    out.unknown.extend(m.group(0) for m in SCIENTIFIC_RE.finditer(text))
    text = SCIENTIFIC_RE.sub(" ", text)
    keyword, done = "", 0
    for m in TOKEN_RE.finditer(text):
        out.unknown.extend(LEFTOVER_RE.findall(text[done : m.start()]))
        done = m.end()
        word = m.group("kw").strip()
        keyword = word or keyword
        unit = m.group("unit").strip()
        spec = _field_for(rtype, keyword, unit)
        piece = m.group(0).strip()
        if spec is None:
            out.unknown.append(piece)
            continue
        number = m.group("num").replace(",", "") + (unit if spec.kind == "money" else "")
        try:
            value = parse_value(spec, number)
        except ValueProblem as problem:
            out.problems.append((spec.key, problem))
            continue
        if value is not None:
            out.values[spec.key] = value
    out.unknown.extend(LEFTOVER_RE.findall(text[done:]))
    return out


def _field_for(rtype: ReportType, keyword: str, unit: str) -> FieldSpec | None:
    numeric = [f for f in rtype.fields if f.kind in ("number", "money") and f.keyword]
    by_word = sorted(
        (f for f in numeric if keyword.endswith(f.keyword)), key=lambda f: -len(f.keyword)
    )
    if not by_word:
        return None
    longest = len(by_word[0].keyword)
    by_word = [f for f in by_word if len(f.keyword) == longest]
    if unit in MONEY_UNITS:
        return next((f for f in by_word if f.kind == "money"), None)
    if unit:
        return next((f for f in by_word if f.kind == "number" and f.unit == unit), None)
    numbers = [f for f in by_word if f.kind == "number"]
    return numbers[0] if len(numbers) == 1 else None
