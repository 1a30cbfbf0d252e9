"""The policy-answer scorer's rules (../shared/eval/score.py), kept here so CI needs no
outside files: every key fact present (after NFKC, no whitespace, lower case), at most
600 characters, the gold document cited, out-of-scope questions declined."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

MAX_CHARS = 600
DEV_SET = Path(__file__).resolve().parent / "data" / "policy_dev.jsonl"


def norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(text.split()).lower()
    return text.replace("〔", "[").replace("〕", "]").replace("【", "[").replace("】", "]")


def cites(pred: dict[str, Any], gold: dict[str, Any]) -> bool:
    want = {norm(gold.get("source") or ""), norm(gold.get("doc_no") or "")} - {""}
    for src in pred.get("sources") or []:
        if isinstance(src, dict):
            got = {norm(str(v)) for v in src.values() if isinstance(v, str)}
        else:
            got = {norm(str(src))}
        if any(w and any(w in g for g in got) for w in want):
            return True
    return False


def judge(gold: dict[str, Any], pred: dict[str, Any] | None) -> tuple[bool, str]:
    if pred is None:
        return False, "no prediction"
    answered = bool(pred.get("answered"))
    if not gold["answerable"]:
        why = "declined" if not answered else "answered an out-of-scope question"
        return (not answered), why
    if not answered:
        return False, "declined an answerable question"
    answer = norm(pred.get("answer", ""))
    if len(answer) > MAX_CHARS:
        return False, f"answer too long for chat ({len(answer)} chars)"
    missing = [grp for grp in gold["must_include"] if not any(norm(alt) in answer for alt in grp)]
    if missing:
        return False, "missing " + " / ".join("|".join(g) for g in missing)
    if not cites(pred, gold):
        return False, "wrong or missing source"
    return True, "ok"


def load(path: Path = DEV_SET) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
