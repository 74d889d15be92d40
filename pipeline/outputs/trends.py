"""Each unit's 达标率 month by month: the figures, a small inline SVG for the HTML 通报, and the
small multiples of the annual 通报 (one panel a unit, against the year's target).

A month the unit did not report has no point (the line breaks there): a rate is never carried over
or guessed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from pipeline.core.period import Month
from pipeline.outputs.chart import MM, REACHED, TARGET, cjk_font
from pipeline.store.files import atomic


@dataclass(frozen=True)
class Trend:
    unit: str
    months: tuple[str, ...]          # "2016-01" ...
    rates: tuple[float | None, ...]  # 达标率 at each month's end, None where the unit did not report


def trends(units, months: list[str], counted: dict[str, dict]) -> tuple[Trend, ...]:
    """`counted`: month -> unit -> its counted submission (with rows). Units without above-scale
    enterprises have no rate and no trend."""
    out = []
    for u in units:
        if u.base <= 0:
            continue
        rates = tuple(sum(r.cumulative or 0 for r in counted[m][u.name].rows) / u.base if u.name in counted[m] else None
                      for m in months)
        out.append(Trend(u.name, tuple(months), rates))
    return tuple(out)


def top_of(rows: tuple[Trend, ...], target: float) -> float:
    """The common upper end of every panel's scale: the highest rate or the target, rounded up to 10 %."""
    high = max([target] + [r for t in rows for r in t.rates if r is not None])
    return min(1.0, math.ceil(high * 10 + 1e-9) / 10) if high <= 1 else math.ceil(high * 10) / 10


def sparkline(trend: Trend, target: float, top: float, width: int = 180, height: int = 40) -> Markup:
    """An inline SVG of one unit's rates (a line broken where it did not report, a dot a month) and
    the target as a red dashed line. Made of numbers only: nothing from a clerk is in it."""
    pad, n = 4, len(trend.months)

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * min(v, top) / top

    parts = [f'<line x1="{pad}" x2="{width - pad}" y1="{y(target):.1f}" y2="{y(target):.1f}" stroke="{TARGET}" '
             f'stroke-width="1" stroke-dasharray="3,2"/>']
    run: list[str] = []
    for i, v in enumerate(trend.rates + (None,)):
        if v is None:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{REACHED}" stroke-width="1.5" points="{" ".join(run)}"/>')
            run = []
            continue
        run.append(f"{x(i):.1f},{y(v):.1f}")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="1.8" fill="{REACHED}"/>')
    label = "、".join(f"{Month(m).number}月{'未报' if v is None else f'{v:.1%}'}" for m, v in zip(trend.months, trend.rates))
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img"><title>{label}</title>{"".join(parts)}</svg>')


def draw_trends(rows: tuple[Trend, ...], target: float, out: Path, target_label: str) -> Path:
    """Small multiples: one panel a unit, its rate month by month against the target line. Four
    panels a line, more for many units: the figure stays within a page (156 × at most 144 mm)."""
    family = cjk_font()
    top = top_of(rows, target)
    columns = max(4, math.ceil(math.sqrt(len(rows))))
    lines = max(1, math.ceil(len(rows) / columns))
    with matplotlib.rc_context({"font.family": [family], "axes.unicode_minus": False, "font.size": 8}):
        fig = Figure(figsize=(156 * MM, (12 + 132 / columns * lines) * MM), dpi=200)
        FigureCanvasAgg(fig)
        axes = fig.subplots(lines, columns, sharex=True, sharey=True, squeeze=False)
        for k, ax in enumerate(axes.flat):
            if k >= len(rows):
                ax.set_visible(False)
                continue
            t = rows[k]
            xs = [Month(m).number for m in t.months]
            ys = [math.nan if v is None else v for v in t.rates]
            ax.axhline(target, color=TARGET, linestyle="--", linewidth=0.9)
            ax.plot(xs, ys, color=REACHED, linewidth=1.4, marker="o", markersize=2.2)
            last = next((v for v in reversed(t.rates) if v is not None), None)
            ax.set_title(f"{t.unit}  {'—' if last is None else f'{last:.0%}'}", fontsize=8.5, pad=3)
            ax.set_ylim(0, top)
            ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
            ax.set_xticks([x for x in xs if x % 3 == 0 or len(xs) <= 4])
            ax.set_xticklabels([f"{x}月" for x in xs if x % 3 == 0 or len(xs) <= 4])
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
            ax.grid(axis="y", color="#dddddd", linewidth=0.5)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.suptitle(f"各单位月末达标率（红色虚线为{target_label} {target:.0%}；未报送的月份无点）", fontsize=9)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        return atomic(out, lambda tmp: fig.savefig(tmp, format="png"))
