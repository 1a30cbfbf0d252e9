"""The submission-rate chart: a PNG of the last 12 periods, one line per county (at most
``MAX_LINES``: the counties lowest in the latest period) and a thick line for all of them.

The machine's fonts have no Chinese glyphs, so the lines are numbered and the reply's
text says which county each number is.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

MAX_LINES = 8


def pick_counties(
    periods: Sequence[str], expected: Mapping[str, int], counts: Mapping[tuple[str, str], int]
) -> list[str]:
    """The counties to draw: the lowest rates in the latest period first."""
    latest = periods[-1]

    def rate(county: str) -> float:
        return counts.get((latest, county), 0) / max(1, expected[county])

    return sorted(expected, key=lambda c: (rate(c), c))[:MAX_LINES]


def render_png(
    periods: Sequence[str],
    expected: Mapping[str, int],
    counts: Mapping[tuple[str, str], int],
    counties: Sequence[str],
) -> bytes:
    """Rates in percent per period; ``expected`` is each county's liaison count."""
    from matplotlib.figure import Figure  # ~0.4 s to import: only when a chart is drawn

    figure = Figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    xs = list(range(len(periods)))
    total = max(1, sum(expected.values()))
    overall = [100 * sum(counts.get((p, c), 0) for c in expected) / total for p in periods]
    axes.plot(xs, overall, color="black", linewidth=3, label="all")
    for number, county in enumerate(counties, 1):
        rates = [
            100 * min(1.0, counts.get((p, county), 0) / max(1, expected[county])) for p in periods
        ]
        axes.plot(xs, rates, marker="o", linewidth=1.5, label=str(number))
    axes.set_xticks(xs, [p[2:] for p in periods], rotation=45)
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", ncol=5, fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
