"""The Henan region gazetteer: cities, their county-level units, aliases and OCR variants.

Resolves what people type (滑, 滑县, 安阳滑县, 荣阳) and what OCR made of the
documents to canonical names. The place names live in ``data/``; this module
holds only the rules.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SUFFIXES = ("县", "市", "区")
PROVINCE_PREFIX = re.compile(r"^(河南省|河南)")
SPACES = re.compile(r"[\s\u3000]+")


@dataclass(frozen=True)
class County:
    name: str
    city: str
    kind: str  # "区" | "县" | "市"
    directly_managed: bool = False

    @property
    def stem(self) -> str:
        return _stem(self.name)


@dataclass(frozen=True)
class Match:
    county: County | None
    city: str | None
    corrected_from: str | None = None


def _stem(name: str) -> str:
    for ending in ("回族区", "区", "县", "市"):
        if name.endswith(ending) and len(name) > len(ending):
            return name[: -len(ending)]
    return name


def _clean(text: str) -> str:
    return PROVINCE_PREFIX.sub("", SPACES.sub("", text))


class Gazetteer:
    """Look-ups over one province's cities and county-level units."""

    def __init__(self, cities: dict[str, list[County]], aliases: dict[str, str]) -> None:
        self._cities = cities
        self._units = {c.name: c for units in cities.values() for c in units}
        self._city_keys: dict[str, str] = {}
        for city in cities:
            self._city_keys[city] = city
            self._city_keys[_stem(city)] = city
        candidates: dict[str, set[str]] = defaultdict(set)
        self._alias_keys: set[str] = set()
        for unit in self._units.values():
            candidates[unit.name].add(unit.name)
            stem = unit.stem
            if stem not in self._city_keys or self._city_keys[stem] == unit.name:
                candidates[stem].add(unit.name)
            for suffix in SUFFIXES:
                candidates[stem + suffix].add(unit.name)
        for alias, canonical in aliases.items():
            if canonical in self._cities:
                self._city_keys[alias] = canonical
                continue
            if canonical not in self._units:
                raise ValueError(f"alias {alias!r} names unknown unit {canonical!r}")
            for key in (alias, _stem(alias), *(_stem(alias) + x for x in SUFFIXES)):
                candidates[key].add(canonical)
                self._alias_keys.add(key)
        # A full name always means that unit; other keys only when they are unambiguous.
        self._keys: dict[str, str] = {}
        for key, names in candidates.items():
            if key in self._units:
                self._keys[key] = key
            elif len(names) == 1:
                self._keys[key] = next(iter(names))
        self._aliases = aliases
        self._longest = max(len(k) for k in self._keys)

    @classmethod
    def load(cls, folder: Path | None = None) -> Gazetteer:
        folder = folder or DATA
        cities: dict[str, list[County]] = {}
        for line in _lines(folder / "henan_regions.txt"):
            city, _, rest = line.partition(":")
            units = []
            for raw in rest.split():
                name = raw.rstrip("*")
                units.append(County(name, city.strip(), name[-1], raw.endswith("*")))
            cities[city.strip()] = units
        aliases = {}
        for line in _lines(folder / "region_aliases.txt"):
            alias, _, canonical = line.partition(":")
            aliases[alias.strip()] = canonical.strip()
        return cls(cities, aliases)

    def _strip_city(self, text: str) -> str:
        for city_key in sorted(self._city_keys, key=len, reverse=True):
            if text.startswith(city_key) and len(text) > len(city_key):
                rest = text[len(city_key) :]
                if rest in self._keys:
                    return rest
        return text

    def county(self, text: str) -> County | None:
        """The county-level unit ``text`` names (alias, suffix variant, OCR form), or None."""
        cleaned = _clean(text)
        if not cleaned:
            return None
        city = self._city_keys.get(cleaned)
        if city is not None and city not in self._units:
            return None  # 安阳 is the city; its county is 安阳县
        name = self._keys.get(cleaned) or self._keys.get(self._strip_city(cleaned))
        return self._units.get(name) if name else None

    def city(self, text: str) -> str | None:
        return self._city_keys.get(_clean(text))

    def resolve(self, text: str) -> Match:
        cleaned = _clean(text)
        county = self.county(cleaned)
        if county is not None:
            core = self._strip_city(cleaned)
            corrected = core if core in self._alias_keys and core not in self._units else None
            return Match(county, county.city, corrected)
        city = self.city(cleaned)
        corrected = cleaned if city and cleaned not in (city, _stem(city)) else None
        return Match(None, city, corrected)

    def counties_of(self, city: str) -> list[County]:
        return list(self._cities.get(self.city(city) or city, []))

    def cities(self) -> list[str]:
        return list(self._cities)

    def correct(self, name: str) -> str:
        county = self.county(name)
        if county is not None:
            return county.name
        return self.city(name) or name

    def find_in(self, text: str) -> list[County]:
        """Every county-level unit named in a sentence, in order, longest match first.

        Bare stems of districts (中原, 解放, 红旗…) are everyday words, so in a sentence a
        district needs its 区; single-character stems (滑, 浚) need their 县.
        """
        cleaned = _clean(text)
        whole = self.county(cleaned)
        if whole is not None:
            return [whole]
        found: list[County] = []
        i = 0
        while i < len(cleaned):
            for size in range(min(self._longest, len(cleaned) - i), 1, -1):
                key = cleaned[i : i + size]
                name = self._keys.get(key)
                if name is None:
                    continue
                unit = self._units[name]
                bare = key == unit.stem or (key not in self._units and key[-1] not in SUFFIXES)
                if bare and unit.kind == "区":
                    continue
                if unit not in found:
                    found.append(unit)
                i += size - 1
                break
            i += 1
        return found


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
