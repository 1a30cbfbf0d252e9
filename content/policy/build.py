"""Building the policy knowledge: source folder → corpus file → a ready ``PolicyEngine``.

``build(folder)`` parses every document, the tables of the document that has them
(附件1 task table, 附件2 station standard, which also becomes searchable passages) and
the contact lines, and checks the table against the stated totals.  ``write`` stores
the result as ``corpus.json`` (what ``cunzhan content build`` does); ``load_engine``
reads it back at start-up, or parses the sources when no built file exists.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from content.policy.answer import PolicyEngine, Thresholds
from content.policy.corpus import Corpus, Document, Heading, Passage, load_folder
from content.policy.search import Lexicon
from content.policy.tables import (
    Contact,
    StandardItem,
    Tables,
    VillageTask,
    parse_contacts,
    parse_tables,
)
from content.regions import Gazetteer

POLICY_DIR = Path(__file__).resolve().parent
SOURCE_DIR = POLICY_DIR / "source"
BUILT_PATH = POLICY_DIR / "corpus.json"
TASK_TABLE_MARK = "任务分解表"
STANDARD_TITLE = "贫困村电商服务站建设标准"


def build(folder: Path, regions: Gazetteer) -> tuple[Corpus, Tables, list[Contact]]:
    """Parse ``folder`` (``*.txt`` policy files) into corpus, tables and contacts."""
    corpus = load_folder(folder)
    tables = Tables()
    contacts: list[Contact] = []
    for path in sorted(folder.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        document = corpus.documents[path.name]
        contacts.extend(parse_contacts(raw, document.doc_no, path.name))
        if TASK_TABLE_MARK in raw and "| 序号" in raw and not tables.tasks:
            tables = parse_tables(raw, regions)
            tables.file = path.name
            for item in tables.standard:
                corpus.passages.append(
                    Passage(
                        id=len(corpus.passages),
                        file=path.name,
                        doc_no=document.doc_no,
                        path=(
                            Heading("附件2", STANDARD_TITLE),
                            Heading("", item.category),
                            Heading("", item.item),
                        ),
                        text=f"{item.item}：{item.text}",
                        region=document.region,
                    )
                )
    return corpus, tables, contacts


def to_json(corpus: Corpus, tables: Tables, contacts: list[Contact]) -> dict[str, Any]:
    return {
        "documents": [asdict(d) for d in corpus.documents.values()],
        "passages": [asdict(p) for p in corpus.passages],
        "tasks": [asdict(t) for t in tables.tasks],
        "stated": tables.stated,
        "tables_file": tables.file,
        "standard": [asdict(s) for s in tables.standard],
        "contacts": [asdict(c) for c in contacts],
        "city_subtotals": [
            {"city": city, "printed": printed, "adds_up": adds_up}
            for city in dict.fromkeys(t.city for t in tables.tasks)
            for printed, adds_up in [tables.city_subtotal(city)]
        ],
        "checks": [{**asdict(c), "consistent": c.consistent} for c in tables.check()],
    }


def from_json(data: dict[str, Any]) -> tuple[Corpus, Tables, list[Contact]]:
    corpus = Corpus()
    for d in data["documents"]:
        corpus.documents[d["file"]] = Document(**{**d, "issuers": tuple(d["issuers"])})
    for p in data["passages"]:
        path = tuple(Heading(**h) for h in p["path"])
        corpus.passages.append(Passage(**{**p, "path": path}))
    tables = Tables(
        tasks=[VillageTask(**t) for t in data["tasks"]],
        stated=dict(data["stated"]),
        standard=[StandardItem(**s) for s in data["standard"]],
        file=data["tables_file"],
    )
    contacts = [Contact(**c) for c in data["contacts"]]
    return corpus, tables, contacts


def write(folder: Path, out: Path, regions: Gazetteer) -> dict[str, Any]:
    """Build from ``folder`` and write ``out`` (with the index tokens); returns the data."""
    corpus, tables, contacts = build(folder, regions)
    data = to_json(corpus, tables, contacts)
    engine = PolicyEngine(corpus, tables, contacts, regions, Lexicon.load())
    data["tokens"] = engine.token_cache()
    out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", "utf-8")
    return data


def load_engine(
    regions: Gazetteer,
    path: Path | None = None,
    *,
    thresholds: Thresholds | None = None,
) -> PolicyEngine:
    """The engine from a built corpus file (default ``corpus.json``), else from the sources."""
    path = path or BUILT_PATH
    cached = None
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        corpus, tables, contacts = from_json(data)
        cached = data.get("tokens")
    else:
        corpus, tables, contacts = build(SOURCE_DIR, regions)
    lexicon = Lexicon.load()
    return PolicyEngine(corpus, tables, contacts, regions, lexicon, thresholds, cached)
