"""The dev question set through the same path as ``cunzhan ask --jsonl`` must score ≥ 45/50.

The scorer's rules are copied in tests/policy_scoring.py and the questions in
tests/data/policy_dev.jsonl, so this runs without the shared evaluation folder.
tests/data/policy_extra.jsonl is a second set written separately from the dev set (other
facts, other wording, in the same format) that guards against answering only the dev set.
"""

from __future__ import annotations

import pytest

from bot.cli import ask_record
from bot.render import build_environment
from content.policy.build import load_engine
from content.regions import Gazetteer
from tests import policy_scoring

BAR = 45
EXTRA = policy_scoring.DEV_SET.with_name("policy_extra.jsonl")


@pytest.fixture(scope="module")
def records():
    engine = load_engine(Gazetteer.load())
    env = build_environment("Asia/Shanghai")
    gold = policy_scoring.load()
    return gold, {g["id"]: ask_record(engine, env, g["question"]) for g in gold}


def test_dev_set_scores_at_least_the_bar(records) -> None:
    gold, preds = records
    verdicts = {g["id"]: policy_scoring.judge(g, preds[g["id"]]) for g in gold}
    failed = {k: why for k, (ok, why) in verdicts.items() if not ok}
    score = len(gold) - len(failed)
    assert len(gold) == 50
    assert score >= BAR, f"score {score}/50; failures: {failed}"


def test_separately_written_set_scores_at_least_ninety_percent() -> None:
    engine = load_engine(Gazetteer.load())
    env = build_environment("Asia/Shanghai")
    gold = policy_scoring.load(EXTRA)
    failed = {
        g["id"]: why
        for g in gold
        for ok, why in [policy_scoring.judge(g, ask_record(engine, env, g["question"]))]
        if not ok
    }
    assert len(gold) - len(failed) >= 0.9 * len(gold), failed


def test_every_answer_is_short_and_cited(records) -> None:
    gold, preds = records
    engine = load_engine(Gazetteer.load())
    env = build_environment("Asia/Shanghai")
    extra = policy_scoring.load(EXTRA)
    preds = {**preds, **{g["id"]: ask_record(engine, env, g["question"]) for g in extra}}
    for item in gold + extra:
        pred = preds[item["id"]]
        if pred["answered"]:
            assert len(policy_scoring.norm(pred["answer"])) <= policy_scoring.MAX_CHARS
            assert "来源：" in pred["answer"] and pred["sources"]
        else:
            assert pred["sources"] == []


def test_the_scorer_itself_fails_wrong_answers() -> None:
    gold = next(g for g in policy_scoring.load() if g["id"] == "d001")
    right = {"answered": True, "answer": "69个 联通", "sources": [{"file": gold["source"]}]}
    assert policy_scoring.judge(gold, right)[0]
    assert not policy_scoring.judge(gold, {**right, "answer": "68个 联通"})[0]
    assert not policy_scoring.judge(gold, {**right, "sources": [{"doc": "别的文件"}]})[0]
    assert not policy_scoring.judge(gold, {**right, "answered": False})[0]
    oos = next(g for g in policy_scoring.load() if not g["answerable"])
    assert not policy_scoring.judge(oos, right)[0]
