"""The answer composer: a question in everyday words → a short, cited extract, or a decline.

Order of the checks: staff FAQ entries; questions the documents cannot answer (other
provinces, topics outside the policies, plans after 2020); phone numbers and contact
persons; 附件1 look-ups (a county's operator and villages, a city's counties, an
operator's total); then retrieval over sentences, with question-type boosts (numbers,
deadlines, lists) and comparisons across provinces answered one province per part.
Answers quote the source and carry its citation; nothing is generated, so every number
in an answer is a number of the documents.  Low confidence is a decline, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from content.policy.corpus import Corpus, Heading, Passage
from content.policy.search import Index, Lexicon, Segmenter, Unit, normalise, split_sentences
from content.policy.tables import Contact, Tables
from content.regions import Gazetteer

REGIONS = ("河南", "湖南", "云南")
NUMBER_Q = re.compile(r"几|多少|比例|百分|率|多大|多快|多长|多高|数")
DEADLINE_Q = re.compile(r"啥时|什么时|几号|哪天|何时|截止|期限|多久|几月|哪年|啥日子|时间")
LIST_Q = re.compile(
    r"哪[两三四五六七八九十几]|哪些|都有啥|有啥|包括|都教啥|啥东西|什么内容|哪几|都有什么|都是啥|啥内容"
)
META_Q = re.compile(
    r"印发|发布|出台|发文|下发|文号|几号文|哪个部门发|谁发的|落款|签发|哪些单位发"
    r"|(哪天|啥时候|什么时候|哪年|何时|几号)发"
)
STANDARD_Q = re.compile(
    r"(服务站|服务点|电商站).{0,8}(标准|要求|条件|规定)|(标准|要求|条件).{0,6}(服务站|服务点)"
    r"|建.{0,3}(服务站|服务点)"
)
STANDARD_GENERIC = frozenset(
    re.split(
        r"\s+",
        "服务站 电商服务站 服务点 电商站 站点 标准 建设标准 建站 要求 条件 规定 建设 建 达标 "
        "村 俺村 贫困村 电商 想 建个 想建个 有啥 啥 什么 哪些 具体 都 一个 个",
    )
)
CONTACT_Q = re.compile(r"电话|联系|号码|手机号|找谁|座机")
BOILERPLATE = re.compile(
    r"印发给你们|请结合实际|通知如下|特提出以下|制定本(方案|行动计划)|现将.*印发|抓好贯彻落实"
)
COMPARE_Q = re.compile(r"各|分别|一样|区别|不同|对比|比较|相比|还是")
TABLE_Q = re.compile(
    r"帮扶|贫困村|几个村|多少个村|多少村|谁负责|哪家|运营商|负责|谁管|哪个公司|任务|移动|联通|电信|管"
)
DAY_Q = re.compile(r"几号|哪天|几月几|截止|期限|几日|哪一天")
DATE_UNIT = re.compile(r"\d{4}年|前|每月|每年")
DATE_EXACT = re.compile(
    r"(?:到|于|在)\d{4}年|\d+月\d+日|\d+日前|第.年|上半年|下半年|年底|\d{4}年\d+月"
)
COUNTED = re.compile(r"(?:多少|几)[个名家项次]?([\u4e00-\u9fff]{2,4})")
PHONE = re.compile(r"(?:0\d{2,3}-?)?(\d{7,8})")
OPERATOR_ALIASES = {"移动": "河南移动", "联通": "河南联通", "电信": "河南电信"}
PART_LIMIT = 260
ANSWER_LIMIT = 560


@dataclass(frozen=True)
class Source:
    file: str
    doc: str
    section: str
    title: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "doc": self.doc, "section": self.section}


@dataclass(frozen=True)
class Part:
    """One piece of an answer: ``kind`` picks how the template says it; ``data`` fills it."""

    kind: str  # text, task, task_unknown, not_listed, city, operator, contact, meta,
    # outline, standard or faq (see templates/policy/answer.j2)
    data: dict[str, Any]
    source: Source
    label: str = ""  # a province when an answer spans several
    full: str = ""  # the whole passage, for 原文


@dataclass(frozen=True)
class Answer:
    answered: bool
    parts: tuple[Part, ...] = ()
    reason: str = ""  # why it declined: empty | out_of_scope | low_confidence
    kind: str = ""  # the question type that answered it

    def as_data(self) -> dict[str, Any]:
        """Template data (``policy/answer``): plain dicts and lists only."""
        return {
            "answered": self.answered,
            "reason": self.reason,
            "kind": self.kind,
            "parts": [
                {
                    "kind": p.kind,
                    "data": p.data,
                    "label": p.label,
                    "source": {**p.source.as_dict(), "title": p.source.title},
                }
                for p in self.parts
            ],
        }

    def memo(self) -> list[dict[str, Any]]:
        """What a follow-up (原文 / 来源) needs later: each part's source and full text."""
        return [
            {"source": {**p.source.as_dict(), "title": p.source.title}, "full": p.full}
            for p in self.parts
        ]

    @property
    def sources(self) -> list[dict[str, str]]:
        seen: list[dict[str, str]] = []
        for part in self.parts:
            entry = part.source.as_dict()
            if entry not in seen:
                seen.append(entry)
        return seen


@dataclass(frozen=True)
class Faq:
    id: int
    question: str
    answer: str


@dataclass
class Thresholds:
    coverage: float = 0.25
    score: float = 5.5
    weak_score: float = 9.0
    weak_coverage: float = 0.45
    second_part: float = 0.7
    same_region_part: float = 0.7
    compare_part: float = 0.55
    faq: float = 0.6


@dataclass
class _Scored:
    unit: Unit
    score: float


class PolicyEngine:
    """Everything needed to answer: corpus, tables, contacts, gazetteer, index."""

    def __init__(
        self,
        corpus: Corpus,
        tables: Tables,
        contacts: list[Contact],
        regions: Gazetteer,
        lexicon: Lexicon,
        thresholds: Thresholds | None = None,
        cached_tokens: dict[str, Any] | None = None,
    ) -> None:
        self.corpus = corpus
        self.tables = tables
        self.contacts = contacts
        self.regions = regions
        self.lexicon = lexicon
        self.limits = thresholds or Thresholds()
        names = tuple(sorted({t.county for t in tables.tasks} | {c.person for c in contacts}))
        self.segmenter = Segmenter(lexicon, names)
        cached = None
        if cached_tokens and cached_tokens.get("fingerprint") == self.segmenter.fingerprint:
            cached = cached_tokens.get("units")
        self.index = Index(corpus.passages, self.segmenter, cached)
        self._by_id = {p.id: p for p in corpus.passages}
        self._outline = _outline(corpus.passages)
        self._table_file = tables.file

    # -- entry point ----------------------------------------------------------------------

    def answer(self, question: str, faqs: Sequence[Faq] = ()) -> Answer:
        """Answer ``question`` from the documents (or a staff FAQ), or decline."""
        q = normalise(self.segmenter.fix_typos(question))
        if len(re.sub(r"[^\w]", "", q)) < 2:
            return Answer(False, reason="empty")
        faq = self._faq(q, faqs)
        if faq is not None:
            return faq
        if self._out_of_scope(q):
            return Answer(False, reason="out_of_scope")
        routes = (self._contact, self._table, self._meta, self._structure, self._standard)
        for route in routes:
            found = route(q)
            if found is not None:
                return found
        return self._retrieve(q)

    # -- routes ---------------------------------------------------------------------------

    def _faq(self, q: str, faqs: Sequence[Faq]) -> Answer | None:
        words = set(self.segmenter.words(q))
        best: tuple[float, Faq] | None = None
        for faq in faqs:
            other = set(self.segmenter.words(faq.question))
            if not words or not other:
                continue
            overlap = len(words & other) / len(words | other)
            if best is None or overlap > best[0]:
                best = (overlap, faq)
        if best is None or best[0] < self.limits.faq:
            return None
        faq = best[1]
        part = Part("faq", {"answer": faq.answer, "id": faq.id}, Source("", "工作人员答复", ""))
        return Answer(True, (part,), kind="faq")

    def _out_of_scope(self, q: str) -> bool:
        lex = self.lexicon
        if any(term in q for term in (*lex.out_of_scope, *lex.future)):
            return True
        years = [int(y) for y in re.findall(r"(20\d\d)", q)]
        if any(y > 2020 for y in years):
            return True
        others = [p for p in lex.other_provinces if p in q]
        if others:
            best = self._ranked(q)
            top = best[0].unit if best else None
            return top is None or not any(p in top.passage.text for p in others)
        return False

    def _contact(self, q: str) -> Answer | None:
        digits = [m.group(1) for m in PHONE.finditer(q.replace("-", ""))]
        found = [c for c in self.contacts if any(d in c.phone.replace("-", "") for d in digits)]
        if not digits:
            found = [c for c in self.contacts if c.person and c.person in q]
        if not digits and not found and CONTACT_Q.search(q):
            found = [c for c in self.contacts if c.unit in q or c.unit.removeprefix("省") in q]
        if not found:
            return None
        parts = tuple(
            Part(
                "contact",
                {"unit": c.unit, "person": c.person, "phone": c.phone},
                Source(c.file, c.doc_no, c.section),
                full=c.line,
            )
            for c in found
        )
        return Answer(True, parts, kind="contact")

    def _table(self, q: str) -> Answer | None:
        if not self.tables.tasks:
            return None
        if not TABLE_Q.search(q) and self.regions.county(q) is None:
            return None
        source = Source(self._table_file, self._table_doc(), "附件1", "电商帮扶任务分解表")
        counties = self.regions.find_in(q)
        if counties:
            parts = []
            for county in counties:
                task = self.tables.task(county.name)
                if task is None:
                    parts.append(Part("not_listed", {"county": county.name}, source))
                    continue
                data = {
                    "county": task.county,
                    "city": task.city,
                    "operator": task.operator,
                    "villages": task.villages,
                    "printed": "" if task.county.startswith(task.printed) else task.printed,
                    "seq": task.seq,
                }
                kind = "task" if task.villages is not None else "task_unknown"
                parts.append(Part(kind, data, source))
            return Answer(True, tuple(parts), kind="table")
        city = next((c for c in self.regions.cities() if c in q or c[:-1] in q), None)
        if city is not None:
            rows = self.tables.of_city(city)
            if rows:
                # the printed 小计 only: a sum of our own would be a number not in the source
                subtotal, adds_up = self.tables.city_subtotal(city)
                data = {
                    "city": city,
                    "rows": [(t.county, t.operator, t.villages) for t in rows],
                    "subtotal": subtotal,
                    "adds_up": adds_up,
                }
                return Answer(True, (Part("city", data, source),), kind="table")
        operator = next((full for short, full in OPERATOR_ALIASES.items() if short in q), None)
        if operator is not None:
            rows = self.tables.of_operator(operator)
            data = {
                "operator": operator,
                "stated": self.tables.stated.get(operator),
                "names": [t.county for t in rows] if LIST_Q.search(q) else [],
                "unknown": [t.county for t in rows if t.villages is None],
            }
            return Answer(True, (Part("operator", data, source),), kind="table")
        return None

    def _meta(self, q: str) -> Answer | None:
        """When, by whom and under which number a document was issued."""
        if not META_Q.search(q):
            return None
        named = self._named_documents(q)
        if len(named) == 1:
            document = self.corpus.documents[named.pop()]
        else:
            ranked = self._ranked(q)
            if not ranked or ranked[0].score < self.limits.score:
                return None
            document = self.corpus.documents[ranked[0].unit.passage.file]
        data = {
            "title": document.title,
            "doc_no": document.doc_no,
            "issuers": list(document.issuers),
            "date": document.date,
        }
        source = Source(document.file, document.doc_no, "文件信息")
        return Answer(True, (Part("meta", data, source),), kind="meta")

    def _structure(self, q: str) -> Answer | None:
        """ "五大工程都有啥": the sub-headings under a heading that names a numbered set."""
        if not LIST_Q.search(q):
            return None
        sets = [
            m[:n]
            for m in re.findall(r"[一二三四五六七八九十两\d]+[大项个条类][\u4e00-\u9fff]{2,4}", q)
            for n in range(len(m), 3, -1)
        ]
        mentioned = _regions(q)
        parts = []
        for (file, path), children in self._outline.items():
            title = re.sub(r"[“”\"]", "", path[-1].title)
            if not any(s in title for s in sets):
                continue
            document = self.corpus.documents[file]
            if mentioned and document.region not in mentioned:
                continue
            passage = Passage(-1, file, document.doc_no, path, "", document.region)
            data = {"title": path[-1].title, "items": [h.title for h in children]}
            source = Source(file, document.doc_no, passage.section, path[-1].title)
            parts.append(Part("outline", data, source, label=document.region))
        kept: list[Part] = []
        for part in parts:
            size = sum(len(p.data["title"]) + len("".join(p.data["items"])) for p in kept)
            if size + len(part.data["title"]) + len("".join(part.data["items"])) > ANSWER_LIMIT:
                break
            kept.append(part)
        if not kept:
            return None
        if len({p.label for p in kept}) < 2:
            kept = [replace(p, label="") for p in kept]
        return Answer(True, tuple(kept), kind="outline")

    def _standard(self, q: str) -> Answer | None:
        """ "建个服务站有啥要求": the whole station standard (附件2), item by item."""
        if not self.tables.standard or not STANDARD_Q.search(q):
            return None
        if _regions(q) not in ([], ["河南"]):
            return None
        rest = [
            w
            for w in self.segmenter.content_words(q)
            if w not in STANDARD_GENERIC and w not in REGIONS and w in self.index.idf
        ]
        if rest:
            return None  # asks about one item (网速, 面积, 培训…): retrieval finds it
        items = [
            {"category": s.category, "item": s.item, "text": s.text} for s in self.tables.standard
        ]
        document = self.corpus.documents.get(self._table_file)
        source = Source(self._table_file, self._table_doc(), "附件2", "贫困村电商服务站建设标准")
        full = "".join(f"{s.item}：{s.text}" for s in self.tables.standard)
        part = Part("standard", {"items": items}, source, full=full)
        return Answer(True, (part,), kind="standard") if document else None

    def _table_doc(self) -> str:
        doc = self.corpus.documents.get(self._table_file)
        return doc.doc_no if doc else ""

    # -- retrieval ------------------------------------------------------------------------

    def _query(self, q: str) -> tuple[list[str], list[str]]:
        words = self.segmenter.words(q)
        expansion = self.segmenter.expand(q)
        tokens = self.segmenter.tokens(q)
        asked = set(tokens)
        for term in expansion:
            # a synonym adds what the question lacks, never a second weight for what it has
            tokens.extend(w for w in self.segmenter.words(term) if w not in asked)
            asked.update(tokens)
        return words, tokens

    def _ranked(self, q: str, limit: int = 40) -> list[_Scored]:
        words, tokens = self._query(q)
        words = self.segmenter.content_words(q)
        scores = self.index.scores(tokens)
        mentioned = _regions(q)
        boosts = np.ones(len(scores), dtype=np.float32)
        number, deadline, listing = NUMBER_Q.search(q), DEADLINE_Q.search(q), LIST_Q.search(q)
        numbers = set(re.findall(r"\d{2,}", q))
        counted = [m[-2:] for m in COUNTED.findall(q)]  # 多少个电商服务站 → 务站 (the head)
        named = self._named_documents(q)
        for i in _top(scores, limit * 3):
            unit = self.index.units[i]
            region = unit.passage.region
            if named and unit.passage.file not in named:
                boosts[i] *= 0.4
            national_for_henan = region == "国家" and "河南" in mentioned
            if mentioned and region not in mentioned and not national_for_henan:
                boosts[i] *= 0.5
            if number and re.search(r"\d|[一二两三四五六七八九十]+[个名项]", unit.text):
                boosts[i] *= 1.15
            if deadline and DATE_EXACT.search(unit.text):
                boosts[i] *= 2.0 if DAY_Q.search(q) else 1.6
            elif deadline and DATE_UNIT.search(unit.text):
                boosts[i] *= 1.2
            elif deadline:
                boosts[i] *= 0.85
            if listing and unit.text.count("、") >= 2:
                boosts[i] *= 1.15
            if len(unit.text) < 20 or BOILERPLATE.search(unit.text):
                boosts[i] *= 0.6  # a bare heading, or the covering letter's formulas
            for number in numbers:
                if number in unit.text:
                    boosts[i] *= 1.3
            if any(re.search(rf"\d+[多余]?[个名家项次]\w{{0,4}}{n}", unit.text) for n in counted):
                boosts[i] *= 1.4
        final = scores * boosts
        order = [i for i in _top(final, limit * 2) if final[i] > 0]
        ranked = [
            _Scored(self.index.units[i], float(final[i]) * (0.6 + self._unit_cover(words, i)))
            for i in order
        ]
        ranked.sort(key=lambda r: -r.score)
        return ranked[:limit]

    def _named_documents(self, q: str) -> set[str]:
        """Files whose document number the question names (豫通局〔2020〕47号, 47号文)."""
        plain = re.sub(r"[〔〕\[\]()（）]", "", q)
        named = set()
        for document in self.corpus.documents.values():
            number = re.sub(r"[〔〕]", "", document.doc_no)
            short = re.search(r"〕(\d+号)$", document.doc_no)
            if number in plain or (short and re.search(rf"(?<!\d){short.group(1)}", plain)):
                named.add(document.file)
        return named

    def _unit_cover(self, words: list[str], unit_id: int) -> float:
        """Share of the question's words (by IDF) present in one unit and its titles."""
        have = self.index.unit_tokens[unit_id]
        total = matched = 0.0
        for word in words:
            weight = self.index.idf_of(word)
            total += weight
            synonyms = self.lexicon.synonyms.get(word, ())
            if word in have or any(s in have for s in synonyms):
                matched += weight
        return matched / total if total else 0.0

    def _coverage(self, q: str, units: Iterable[Unit]) -> float:
        """IDF-weighted share of the question's words found in the chosen units' passages."""
        words = self.segmenter.content_words(q)
        if not words:
            return 0.0
        have: set[str] = set()
        for unit in units:
            have |= self.index.passage_tokens[unit.passage.id]
        total = matched = 0.0
        for word in words:
            weight = self.index.idf_of(word)
            total += weight
            bigrams = {"~" + word[i : i + 2] for i in range(len(word) - 1)}
            synonyms = {t for s in self.lexicon.synonyms.get(word, ()) for t in (s, "~" + s)}
            if word in have or (synonyms & have):
                matched += weight
            elif bigrams and len(bigrams & have) * 2 >= len(bigrams):
                matched += weight * 0.7
        return matched / total if total else 0.0

    def _retrieve(self, q: str) -> Answer:
        ranked = self._ranked(q)
        if not ranked or ranked[0].score < self.limits.score:
            return Answer(False, reason="low_confidence")
        top = ranked[0]
        mentioned = _regions(q)
        compare = len(mentioned) >= 2 or (COMPARE_Q.search(q) is not None and not mentioned)
        chosen = self._choose(top, ranked, mentioned, compare)
        coverage = self._coverage(q, [c.unit for c in chosen])
        if coverage < self.limits.coverage or (
            top.score < self.limits.weak_score and coverage < self.limits.weak_coverage
        ):
            return Answer(False, reason="low_confidence")
        regions = [c.unit.passage.region for c in chosen]
        multi = len(set(regions)) > 1
        parts: list[Part] = []
        for candidate in chosen:
            part = self._part(candidate, ranked, q, labelled=multi)
            text = part.data["text"].strip("…")
            if any(text in p.data["text"] for p in parts):
                continue
            parts = [p for p in parts if p.data["text"].strip("…") not in text]
            parts.append(part)
        while sum(len(p.data["text"]) for p in parts) > ANSWER_LIMIT and len(parts) > 1:
            parts.pop()
        return Answer(True, tuple(parts), kind="text")

    def _choose(
        self, top: _Scored, ranked: list[_Scored], mentioned: list[str], compare: bool
    ) -> list[_Scored]:
        """The best unit, plus close runners-up from other passages: another province's
        answer (comparisons, or a question that names none), or the same province's."""
        chosen = [top]
        wanted = mentioned if len(mentioned) >= 2 else None
        for cand in ranked[1:12]:
            if len(chosen) >= 3:
                break
            passage = cand.unit.passage
            if not passage.path or passage.id in {c.unit.passage.id for c in chosen}:
                continue
            if wanted is not None and passage.region not in wanted:
                continue
            if mentioned and not compare and passage.region not in mentioned:
                continue
            new_region = passage.region not in {c.unit.passage.region for c in chosen}
            if compare and not new_region:
                continue
            if compare:
                ratio = self.limits.compare_part
            elif new_region:
                ratio = self.limits.second_part
            else:
                ratio = self.limits.same_region_part
            if cand.score >= ratio * top.score:
                chosen.append(cand)
        return chosen

    def _part(self, chosen: _Scored, ranked: list[_Scored], q: str, *, labelled: bool) -> Part:
        unit = chosen.unit
        passage = unit.passage
        siblings = self.index.by_passage[passage.id]
        picked = {unit.order}
        near = [
            r.unit.order
            for r in ranked[1:8]
            if r.unit.passage.id == passage.id and r.score >= 0.7 * chosen.score
        ]
        for order in near[:1]:
            picked.add(order)
        short = len(unit.text) < 40 or unit.text.endswith("：")
        if short and unit.order + 1 < len(siblings):
            picked.add(unit.order + 1)
        text = "".join(siblings[i].text for i in sorted(picked))
        if text.endswith("：") and max(picked) == len(siblings) - 1:
            text += self._continuation(passage, PART_LIMIT - len(text))
        if len(text) > PART_LIMIT:
            text = self._trim(text, q)
        section = passage.section
        source = Source(passage.file, passage.doc_no, section, passage.heading)
        return Part(
            "text",
            {"text": text, "heading": passage.heading},
            source,
            label=passage.region if labelled else "",
            full=passage.text,
        )

    def _continuation(self, passage: Passage, room: int) -> str:
        """What a passage ending in ``：`` introduces: the numbered items right after it."""
        out = ""
        next_id = passage.id + 1
        while (following := self._by_id.get(next_id)) is not None:
            if following.file != passage.file or following.path[: len(passage.path)] != (
                passage.path
            ):
                break
            first = split_sentences(following.text)[0] if following.text else ""
            if len(out) + len(first) > room:
                break
            out += first
            next_id += 1
        return out

    def _trim(self, text: str, q: str) -> str:
        """The run of clauses (≤ PART_LIMIT chars) that holds most of the question's words."""
        clauses = re.findall(r"[^，；。：]+[，；。：]?", text)
        words = [w for w in self._query(q)[1] if not w.startswith("~")]
        weight = [
            sum(self.index.idf_of(w) for w in set(words) if w in clause) for clause in clauses
        ]
        best = (0.0, 0, len(clauses))
        for start in range(len(clauses)):
            length = total = 0.0
            for end in range(start, len(clauses)):
                length += len(clauses[end])
                if length > PART_LIMIT:
                    break
                total += weight[end]
                if total > best[0]:
                    best = (total, start, end + 1)
        _, start, end = best
        out = "".join(clauses[start:end])
        if start > 0:
            out = "…" + out
        if end < len(clauses):
            out = out.rstrip("，；：") + "…"
        return out

    def token_cache(self) -> dict[str, Any]:
        """The index tokens with the segmenter's fingerprint, for the built corpus file."""
        return {"fingerprint": self.segmenter.fingerprint, "units": self.index.corpus_tokens}


def _top(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` highest scores, best first (argpartition: fast on big corpora)."""
    head = np.argpartition(-scores, k)[:k] if len(scores) > k else np.arange(len(scores))
    return [int(i) for i in head[np.argsort(-scores[head], kind="stable")]]


def _outline(passages: list[Passage]) -> dict[tuple[str, tuple[Heading, ...]], list[Heading]]:
    """Each heading with two or more sub-headings, and those sub-headings in order."""
    children: dict[tuple[str, tuple[Heading, ...]], list[Heading]] = {}
    for passage in passages:
        for depth in range(1, len(passage.path)):
            key = (passage.file, passage.path[:depth])
            child = passage.path[depth]
            if not child.number or child.number.startswith("附件"):
                continue
            seen = children.setdefault(key, [])
            if child not in seen:
                seen.append(child)
    return {k: v for k, v in children.items() if len(v) >= 2}


def _regions(q: str) -> list[str]:
    """Provinces a question names; 国家 when it sets national rules against a province's."""
    found = [r for r in REGIONS if r in q]
    if re.search(r"国家(文件|的|层面|规定|要求|说法)|中央(文件|的)", q):
        found.append("国家")
    return found
