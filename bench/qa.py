"""Policy Q&A speed: start-up (jieba dictionary, index build), answer latency p50/p99 over
the dev questions, and the same on a corpus grown 100× by repeating the documents with
altered numbers.  Prints the figures; the last line is one JSON object with units.

    python -m bench.qa [--repeat 5] [--grow 100]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

import jieba

from content.policy.answer import PolicyEngine
from content.policy.build import BUILT_PATH, SOURCE_DIR, build, load_engine
from content.policy.corpus import Corpus, Document, Passage
from content.policy.search import Lexicon
from content.regions import Gazetteer

DEV = Path(__file__).resolve().parents[1] / "tests" / "data" / "policy_dev.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latencies(engine: PolicyEngine, questions: list[str], repeat: int) -> list[float]:
    for question in questions:  # warm caches once
        engine.answer(question)
    out = []
    for _ in range(repeat):
        for question in questions:
            started = time.perf_counter()
            engine.answer(question)
            out.append((time.perf_counter() - started) * 1000)
    return out


def grown(corpus: Corpus, times: int) -> Corpus:
    """``times`` copies of every document; copy k adds k to every number in its text."""
    out = Corpus()
    for k in range(times):
        for document in corpus.documents.values():
            file = f"{k:03d}_{document.file}"
            out.documents[file] = Document(
                file,
                document.doc_no,
                document.title,
                document.issuers,
                document.date,
                document.region,
            )
        for passage in corpus.passages:
            text = re.sub(r"\d+", lambda m, k=k: str(int(m.group()) + k), passage.text)
            out.passages.append(
                Passage(
                    len(out.passages),
                    f"{k:03d}_{passage.file}",
                    passage.doc_no,
                    passage.path,
                    text,
                    passage.region,
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--grow", type=int, default=100)
    args = parser.parse_args()
    questions = [json.loads(x)["question"] for x in DEV.read_text("utf-8").splitlines() if x]
    regions = Gazetteer.load()

    started = time.perf_counter()
    jieba.setLogLevel(60)
    jieba.initialize()
    jieba_s = time.perf_counter() - started
    started = time.perf_counter()
    engine = load_engine(regions)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    corpus, tables, contacts = build(SOURCE_DIR, regions)
    fresh = PolicyEngine(corpus, tables, contacts, regions, Lexicon.load())
    build_s = time.perf_counter() - started
    small = latencies(engine, questions, args.repeat)
    print(f"jieba dictionary load: {jieba_s:.2f} s (once per process)")
    print(f"engine from {BUILT_PATH.name} (cached tokens): {load_s * 1000:.0f} ms")
    print(f"index build from the sources (parse + segment + BM25): {build_s * 1000:.0f} ms")
    print(
        f"{len(fresh.index.units)} units; {len(small)} answers: "
        f"p50 {statistics.median(small):.2f} ms, p99 {percentile(small, 99):.2f} ms"
    )

    big = grown(corpus, args.grow)
    started = time.perf_counter()
    big_engine = PolicyEngine(big, tables, contacts, regions, Lexicon.load())
    big_build_s = time.perf_counter() - started
    large = latencies(big_engine, questions, 1)
    print(
        f"{args.grow}x corpus: {len(big_engine.index.units)} units, index build "
        f"{big_build_s:.1f} s; p50 {statistics.median(large):.2f} ms, "
        f"p99 {percentile(large, 99):.2f} ms"
    )
    figures = {
        "jieba_load_s": round(jieba_s, 2),
        "engine_load_ms": round(load_s * 1000),
        "index_build_ms": round(build_s * 1000),
        "answer_p50_ms": round(statistics.median(small), 2),
        "answer_p99_ms": round(percentile(small, 99), 2),
        "grown_factor": args.grow,
        "grown_units": len(big_engine.index.units),
        "grown_index_build_s": round(big_build_s, 1),
        "grown_answer_p50_ms": round(statistics.median(large), 2),
        "grown_answer_p99_ms": round(percentile(large, 99), 2),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
