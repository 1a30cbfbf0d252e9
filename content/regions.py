"""The Henan region gazetteer: cities, their county-level units, aliases and OCR variants.

Resolves what people type (滑, 滑县, 安阳滑县, 荥阳县) and what OCR made of the policy
documents (荣 阳, 浙川, 澠池) to canonical 2020 names.  Every place name lives in
``data/henan_regions.yaml``; this module holds only the rules:

* Text is folded before any look-up: whitespace (full-width too) and format characters
  are dropped, NFKC maps compatibility ideographs, and the YAML's ``ocr_corrections``
  are applied, longest first.
* A county is found by its name (tier 0), an alias from the YAML (tier 1) or a suffix
  variant derived from an alias (tier 2: 荥阳 → 荥阳县).  The lowest tier that knows a key
  wins; if it names more than one unit, the key is ambiguous and resolves to no county.
* A key that is also a city's name means the city (安阳 is 安阳市, not 安阳县).
* In free sentences, single-character aliases and the YAML's ``common_words`` are not
  matched (滑 in 滑雪, 中原 in 中原更出彩), and ``not_places`` are read as words
  (示范县 does not contain 范县).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "henan_regions.yaml"
KINDS = ("区", "县", "市")
_NAME, _ALIAS, _VARIANT = 0, 1, 2

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class County:
    name: str
    city: str
    kind: str  # "区" | "县" | "市"
    directly_managed: bool = False


@dataclass(frozen=True)
class Match:
    county: County | None
    city: str | None
    corrected_from: str | None = None  # the OCR/alias form the user typed, when it differed


@dataclass(frozen=True)
class _Folded:
    """Text after folding, with each character's span in the original text."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]


@dataclass(frozen=True)
class _Hit:
    candidates: tuple[County, ...]  # more than one: ambiguous
    city: str | None  # the city the text names, or the one its counties share
    typed: str | None  # the county or city part as typed, whitespace removed


_MISS = _Hit((), None, None)


class Gazetteer:
    """Look-ups over one province's cities and county-level units."""

    def __init__(
        self,
        cities: dict[str, list[str]],
        counties: list[tuple[County, list[str]]],
        *,
        province: Iterable[str] = (),
        ocr_corrections: Mapping[str, str] | None = None,
        common_words: Iterable[str] = (),
        not_places: Iterable[str] = (),
    ) -> None:
        """``cities``: name → aliases; ``counties``: (unit, aliases) in display order."""
        self._corrections = dict(ocr_corrections or {})
        self._correction_len = max(map(len, self._corrections), default=0)
        self._by_city: dict[str, list[County]] = {name: [] for name in cities}
        self._city_keys: dict[str, str] = {}
        for name, aliases in cities.items():
            for key in (name, *aliases):
                self._add_city_key(self._checked(key), name)
        self._province = sorted({self._checked(p) for p in province}, key=len, reverse=True)
        common = {self._checked(w) for w in common_words}

        tiers: dict[str, dict[int, list[County]]] = defaultdict(lambda: defaultdict(list))
        weak: dict[tuple[str, int], bool] = {}

        def add(key: str, tier: int, county: County, is_weak: bool) -> None:
            if county not in tiers[key][tier]:
                tiers[key][tier].append(county)
            weak[key, tier] = weak.get((key, tier), True) and is_weak

        seen: set[str] = set()
        for county, aliases in counties:
            if county.city not in self._by_city:
                raise ValueError(f"{county.name}: unknown city {county.city!r}")
            if county.kind not in KINDS or not county.name.endswith(county.kind):
                raise ValueError(f"{county.name}: kind {county.kind!r} does not match the name")
            if county.name in seen:
                raise ValueError(f"{county.name}: listed twice")
            seen.add(county.name)
            self._by_city[county.city].append(county)
            add(self._checked(county.name), _NAME, county, False)
            for alias in map(self._checked, aliases):
                add(alias, _ALIAS, county, len(alias) == 1 or alias in common)
                if len(alias) >= 2 and alias[-1] not in KINDS:
                    for kind in KINDS:
                        add(alias + kind, _VARIANT, county, alias in common)

        # The lowest tier that knows a key decides; a city's name is never a county alias
        # unless the county is the city itself (济源).
        self._county_keys: dict[str, tuple[County, ...]] = {}
        self._weak: set[str] = set()
        for key, by_tier in tiers.items():
            tier = min(by_tier)
            found = by_tier[tier]
            city = self._city_keys.get(key)
            if city is not None and tier != _NAME:
                found = [c for c in found if c.name == city]
            if found:
                self._county_keys[key] = tuple(found)
                if weak[key, tier]:
                    self._weak.add(key)
        self._not_places = {self._checked(w) for w in not_places}
        self._longest = max(map(len, [*self._county_keys, *self._city_keys, *self._not_places]))
        self._longest_city = max(map(len, self._city_keys))

    def _add_city_key(self, key: str, city: str) -> None:
        if self._city_keys.setdefault(key, city) != city:
            raise ValueError(f"{key!r} names two cities")

    def _checked(self, name: str) -> str:
        """A name from the data, which folding must leave as it is."""
        folded = self._fold(name).text
        if folded != name or not name:
            raise ValueError(f"{name!r} would be read as {folded!r}; check ocr_corrections")
        return name

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """The gazetteer in ``path`` (default: ``data/henan_regions.yaml`` next to this module)."""
        with open(path or DEFAULT_PATH, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_Loader)  # CSafeLoader or SafeLoader
        cities: dict[str, list[str]] = {}
        counties: list[tuple[County, list[str]]] = []
        for city, entry in data["cities"].items():
            cities[str(city)] = [str(a) for a in entry.get("aliases") or []]
            for unit in entry["counties"]:
                county = County(
                    name=str(unit["name"]),
                    city=str(city),
                    kind=str(unit["kind"]),
                    directly_managed=bool(unit.get("directly_managed", False)),
                )
                counties.append((county, [str(a) for a in unit.get("aliases") or []]))
        province = data.get("province") or {}
        return cls(
            cities,
            counties,
            province=[str(p) for p in [province.get("name"), *province.get("aliases", [])] if p],
            ocr_corrections={
                str(k): str(v) for k, v in (data.get("ocr_corrections") or {}).items()
            },
            common_words=[str(w) for w in data.get("common_words") or []],
            not_places=[str(w) for w in data.get("not_places") or []],
        )

    # -- folding --------------------------------------------------------------------------

    def _fold(self, text: str) -> _Folded:
        compact: list[str] = []
        where: list[int] = []
        for i, ch in enumerate(text):
            if _skipped(ch):
                continue
            for out in unicodedata.normalize("NFKC", ch) if not ch.isascii() else ch:
                if not out.isspace():
                    compact.append(out)
                    where.append(i)
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        j, n = 0, len(compact)
        while j < n:
            size, repl = 1, compact[j]
            for length in range(min(self._correction_len, n - j), 0, -1):
                fixed = self._corrections.get("".join(compact[j : j + length]))
                if fixed is not None:
                    size, repl = length, fixed
                    break
            for ch in repl:
                chars.append(ch)
                starts.append(where[j])
                ends.append(where[j + size - 1] + 1)
            j += size
        return _Folded("".join(chars), tuple(starts), tuple(ends))

    @staticmethod
    def _typed(original: str, folded: _Folded, a: int, b: int) -> str:
        raw = original[folded.starts[a] : folded.ends[b - 1]]
        return "".join(ch for ch in raw if not _skipped(ch))

    def _core(self, folded: _Folded) -> tuple[int, int]:
        """Bounds of the text without edge punctuation and a leading province name."""
        text = folded.text
        a, b = 0, len(text)
        while a < b and unicodedata.category(text[a])[0] in "PS":
            a += 1
        while b > a and unicodedata.category(text[b - 1])[0] in "PS":
            b -= 1
        for prefix in self._province:
            if text.startswith(prefix, a):
                a += len(prefix)
                break
        return a, b

    # -- look-ups -------------------------------------------------------------------------

    def _lookup(self, text: str) -> _Hit:
        folded = self._fold(text)
        a, b = self._core(folded)
        core = folded.text[a:b]
        if not core:
            return _MISS
        found = self._county_keys.get(core)
        if found is not None:
            return self._hit(found, None, self._typed(text, folded, a, b))
        for size in range(min(self._longest_city, len(core) - 1), 0, -1):
            city = self._city_keys.get(core[:size])
            if city is None:
                continue
            found = self._county_keys.get(core[size:])
            if found is not None:
                inside = tuple(c for c in found if c.city == city)
                return self._hit(inside, city, self._typed(text, folded, a + size, b))
        city = self._city_keys.get(core)
        if city is not None:
            return _Hit((), city, self._typed(text, folded, a, b))
        return _MISS

    @staticmethod
    def _hit(found: tuple[County, ...], city: str | None, typed: str) -> _Hit:
        if not found:
            return _MISS
        cities = {c.city for c in found}
        return _Hit(found, city or (cities.pop() if len(cities) == 1 else None), typed)

    def county(self, text: str) -> County | None:
        """The county-level unit ``text`` names (name, alias, suffix variant, OCR form)."""
        hit = self._lookup(text)
        return hit.candidates[0] if len(hit.candidates) == 1 else None

    def resolve(self, text: str) -> Match:
        """The county and city ``text`` names; an ambiguous alias resolves to no county."""
        hit = self._lookup(text)
        if len(hit.candidates) == 1:
            county = hit.candidates[0]
            typed = hit.typed if hit.typed != county.name else None
            return Match(county, county.city, typed)
        if hit.candidates:
            return Match(None, hit.city, None)
        if hit.city is not None:
            return Match(None, hit.city, hit.typed if hit.typed != hit.city else None)
        return Match(None, None, None)

    def city(self, text: str) -> str | None:
        """The city ``text`` names (郑州, 郑州市, 鄭州), or None."""
        folded = self._fold(text)
        a, b = self._core(folded)
        return self._city_keys.get(folded.text[a:b])

    def counties_of(self, city: str) -> list[County]:
        """The units of a city, by name or alias; empty for an unknown city."""
        return list(self._by_city.get(self.city(city) or city, []))

    def cities(self) -> list[str]:
        return list(self._by_city)

    def correct(self, name: str) -> str:
        """The canonical name of a county or city form, else ``name`` unchanged."""
        hit = self._lookup(name)
        if len(hit.candidates) == 1:
            return hit.candidates[0].name
        if not hit.candidates and hit.city is not None:
            return hit.city
        return name

    def find_in(self, text: str) -> list[County]:
        """Every county-level unit named in a sentence, in order of first mention.

        Longer matches win over the shorter ones they overlap (荥阳市 over 荥阳); a city's
        name takes its characters too, and an ambiguous key names nothing unless the city
        just before it settles it.
        """
        whole = self.county(text)
        if whole is not None:
            return [whole]
        folded = self._fold(text)
        s = folded.text
        spans: list[tuple[int, int, int, str]] = []  # (-length, start, rank, key)
        for i in range(len(s)):
            for size in range(1, min(self._longest, len(s) - i) + 1):
                key = s[i : i + size]
                if key in self._county_keys and key not in self._weak:
                    spans.append((-size, i, 0, key))
                elif key in self._not_places:
                    spans.append((-size, i, 1, key))
                elif key in self._city_keys:
                    spans.append((-size, i, 2, key))
        taken = [False] * len(s)
        chosen: list[tuple[int, int, int, str]] = []
        for span in sorted(spans):
            size, start = -span[0], span[1]
            if not any(taken[start : start + size]):
                taken[start : start + size] = [True] * size
                chosen.append(span)
        chosen.sort(key=lambda span: span[1])
        found: list[County] = []
        previous_city: tuple[int, str] | None = None  # (end, city)
        for negative_size, start, rank, key in chosen:
            if rank == 2:
                previous_city = (start - negative_size, self._city_keys[key])
                continue
            if rank == 1:
                continue
            candidates = self._county_keys[key]
            if len(candidates) > 1 and previous_city and previous_city[0] == start:
                candidates = tuple(c for c in candidates if c.city == previous_city[1])
            if len(candidates) == 1 and candidates[0] not in found:
                found.append(candidates[0])
        return found


def _skipped(ch: str) -> bool:
    """Whitespace (full-width too) and invisible format characters (zero-width space)."""
    return ch.isspace() or unicodedata.category(ch) == "Cf"
