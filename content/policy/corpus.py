"""The policy corpus: OCR'd documents parsed into documents, a section tree and passages.

Owns the reading of the plain-text policy files (``content/policy/source/*.txt``): the
document number (文号), title, issuing bodies and date of each file, and every paragraph
with the path of headings it sits under (一、 → （一） → 1. and 附件N), so an answer can
cite ``豫通局〔2020〕47号 二（二）``.  OCR damage that would break reading is repaired
here: page breaks inside sentences, spaces between Chinese characters, half-width
punctuation, stray English words and Markdown marks.  Tables are left to ``tables.py``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

CN_NUM = "一二三四五六七八九十"
DOC_NO = re.compile(r"^[\u4e00-\u9fff]{2,10}〔\d{4}〕\d{1,4}\s*号$")
H1 = re.compile(rf"^([{CN_NUM}]{{1,3}})、\s*(.*)$")
H2 = re.compile(rf"^[（(]\s*([{CN_NUM}]{{1,3}})\s*[）)]\s*(.*)$")
H3 = re.compile(r"^(\d{1,2})\s*[.．、]\s*(?!\d(?!\d{3}年))(.*)$")
ANNEX = re.compile(r"^附\s*件\s*(\d)\s*$")
DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日(印发)?$")
PHONE_END = re.compile(r"\d{7,8}$")
SENTENCE_END = "。；！？：”）)》"
CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
# OCR inserted English words between Chinese text; read them as the Chinese they replace.
STRAY_WORDS = {"and": "和", "etc": "等"}
HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！"}
REGIONS = ("河南", "湖南", "云南")


@dataclass(frozen=True)
class Heading:
    """One level of the section tree: its number as printed (``三、``, ``（二）``) and title."""

    number: str
    title: str

    @property
    def key(self) -> str:
        return self.number.rstrip("、.． ")


@dataclass(frozen=True)
class Document:
    file: str
    doc_no: str
    title: str
    issuers: tuple[str, ...]
    date: str | None
    region: str  # 河南 / 湖南 / 云南


@dataclass(frozen=True)
class Passage:
    """A paragraph of a document and the headings above it."""

    id: int
    file: str
    doc_no: str
    path: tuple[Heading, ...]
    text: str
    region: str

    @property
    def section(self) -> str:
        """The citation form of the path: ``三（四）12``, ``附件2``, ``附件1 四``."""
        parts: list[str] = []
        for heading in self.path:
            if heading.number.startswith("附件"):
                parts.append(heading.number + " ")
            else:
                parts.append(heading.key)
        return "".join(parts).strip()

    @property
    def heading(self) -> str:
        """The title of the innermost heading (for display after the section number)."""
        return self.path[-1].title if self.path else ""

    def titles(self) -> str:
        """The headings' words, for search; an opening paragraph's document title is left
        out (its words would match every question about the document)."""
        if len(self.path) == 1 and not self.path[0].number:
            return ""
        return " ".join(h.title for h in self.path)


@dataclass
class Corpus:
    documents: dict[str, Document] = field(default_factory=dict)  # by file name
    passages: list[Passage] = field(default_factory=list)


def clean_line(line: str) -> str:
    """One OCR line, readable: no Markdown, no spaces inside Chinese, full-width punctuation."""
    line = line.replace("**", "").replace("<br>", "").strip()
    line = re.sub(r"^(#+|-)\s+", "", line)
    line = unicodedata.normalize("NFC", line)
    for word, chinese in STRAY_WORDS.items():
        line = re.sub(rf"(?<=[{CJK}])\s*\b{word}\b\s*(?=[{CJK}])", chinese, line)
    for half, full in HALF_TO_FULL.items():
        line = re.sub(rf"(?<=[{CJK}\d])\s*{re.escape(half)}\s*(?=[{CJK}])", full, line)
        line = re.sub(rf"(?<=[{CJK}])\s*{re.escape(half)}\s*(?=[{CJK}\d])", full, line)
    line = re.sub(rf"(?<=[{CJK}])\s*:$", "：", line)
    line = re.sub(rf"(?<=[{CJK}])[ \t\u3000]+(?=[{CJK}\d])", "", line)
    line = re.sub(rf"(?<=[{CJK}\d])[ \t\u3000]+(?=[{CJK}])", "", line)
    return line.strip()


def _heading_title(rest: str) -> tuple[str, str]:
    """Split ``持续加强贫困村电商帮扶。各地……`` into title and body (body may be empty)."""
    match = re.match(r"^([^。：:]{1,40}?)[。：:]\s*(.*)$", rest)
    if match:
        return match.group(1).strip(), (rest if match.group(2) else "")
    return rest.strip(), (rest if len(rest) > 40 else "")


def _paragraphs(raw: str) -> list[str]:
    """Lines cleaned and joined across page breaks (a paragraph ends at sentence punctuation)."""
    lines = [clean_line(x) for x in raw.splitlines()]
    out: list[str] = []
    pending = ""
    for line in lines:
        if not line or set(line) <= set("-|"):
            continue
        if line.startswith("|"):
            if pending:
                out.append(pending)
                pending = ""
            out.append(line)
            continue
        starts_block = bool(
            H1.match(line)
            or H2.match(line)
            or H3.match(line)
            or ANNEX.match(line)
            or DOC_NO.match(line)
            or DATE.match(line)
            or line.startswith(("附件", "联系人", "联系方式", "抄送"))
            or (line.startswith("各") and line.endswith("："))
        )
        broken = (
            pending
            and re.search(rf"[{CJK}\d]$", pending)
            and pending[-1] not in SENTENCE_END
            and not PHONE_END.search(pending)
            and len(pending) > 20
        )
        if broken and not starts_block:
            pending += line
            continue
        if pending:
            out.append(pending)
        pending = line
    if pending:
        out.append(pending)
    return out


def _region(text: str) -> str:
    for region in REGIONS:
        if region in text:
            return region
    return "国家" if "财政部" in text or "国务院" in text else ""


def _header(raw: str) -> tuple[str, tuple[str, ...], str]:
    """Document number, issuing bodies and title from the lines before the salutation."""
    lines = [clean_line(x) for x in raw.splitlines()]
    lines = [x for x in lines if x and not set(x) <= set("-")]
    at = next(i for i, x in enumerate(lines) if DOC_NO.match(x))
    issuers: list[str] = []
    for line in lines[:at]:
        for part in re.split(r"\s+", line):
            part = part.removesuffix("文件").strip()
            if part:
                issuers.append(part)
    title: list[str] = []
    for line in lines[at + 1 :]:
        if line.endswith("：") or line.startswith("各") or H1.match(line):
            break
        title.append(line)
    return re.sub(r"\s+", "", lines[at]), tuple(issuers), "".join(title)


def parse_document(file: str, raw: str, first_id: int = 0) -> tuple[Document, list[Passage]]:
    """Parse one OCR'd policy file into its document record and passages."""
    doc_no, issuers, title = _header(raw)
    region = _region(" ".join(issuers) + title)
    paras = _paragraphs(raw)
    first = next(i for i, p in enumerate(paras) if DOC_NO.match(p)) + 1
    while first < len(paras) and not (paras[first].endswith("：") or H1.match(paras[first])):
        if paras[first].startswith("各"):
            break
        first += 1
    date: str | None = None
    path: list[Heading] = []
    passages: list[Passage] = []
    sub_region = region
    in_annex_list = False
    annex_head: list[str] = []
    skip_title = False
    for para in paras[first:]:
        if para.startswith("|"):
            continue
        annex = ANNEX.match(para)
        if annex:
            path = [Heading(f"附件{annex.group(1)}", "")]
            annex_head = []
            sub_region = region
            continue
        if para.startswith("附件："):
            in_annex_list = True
            continue
        if in_annex_list and re.match(r"^\d\s*[.．]", para):
            continue
        in_annex_list = False
        in_annex = bool(path and path[0].number.startswith("附件"))
        found_date = DATE.match(para)
        if found_date:
            if not in_annex and (date is None or found_date.group(4)):
                date = f"{found_date.group(1)}年{found_date.group(2)}月{found_date.group(3)}日"
            continue
        if in_annex and DOC_NO.match(para):
            path = [Heading(path[0].number, re.sub(r"\s+", "", para))]
            sub_region = _region(" ".join(annex_head)) or region
            skip_title = True
            continue
        if skip_title:
            skip_title = not para.endswith("：")
            continue
        if in_annex and not path[0].title and len(para) < 40:
            annex_head.append(para)
            if not re.fullmatch(r"特急|[\u4e00-\u9fff]*(厅|部|司|室|局|办公室)文件?", para):
                path = [Heading(path[0].number, para)]
            continue
        level, number, rest = _classify(para)
        annex_root = path[:1] if in_annex else []
        if level:
            head, body = _heading_title(rest)
            if not body and rest.endswith("。") and len(head) > 8:
                body = rest
            keep = [h for h in path[len(annex_root) :] if _level(h) < level]
            path = [*annex_root, *keep, Heading(number, head)]
            if not body:
                continue
            text = f"{number}{body}" if level > 1 else body
        else:
            text = para
            if len(para) < 50 and not re.search(r"[。；，：]", para):
                continue  # a title or a line of names (signatures repeated at the end)
        if passages and re.fullmatch(r"[（(][^（()）]*(负责|单位)[^（()）]*[）)]", text):
            last = passages[-1]
            passages[-1] = Passage(
                last.id, last.file, last.doc_no, last.path, last.text + text, last.region
            )
            continue
        passages.append(
            Passage(
                id=first_id + len(passages),
                file=file,
                doc_no=doc_no,
                path=tuple(path) or (Heading("", title),),  # before 一、: under the title
                text=text,
                region=sub_region,
            )
        )
    return Document(file, doc_no, title, issuers, date, region), passages


def _classify(para: str) -> tuple[int, str, str]:
    for level, pattern, fmt in ((1, H1, "{}、"), (2, H2, "（{}）"), (3, H3, "{}.")):
        match = pattern.match(para)
        if match:
            return level, fmt.format(match.group(1)), match.group(2)
    return 0, "", para


def _level(heading: Heading) -> int:
    number = heading.number
    if number.startswith("附件"):
        return 0
    if number.startswith("（"):
        return 2
    if number[0].isdigit():
        return 3
    return 1


def load_folder(folder: Path) -> Corpus:
    """Every ``*.txt`` policy file in ``folder``, in file-name order."""
    corpus = Corpus()
    for path in sorted(folder.glob("*.txt")):
        document, passages = parse_document(
            path.name, path.read_text(encoding="utf-8"), first_id=len(corpus.passages)
        )
        corpus.documents[path.name] = document
        corpus.passages.extend(passages)
    return corpus
