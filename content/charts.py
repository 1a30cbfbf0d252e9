"""Charts the bot sends as images: a product's price trend as a PNG.

Drawn with matplotlib's Agg canvas directly (no pyplot, so no global figure state and no
display). The image carries only dates and numbers; the words that explain it are in the
reply's template, because the machine's fonts have no Chinese glyphs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TrendPoint:
    day: date
    mean: float  # yuan per unit
    low: float
    high: float


def price_trend_png(points: Sequence[TrendPoint], *, unit_label: str = "yuan") -> bytes:
    """A line of daily mean prices with the day's low–high range shaded; PNG bytes."""
    if not points:
        raise ValueError("a trend needs at least one point")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    ordered = sorted(points, key=lambda p: p.day)
    days = [p.day for p in ordered]
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    figure.subplots_adjust(left=0.1, right=0.97, top=0.95, bottom=0.14)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.fill_between(
        days, [p.low for p in ordered], [p.high for p in ordered], color="#9ecae1", alpha=0.5
    )
    axes.plot(days, [p.mean for p in ordered], marker="o", markersize=3, color="#08519c")
    axes.set_ylabel(unit_label)
    axes.xaxis.set_major_locator(MaxNLocator(7))
    axes.xaxis.set_major_formatter(DateFormatter("%m-%d"))
    axes.grid(True, alpha=0.3)
    low = min(p.low for p in ordered)
    high = max(p.high for p in ordered)
    margin = max((high - low) * 0.15, high * 0.05, 0.01)
    axes.set_ylim(max(0.0, low - margin), high + margin)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
