"""The bulletin's chart: 达标率 by unit, in ranking order, against the year's target line.

Drawn on a bare Agg canvas (no pyplot, no global backend switch) with a CJK font chosen
explicitly: matplotlib's default fonts have no Chinese glyphs and would print boxes.
"""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator, PercentFormatter
from matplotlib.transforms import offset_copy

from pipeline.store.files import atomic

if TYPE_CHECKING:
    from pipeline.figures.aggregate import RankRow

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
REACHED, BELOW, FAR_BELOW, TARGET, MUTED = "#2f5d8a", "#d9822b", "#b8322f", "#c00000", "#8c8c8c"
MM = 1 / 25.4


def cjk_font() -> str:
    """A font family with Chinese glyphs that matplotlib can use; raises if there is none."""
    for family in CJK_FAMILIES:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            return family
        except ValueError:
            continue
    fc_match = shutil.which("fc-match")
    if fc_match:
        done = subprocess.run([fc_match, "-f", "%{file}\n%{family[0]}", ":lang=zh-cn"],
                              capture_output=True, text=True, timeout=30, check=False)
        lines = done.stdout.splitlines()
        if done.returncode == 0 and len(lines) == 2 and Path(lines[0]).exists() and "CJK" in lines[1]:
            font_manager.fontManager.addfont(lines[0])
            return font_manager.FontProperties(fname=lines[0]).get_name()
    raise RuntimeError("没有找到可用的中文字体，图表中的汉字会显示为方框。"
                       "请安装 fonts-noto-cjk（make system）后重试。")


def draw_chart(rows: Sequence[RankRow], target: float, out: Path, target_label: str) -> Path:
    """Horizontal bars, first-ranked on top; units without a rate are listed with their status."""
    with matplotlib.rc_context({"font.family": [cjk_font()], "axes.unicode_minus": False, "font.size": 10}):
        fig = chart_figure(rows, target, target_label)
        out.parent.mkdir(parents=True, exist_ok=True)
        return atomic(out, lambda tmp: fig.savefig(tmp, format="png"))


def chart_figure(rows: Sequence[RankRow], target: float, target_label: str) -> Figure:
    """The chart's figure, laid out (within `draw_chart`'s font settings)."""
    fig = Figure(figsize=(156 * MM, (30 + 6.5 * len(rows)) * MM), dpi=200)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _bars(ax, rows, target)
    ax.axvline(target, color=TARGET, linestyle="--", linewidth=1.4, zorder=3)
    ax.text(target, -0.9, f" {target_label} {target:.0%}", color=TARGET, va="bottom",
            ha="left", fontsize=9)
    top = max([target] + [r.rate for r in rows if r.rate is not None])
    ax.set_xlim(0, min(1.0, top + 0.12) if top < 0.95 else 1.08)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.xaxis.set_major_locator(MultipleLocator(0.1))
    ax.set_xlabel("达标率（达标企业数 ÷ 规模以上企业数）")
    ax.set_ylim(len(rows) - 0.4, -1.2)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    _legend(ax)
    fig.tight_layout()
    return fig


def _bars(ax, rows, target: float) -> None:
    for y, row in enumerate(rows):
        if row.rate is None:
            ax.text(0.005, y, row.status, va="center", ha="left", color=MUTED, fontsize=9, style="italic")
            continue
        colour = REACHED if row.rate >= target else BELOW if row.rate >= target / 2 else FAR_BELOW
        ax.barh(y, row.rate, height=0.62, color=colour, zorder=2)
        # Above the target line, on white: a label that reaches across the line stays readable.
        ax.text(row.rate + 0.006, y, f"{row.rate:.1%}", va="center", ha="left", fontsize=8.5, zorder=4,
                bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "edgecolor": "none"})
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r.unit if r.rank is None else f"{r.rank}. {r.unit}" for r in rows])
    for label, row in zip(ax.get_yticklabels(), rows):
        if row.rate is None:
            label.set_color(MUTED)


def _legend(ax) -> None:
    handles = [Patch(color=REACHED, label="达到年度目标"), Patch(color=BELOW, label="未达到年度目标"),
               Patch(color=FAR_BELOW, label="不足目标的一半")]
    # Below the axis title (34 pt under the axis, whatever the chart's height), outside the bars:
    # inside the plot it covered the longest bars' labels.
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-34, units="points")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, ncol=3,
              fontsize=8.5, frameon=False, handlelength=1.4, columnspacing=1.6)
