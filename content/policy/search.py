"""Policy search: Chinese segmentation, the colloquial→policy vocabulary and the BM25 index.

The unit of retrieval is a sentence (long ones split at ；) with the titles of the
sections above it, so the best unit is already the extract an answer quotes.  Tokens
are jieba words (search mode) plus character bigrams, which keep typos and words jieba
splits differently still matching.  The query is expanded with the synonyms of
``lexicon.yaml``.  jieba's default dictionary is process-wide: it is loaded once
(``Segmenter.__init__`` at start-up), never per question.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import jieba
import numpy as np
import yaml

from content.policy.corpus import Passage

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon.yaml"
INDEX_LAYOUT = 2  # bump when what a unit's tokens are made of changes (invalidates caches)
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
WORD = re.compile(r"[\u4e00-\u9fff]|[a-z0-9%+.]+")


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters), lower case, dashes unified, no spaces."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"[—–－~〜]", "-", text)
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class Lexicon:
    words: tuple[str, ...]
    typos: dict[str, str]
    synonyms: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    other_provinces: tuple[str, ...]
    out_of_scope: tuple[str, ...]
    future: tuple[str, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> Lexicon:
        with open(path or LEXICON_PATH, encoding="utf-8") as f:
            data: dict[str, Any] = yaml.safe_load(f)
        return cls(
            words=tuple(str(w) for w in data["words"]),
            typos={str(k): str(v) for k, v in data["typos"].items()},
            synonyms={str(k): tuple(map(str, v)) for k, v in data["synonyms"].items()},
            stopwords=frozenset(str(w) for w in data["stopwords"]),
            other_provinces=tuple(map(str, data["other_provinces"])),
            out_of_scope=tuple(map(str, data["out_of_scope"])),
            future=tuple(map(str, data["future"])),
        )


class Segmenter:
    """jieba words and character bigrams, without filler words."""

    def __init__(self, lexicon: Lexicon, extra_words: tuple[str, ...] = ()) -> None:
        self.lexicon = lexicon
        self.fingerprint = hashlib.sha256(
            repr(
                (
                    INDEX_LAYOUT,
                    jieba.__version__,
                    lexicon.words,
                    sorted(lexicon.typos.items()),
                    sorted(lexicon.synonyms),
                    sorted(lexicon.stopwords),
                    sorted(extra_words),
                )
            ).encode()
        ).hexdigest()[:16]
        jieba.setLogLevel(60)
        jieba.initialize()
        colloquial = tuple(k for k in lexicon.synonyms if len(k) > 1)
        for word in (*lexicon.words, *colloquial, *extra_words):
            jieba.add_word(word, freq=20000)

    def fix_typos(self, text: str) -> str:
        for wrong, right in self.lexicon.typos.items():
            text = text.replace(wrong, right)
        return text

    def words(self, text: str) -> list[str]:
        """jieba search-mode words of ``text`` (normalised), filler removed."""
        stop = self.lexicon.stopwords
        return [
            w for w in jieba.lcut_for_search(normalise(text)) if w not in stop and WORD.match(w)
        ]

    def content_words(self, text: str) -> list[str]:
        """Distinct topic words of a question (precise cut): two characters or more, or a
        number, or a single character the synonym map knows."""
        stop = self.lexicon.stopwords
        out = []
        for w in jieba.lcut(normalise(text)):
            if w in stop or not WORD.match(w):
                continue
            if len(w) > 1 or w.isdigit() or w in self.lexicon.synonyms:
                out.append(w)
        return list(dict.fromkeys(out))

    def tokens(self, text: str) -> list[str]:
        """Index tokens: words plus ``~``-marked bigrams of each run of Chinese characters."""
        out = self.words(text)
        for run in CJK_RUN.findall(normalise(text)):
            out.extend("~" + run[i : i + 2] for i in range(len(run) - 1))
        return out

    def expand(self, question: str) -> list[str]:
        """Synonym terms for the everyday words in ``question`` (substring match, 2+ chars)."""
        text = normalise(question)
        words = set(jieba.lcut(text))
        extra: list[str] = []
        for key, values in self.lexicon.synonyms.items():
            if (len(key) > 1 and key in text) or key in words:
                extra.extend(values)
        return extra


@dataclass(frozen=True)
class Unit:
    """A sentence of a passage: what is searched and what an answer quotes."""

    id: int
    passage: Passage
    text: str
    order: int  # position within its passage


def split_sentences(text: str, limit: int = 120) -> list[str]:
    """Sentences ending at 。！？; one longer than ``limit`` is split again at ；."""
    out: list[str] = []
    for sentence in re.findall(r"[^。！？]+[。！？]?", text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if out and re.fullmatch(r"[（(][^（()）]*(负责|单位)[^（()）]*[）)]", sentence):
            out[-1] += sentence  # "（省商务厅……负责）" belongs to the sentence before it
            continue
        if len(sentence) > limit and "；" in sentence:
            out.extend(p for p in re.findall(r"[^；]+；?", sentence) if p.strip())
        else:
            out.append(sentence)
    return out


class Index:
    """BM25 over sentence units; each unit also carries its section titles and region."""

    def __init__(
        self,
        passages: list[Passage],
        segmenter: Segmenter,
        cached: list[list[str]] | None = None,
    ) -> None:
        """``cached``: the units' tokens from a built corpus file made with the same
        segmenter (same fingerprint); segmenting is most of the build time."""
        self.segmenter = segmenter
        self.units: list[Unit] = []
        for passage in passages:
            for order, sentence in enumerate(split_sentences(passage.text)):
                self.units.append(Unit(len(self.units), passage, sentence, order))
        self.from_cache = cached is not None and len(cached) == len(self.units)
        corpus_tokens: list[list[str]]
        if self.from_cache and cached is not None:
            corpus_tokens = [list(t) for t in cached]
        else:
            contexts: dict[int, list[str]] = {}
            corpus_tokens = []
            for unit in self.units:
                passage = unit.passage
                if passage.id not in contexts:
                    contexts[passage.id] = [*segmenter.tokens(passage.titles()), passage.region]
                corpus_tokens.append(segmenter.tokens(unit.text) + contexts[passage.id])
        self.corpus_tokens = corpus_tokens
        self.unit_tokens = [set(t) for t in corpus_tokens]
        self.passage_tokens: dict[int, set[str]] = {}
        self.by_passage: dict[int, list[Unit]] = {}
        for unit in self.units:
            self.by_passage.setdefault(unit.passage.id, []).append(unit)
        for unit, tokens in zip(self.units, self.unit_tokens, strict=True):
            self.passage_tokens.setdefault(unit.passage.id, set()).update(tokens)
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.bm25 = bm25s.BM25(k1=1.2, b=0.6)
        self.bm25.index(corpus_tokens, show_progress=False)
        df: dict[str, int] = {}
        for tokens in self.unit_tokens:
            for token in tokens:
                df[token] = df.get(token, 0) + 1
        n = len(self.units)
        self.idf = {t: float(np.log(1 + (n - d + 0.5) / (d + 0.5))) for t, d in df.items()}
        self.max_idf = float(np.log(1 + (n + 0.5) / 0.5))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [t for t in query_tokens if t in self.idf]
        if not known:
            return np.zeros(len(self.units), dtype=np.float32)
        return self.bm25.get_scores(known)

    def idf_of(self, token: str) -> float:
        return self.idf.get(token, self.max_idf)
