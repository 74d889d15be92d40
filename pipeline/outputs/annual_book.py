"""年度排名表 `.xlsx`: the year's 综合排名 with every part of each unit's score, and each unit's
达标率 month by month with a native Excel chart a unit (small multiples against the target line)."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from pipeline.core.period import Month
from pipeline.core.text import set_text
from pipeline.outputs.annual_bulletin import annual_remark, place, quarter_word
from pipeline.outputs.ranking_book import BELOW, BOX, GREY, _font, gap_cell
from pipeline.outputs.xlsx import on_a4
from pipeline.store.files import atomic

HEADERS = ("名次", "单位", "规模以上\n企业数", "一季度\n名次", "二季度\n名次", "三季度\n名次", "四季度\n名次",
           "年末达标\n企业数", "年末\n达标率", "年度目标", "差距\n（百分点）", "全年新增", "按时报送\n（月）", "应报\n（月）",
           "年末达标率\n得分", "季度排名\n得分", "按时报送\n得分", "全年新增\n得分", "综合得分", "备注")
WIDTHS = (6, 13, 9, 7, 7, 7, 7, 9, 9, 8, 10, 8, 10, 8, 9, 9, 9, 9, 8, 26)
PERCENT = {9, 10}
SCORES = {15, 16, 17, 18, 19}
CHART_COLUMNS, CHART_W, CHART_H = 4, 8.2, 5.2      # small multiples: per row; each cm wide and high
CELL_W, CELL_H = 2.1, 0.53                          # cm a column (width 9.1) and a row take, roughly


def _title(ws, text: str, width: int):
    ws.append([text])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.cell(ws.max_row, 1).font = Font(name="黑体", size=15)
    ws.cell(ws.max_row, 1).alignment = Alignment(horizontal="center")
    ws.row_dimensions[ws.max_row].height = 26


def _note(ws, text: str, width: int, height: float):
    ws.append([None])
    set_text(ws.cell(ws.max_row, 1), text)
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=width)
    ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[ws.max_row].height = height


def _header(ws, heads):
    ws.append(list(heads))
    for c in ws[ws.max_row]:
        c.font = Font(name="黑体", bold=True)
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        c.border = BOX
    ws.row_dimensions[ws.max_row].height = 30


def _ranking_sheet(ws, ctx, rule: str):
    _title(ws, f"{ctx.year}年度各乡（镇）办事处安全生产标准化达标创建综合排名表", len(HEADERS))
    _header(ws, HEADERS)
    for i, w in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row in ctx.ranking:
        _ranking_row(ws, row)
    if ctx.missing_quarters:
        _note(ws, "不计入的季度：" + "；".join(f"{quarter_word(q)}{why}" for q, why in ctx.missing_quarters) + "。",
              len(HEADERS), 18)
    _note(ws, rule, len(HEADERS), 64)
    ws.freeze_panes = "C3"
    on_a4(ws, tall=0)


def _ranking_row(ws, row) -> None:
    """One unit's line: its place, each quarter's, the year's figures and each part's score."""
    parts = row.parts
    values = [row.rank, None, row.base, *[None] * 4, row.certified, row.rate, row.target, gap_cell(row.gap),
              row.new_in_year, row.on_time, row.due, parts.get("rate"), parts.get("quarters"),
              parts.get("on_time"), parts.get("new"), row.score, None]
    ws.append([None] * len(HEADERS))
    r = ws.max_row
    for col, v in enumerate(values, 1):
        cell = ws.cell(r, col)
        cell.value = v
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center")
        if col in PERCENT:
            cell.number_format = "0.0%"
        elif col in SCORES:
            cell.number_format = "0.0"
    set_text(ws.cell(r, 2), row.unit)
    for k, p in enumerate(row.places):
        cell = ws.cell(r, 4 + k)
        if p is not None and p.rank is not None:
            cell.value = p.rank
        else:
            set_text(cell, place(p))
    set_text(ws.cell(r, 20), annual_remark(row))
    ws.cell(r, 20).alignment = Alignment(horizontal="left", wrap_text=True)
    if row.status != "排名":
        for col in range(1, len(HEADERS) + 1):
            ws.cell(r, col).fill = GREY
    elif row.rate is not None and row.rate < row.target:
        for col in (9, 11):   # below the year's target: red text, as in the quarterly 排名表
            ws.cell(r, col).font = Font(name="宋体", size=10.5, color=BELOW)


def _trend_sheet(ws, ctx):
    months = ctx.trends[0].months if ctx.trends else ()
    width = 1 + len(months)
    _title(ws, f"{ctx.year}年度各单位月末达标率", max(width, 2))
    _header(ws, ["单位", *[f"{Month(m).number}月" for m in months]])
    ws.column_dimensions["A"].width = 13
    for i in range(2, width + 1):
        ws.column_dimensions[get_column_letter(i)].width = 9.1
    first = ws.max_row + 1
    for t in ctx.trends:
        ws.append([None, *t.rates])
        set_text(ws.cell(ws.max_row, 1), t.unit)
    ws.append([None, *[ctx.summary.target] * len(months)])
    set_text(ws.cell(ws.max_row, 1), f"{ctx.year}年底目标")
    target_row = ws.max_row
    for row in ws.iter_rows(min_row=first, max_row=target_row):
        for cell in row:
            cell.border = BOX
            if cell.column > 1:
                cell.number_format = "0.0%"
                cell.alignment = Alignment(horizontal="center")
    _note(ws, "空白为该月未报送（不推算）。下面每个单位一幅图：蓝线为该单位各月月底达标率，红色虚线为年度目标。",
          max(width, 2), 18)
    top = ws.max_row + 2
    for k, t in enumerate(ctx.trends):
        chart = LineChart()
        chart.title = t.unit
        chart.style = 2
        chart.height, chart.width = CHART_H, CHART_W
        r = first + k
        chart.add_data(Reference(ws, min_col=1, max_col=width, min_row=r, max_row=r), from_rows=True,
                       titles_from_data=True)
        chart.add_data(Reference(ws, min_col=1, max_col=width, min_row=target_row, max_row=target_row),
                       from_rows=True, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, max_col=width, min_row=first - 1, max_row=first - 1))
        rate, goal = chart.series
        rate.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill="2F5D8A", w=22000))
        goal.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill="C00000", w=12700, prstDash="dash"))
        rate.smooth = goal.smooth = False
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 1
        chart.y_axis.majorUnit = 0.25
        chart.y_axis.number_format = "0%"
        chart.legend = None
        for axis in (chart.x_axis, chart.y_axis):
            axis.txPr = _font(700)
            axis.delete = False
        chart.title.tx.rich.p[0].pPr = _font(900, bold=True).p[0].pPr
        row, col = divmod(k, CHART_COLUMNS)
        anchor_col = 1 + round(col * CHART_W / CELL_W)
        anchor_row = top + round(row * CHART_H / CELL_H)
        ws.add_chart(chart, f"{get_column_letter(anchor_col)}{anchor_row}")
    on_a4(ws, tall=0)


def write_annual_book(path: Path, ctx, rule: str) -> Path:
    """`ctx`: the annual_bulletin.AnnualContext; `rule`: the scoring rule in words."""
    wb = Workbook()
    _ranking_sheet(wb.active, ctx, rule)
    wb.active.title = "综合排名"
    _trend_sheet(wb.create_sheet("月度达标率"), ctx)
    return atomic(path, wb.save)
