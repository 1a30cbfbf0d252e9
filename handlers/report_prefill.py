"""What cunzhan already recorded for a village and month, to prefill a report: training
figures and agency-order totals, looked up on whichever repositories exist.

The training and orders repositories are optional here: each is found by name on
``ctx.repos`` (``training.monthly_figures``, ``orders.monthly_totals``) and a missing one
means "unknown", so the report asks for the figure instead of claiming zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from content.report_types import PREFILL_SOURCES, FieldSpec, Period

LOOKUPS = {"training": "monthly_figures", "orders": "monthly_totals"}


class FigureSource(Protocol):
    """Called once per report form: the month's figures of one source, or None if unknown."""

    async def figures(
        self, source: str, *, county: str, village: str, period: Period
    ) -> Mapping[str, int] | None: ...


@dataclass(frozen=True)
class RepositoryFigures:
    """Looks the figures up on the repositories of this message's session."""

    repos: Any

    async def figures(
        self, source: str, *, county: str, village: str, period: Period
    ) -> Mapping[str, int] | None:
        repo = getattr(self.repos, source, None)
        lookup = getattr(repo, LOOKUPS.get(source, ""), None)
        if lookup is None:
            return None
        found = await lookup(county=county, village=village, year=period.year, month=period.month)
        if found is None:
            return None
        out = {}
        for name in PREFILL_SOURCES[source]:
            value = getattr(found, name, None)
            if value is None and isinstance(found, Mapping):
                value = found.get(name)
            if value is not None:
                out[name] = int(value)
        return out


async def prefill(
    source: FigureSource,
    fields: Sequence[FieldSpec],
    *,
    county: str,
    village: str,
    period: Period,
) -> dict[str, int]:
    """field key → recorded figure, for every prefilled field whose source knows it."""
    wanted = {f.prefill.split(".", 1)[0] for f in fields if f.prefill}
    known: dict[str, Mapping[str, int] | None] = {}
    for name in sorted(wanted):
        known[name] = await source.figures(name, county=county, village=village, period=period)
    values = {}
    for spec in fields:
        if not spec.prefill:
            continue
        name, figure = spec.prefill.split(".", 1)
        figures = known.get(name)
        if figures is not None and figure in figures:
            values[spec.key] = figures[figure]
    return values
