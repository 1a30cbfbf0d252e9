"""The tables of 豫通局〔2020〕47号 as data: 附件1 (tasks per county) and 附件2 (station standard).

The OCR shifted columns (a county in the city column, a figure in the subtotal column)
and misread names (荣阳, 澠池, 郟县).  Rows are read by what each cell *is* rather than
where it sits: the operator (河南移动/联通/电信), names (a city or a county, told apart by
the gazetteer, which also corrects the names), and figures (the first is the county's
villages, a second one the city subtotal).  A row without a figure records the villages
as unknown.  ``check()`` compares the rows with the totals the document states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from content.regions import Gazetteer

OPERATORS = ("河南移动", "河南联通", "河南电信")


@dataclass(frozen=True)
class VillageTask:
    """One row of 附件1: the operator responsible for a county's assisted villages."""

    seq: int
    operator: str  # 河南移动 / 河南联通 / 河南电信
    city: str  # 省辖市, or the 省直管县(市) itself
    county: str  # canonical name (荥阳市, 渑池县)
    printed: str  # the name as the OCR printed it (荣阳)
    villages: int | None  # None: not legible in the source
    subtotal: int | None = None  # the city's 小计 when this row prints it


@dataclass(frozen=True)
class StandardItem:
    """One item of 附件2, the service-station standard."""

    category: str  # 基础设施条件 / 服务内容
    item: str  # 网络覆盖, 电商培训 ...
    text: str


@dataclass(frozen=True)
class TotalCheck:
    operator: str  # an operator, or 合计
    stated: int | None
    rows_sum: int
    unknown: tuple[str, ...]  # counties whose figure is not legible

    @property
    def consistent(self) -> bool:
        """Legible rows add up to the stated total (exactly, or short by the unknown rows)."""
        if self.stated is None:
            return False
        if self.unknown:
            return self.rows_sum < self.stated
        return self.rows_sum == self.stated


@dataclass
class Tables:
    tasks: list[VillageTask] = field(default_factory=list)
    stated: dict[str, int] = field(default_factory=dict)  # operator or 合计 → stated total
    standard: list[StandardItem] = field(default_factory=list)
    file: str = ""  # the document file the tables were read from

    def check(self) -> list[TotalCheck]:
        """Each operator's rows against its 小计, and all rows against the 合计."""
        out = []
        for operator in OPERATORS:
            rows = [t for t in self.tasks if t.operator == operator]
            out.append(_check(operator, self.stated.get(operator), rows))
        out.append(_check("合计", self.stated.get("合计"), self.tasks))
        return out

    def task(self, county: str) -> VillageTask | None:
        return next((t for t in self.tasks if t.county == county), None)

    def of_operator(self, operator: str) -> list[VillageTask]:
        return [t for t in self.tasks if t.operator == operator]

    def of_city(self, city: str) -> list[VillageTask]:
        return [t for t in self.tasks if t.city == city]

    def city_subtotal(self, city: str) -> tuple[int | None, bool]:
        """The 小计 the table prints for ``city``, and whether its legible rows add up to it
        (OCR garbled several 小计 figures; the county rows are what the totals confirm)."""
        rows = self.of_city(city)
        printed = next((t.subtotal for t in rows if t.subtotal is not None), None)
        if printed is None or any(t.villages is None for t in rows):
            return printed, False
        return printed, sum(t.villages for t in rows if t.villages is not None) == printed


def _check(operator: str, stated: int | None, rows: list[VillageTask]) -> TotalCheck:
    known = sum(t.villages for t in rows if t.villages is not None)
    unknown = tuple(t.county for t in rows if t.villages is None)
    return TotalCheck(operator, stated, known, unknown)


def _cells(line: str) -> list[str]:
    cells = [re.sub(r"\s+|<br>", "", c) for c in line.strip().strip("|").split("|")]
    return cells


def _section(raw: str, start: str, stop: str | None) -> list[str]:
    lines = raw.splitlines()
    begin = next(i for i, x in enumerate(lines) if re.match(start, x.strip()))
    end = len(lines)
    if stop:
        end = next(
            (i for i, x in enumerate(lines[begin + 1 :], begin + 1) if re.match(stop, x.strip())),
            end,
        )
    return [x for x in lines[begin:end] if x.strip().startswith("|")]


def parse_tasks(raw: str, regions: Gazetteer) -> tuple[list[VillageTask], dict[str, int]]:
    """附件1 rows and stated totals from the OCR text of 豫通局〔2020〕47号."""
    tasks: list[VillageTask] = []
    stated: dict[str, int] = {}
    operator = city = ""
    for line in _section(raw, r"^#*\s*附\s*件\s*1\s*$", r"^#*\s*附\s*件\s*2\s*$"):
        cells = [c for c in _cells(line) if c]
        if not cells or cells[0] == "序号" or set("".join(cells)) <= set("-:"):
            continue
        ops = [c for c in cells if c in OPERATORS]
        if ops:
            operator = ops[0]
        numbers = [int(c) for c in cells if c.isdigit()]
        names = [c for c in cells if not c.isdigit() and c not in OPERATORS]
        if names and names[0] in ("小计", "合计"):
            if names[0] == "合计":
                stated["合计"] = numbers[-1]
            else:
                stated[operator] = numbers[-1]
            continue
        seq, numbers = numbers[0], numbers[1:]
        county_name = printed = ""
        for name in names:
            own_city = regions.city(name)
            county = regions.county(name)
            if own_city is not None and county is None:
                city = own_city
            elif county is not None:
                county_name, printed = county.name, name
                if county.directly_managed and len(numbers) >= 2 and numbers[0] == numbers[1]:
                    city = county.name  # listed in the 省直管县(市) column as its own unit
            else:
                raise ValueError(f"附件1 row {seq}: unknown place {name!r}")
        if not county_name:
            raise ValueError(f"附件1 row {seq}: no county in {cells}")
        villages = numbers[0] if numbers else None
        subtotal = numbers[1] if len(numbers) >= 2 else None
        tasks.append(VillageTask(seq, operator, city, county_name, printed, villages, subtotal))
    return tasks, stated


def parse_standard(raw: str) -> list[StandardItem]:
    """附件2 items (category, item, standard) from the OCR text of 豫通局〔2020〕47号."""
    items: list[StandardItem] = []
    category = ""
    for line in _section(raw, r"^#*\s*附\s*件\s*2\s*$", None):
        cells = _cells(line)
        if len(cells) < 3 or cells[0] == "建设内容" or set("".join(cells)) <= set("-:"):
            continue
        category = cells[0] or category
        item, text = cells[1], "".join(cells[2:])
        if item and text:
            items.append(StandardItem(category, item, text))
    return items


def parse_tables(raw: str, regions: Gazetteer) -> Tables:
    tasks, stated = parse_tasks(raw, regions)
    return Tables(tasks=tasks, stated=stated, standard=parse_standard(raw))


CONTACT_LINE = re.compile(
    r"^(?:联系人|联系方式)?\s*[：:]?\s*(省[^\s\d：:]{1,10}?(?:厅|局|办|委|社))\s*"
    r"([\u4e00-\u9fff][\u4e00-\u9fff ]{0,4}?)?\s*(?:电话\s*[：:])?\s*"
    r"((?:0\d{2,3}\s*[—–-]\s*)?\d{7,8})\s*$"
)


@dataclass(frozen=True)
class Contact:
    """A contact line of a document: unit, person (may be empty) and phone number."""

    unit: str
    person: str
    phone: str
    doc_no: str
    file: str
    section: str
    line: str


def parse_contacts(raw: str, doc_no: str, file: str) -> list[Contact]:
    """Every ``省X厅 姓名 电话`` line; the section is ``联系人`` or ``附件N 联系人``."""
    out: list[Contact] = []
    annex = ""
    label = "联系人"
    for line in raw.splitlines():
        text = line.strip().replace("**", "")
        heading = re.match(r"^#*\s*附\s*件\s*(\d)\s*$", text)
        if heading:
            annex = f"附件{heading.group(1)} "
            continue
        match = CONTACT_LINE.match(text)
        if not match:
            continue
        phone = re.sub(r"\s+", "", match.group(3)).replace("—", "-").replace("–", "-")
        person = re.sub(r"\s+", "", match.group(2) or "")
        if text.startswith(("联系人", "联系方式")):
            label = text[:4] if text.startswith("联系方式") else "联系人"
        out.append(Contact(match.group(1), person, phone, doc_no, file, f"{annex}{label}", text))
    return out
