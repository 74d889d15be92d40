"""排名表 `.xlsx`: the bulletin's 附件1 as a workbook, with a native Excel chart of the 达标率.

Each cell says what the bulletin's table says (差距 in 百分点 or 已达标, 备注 缺报8月, 0 certified for
a unit that never reported), as numbers where they are numbers. It prints on one A4 landscape
page, the chart whole below the table.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText
from openpyxl.drawing.line import LineProperties
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.drawing.text import Font as DrawingFont
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipeline.core.text import set_text
from pipeline.outputs.xlsx import book_properties, on_a4
from pipeline.store.files import atomic

if TYPE_CHECKING:
    from pipeline.figures.aggregate import RankRow

HEADERS = ("名次", "单位", "规模以上\n企业数", "达标\n企业数", "达标率", "目标", "差距\n（百分点）", "季度\n新增",
           "按时\n报送", "正在\n评审", "备注")
WIDTHS = (6, 14, 10, 8, 9, 8, 11, 7, 7, 7, 16)
BELOW = "C00000"                       # 达标率 and 差距 of a unit below the year's target: red text
GREY = PatternFill("solid", fgColor="D9D9D9")
BAR, TARGET_LINE = "2F5D8A", "C00000"   # as the bulletin's chart: blue bars, a red dashed target line
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
# One line each: a wrapped merged cell is not grown on opening, and LibreOffice starts a line with 。
NOTES = ("注：1.达标企业数为各单位季度末月报表中一级、二级、三级“累计完成”之和（缺报末月的按其最近一个月报表计算），"
         "正在评审的企业不计入。",
         "2.达标率＝达标企业数÷规模以上企业数；差距＝目标－达标率，单位为百分点。",
         "3.排名依次按达标率、季度新增、按时报送月数从高到低确定，三项均相同的并列；全季度未报送的单位（灰底）列于最后。",
         "4.红字为未达到年度目标；图中柱长为各单位达标率，红色虚线为年度目标。")
CHART_ROWS = 20                        # rows of 15 pt the chart spans (≈ 10.6 cm)


REGISTER_HEADERS = ("基数来源", "台账达标企业数", "台账达标率")
REGISTER_NOTES = ("5.企业台账中有该单位企业的，规模以上企业数取台账中未关闭的规模以上企业数，否则取单位名录（见“基数来源”）。",
                  "6.台账达标率＝台账中季度末证书有效的规模以上企业数÷规模以上企业数，供核对，不参与排名。")


def _register_columns(ws, rows: Sequence[RankRow]) -> None:
    """Beside the ranking (docs/register.md §4): where each base came from, and the register's own
    certified above-scale enterprises and 达标率."""
    first = len(HEADERS) + 1
    for k, (head, width) in enumerate(zip(REGISTER_HEADERS, (10, 15, 12))):
        cell = ws.cell(2, first + k, head)
        cell.font = Font(name="黑体", bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BOX
        ws.column_dimensions[get_column_letter(first + k)].width = width
    for r, row in enumerate(rows, start=3):
        values = (row.base_source, row.register_certified, row.register_rate)
        for k, value in enumerate(values):
            cell = ws.cell(r, first + k)
            if k == 0:
                set_text(cell, value)
            else:
                cell.value = value
            cell.border = BOX
            cell.alignment = Alignment(horizontal="center")
        ws.cell(r, first + 2).number_format = "0.0%"


def _font(size=900, bold=False) -> RichText:
    props = CharacterProperties(latin=DrawingFont(typeface="Noto Sans CJK SC"),
                                ea=DrawingFont(typeface="黑体"), sz=size, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def gap_cell(gap: float | None):
    """差距 as a 排名表 shows it, in 百分点 as 附件1 gives it, or 已达标; None where there is no rate."""
    if gap is None:
        return None
    return "已达标" if gap <= 0 else round(gap * 100, 1)


def _row_values(row: RankRow) -> list:
    from pipeline.outputs.bulletin_context import remark
    gap = "—" if row.gap is None else gap_cell(row.gap)
    return [row.rank if row.rank is not None else "—", row.unit, row.base, row.certified,
            row.rate if row.rate is not None else "—", row.target, gap, row.new_in_quarter, row.on_time,
            row.reviewing, remark(row)]


def write_ranking_book(path: Path, title: str, rows: Sequence[RankRow], target: float, *, author: str,
                       made: dt.datetime | None = None, register: bool = False) -> Path:
    """The workbook of the quarter's ranking (`rows` in ranking order, as the bulletin has them); with
    `register` (the enterprise register was used), each row's base source and the register's own
    certified count and rate stand beside it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "排名表"
    last_col = get_column_letter(len(HEADERS))
    ws.append([title])
    ws.merge_cells(f"A1:{last_col}1")
    ws["A1"].font = Font(name="黑体", size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 32
    ws.append(list(HEADERS))
    ws.row_dimensions[2].height = 32              # two lines: LibreOffice does not grow it on opening
    for c in ws[2]:
        c.font = Font(name="黑体", size=10.5)
        c.alignment = CENTER
        c.border = BOX
    for i, w in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    for row in rows:
        _ranking_row(ws, row)
    if register:
        _register_columns(ws, rows)
    for text in NOTES + (REGISTER_NOTES if register else ()):
        note = ws.max_row + 1
        set_text(ws.cell(note, 1), text)
        ws.merge_cells(start_row=note, start_column=1, end_row=note, end_column=len(HEADERS))
        ws.cell(note, 1).alignment = Alignment(indent=0 if text.startswith("注") else 2, vertical="center")
        ws.cell(note, 1).font = Font(name="宋体", size=9)
        ws.row_dimensions[note].height = 15
    ws.freeze_panes = "C3"

    ranked = sum(1 for row in rows if row.rank is not None)
    end = note
    if ranked:
        chart = _chart(ws, ranked, target)
        # From the first column to the last, in rows of its own: as wide as the table on any screen.
        chart.anchor = TwoCellAnchor(_from=AnchorMarker(col=0, row=note + 1),
                                     to=AnchorMarker(col=len(HEADERS), row=note + 1 + CHART_ROWS))
        ws.add_chart(chart)
        end = note + 1 + CHART_ROWS
        for r in range(note + 2, end + 1):
            ws.row_dimensions[r].height = 15
    ws.print_area = f"A1:{last_col}{end}"
    ws.print_title_rows = "1:2"
    on_a4(ws)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.5

    book_properties(wb, title, author, made)
    return atomic(path, wb.save)


def _ranking_row(ws, row: RankRow) -> None:
    """One unit's line of the table, as the bulletin's table words it."""
    r = ws.max_row + 1
    ws.row_dimensions[r].height = 18
    for col, value in enumerate(_row_values(row), start=1):
        cell = ws.cell(r, col)
        if isinstance(value, str):
            set_text(cell, value)
        else:
            cell.value = value
        cell.font = Font(name="宋体", size=10.5)
        cell.border = BOX
        cell.alignment = CENTER
    for col, shown in ((5, "0.0%"), (6, "0%"), (7, "0.0"), (9, '0"/3"')):
        ws.cell(r, col).number_format = shown
    if row.status != "排名":
        for col in range(1, len(HEADERS) + 1):
            ws.cell(r, col).fill = GREY
    elif row.rate is not None and row.rate < row.target:
        for col in (5, 7):
            ws.cell(r, col).font = Font(name="宋体", size=10.5, color=BELOW)


def _chart(ws, ranked: int, target: float) -> BarChart:
    """Columns of 达标率 in ranking order and the year's target as a red dashed line, labelled."""
    chart = BarChart()
    chart.type = "col"
    chart.title = "各单位达标率与年度目标"
    chart.y_axis.title = "达标率"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1.0 if target >= 0.9 else None
    chart.gapWidth = 60
    chart.add_data(Reference(ws, min_col=5, min_row=2, max_row=2 + ranked), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=3, max_row=2 + ranked))
    bars = chart.series[0]
    bars.graphicalProperties = GraphicalProperties(solidFill=BAR)
    bars.graphicalProperties.line.solidFill = BAR
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False)
    chart.dataLabels.numFmt = "0.0%"
    chart.dataLabels.position = "outEnd"
    chart.dataLabels.txPr = _font(800)
    # On white: where a label stands across the target line, the line passes behind it.
    chart.dataLabels.spPr = GraphicalProperties(solidFill="FFFFFF")
    line = LineChart()
    line.add_data(Reference(ws, min_col=6, min_row=2, max_row=2 + ranked), titles_from_data=True)
    target_series = line.series[0]
    target_series.graphicalProperties = GraphicalProperties(ln=LineProperties(solidFill=TARGET_LINE, prstDash="dash",
                                                                              w=22225))
    target_series.smooth = False
    target_series.marker.symbol = "none"
    chart += line
    for axis in (chart.x_axis, chart.y_axis):
        axis.txPr = _font(900)
        axis.delete = False
    chart.title.tx.rich.p[0].pPr = ParagraphProperties(defRPr=CharacterProperties(
        ea=DrawingFont(typeface="黑体"), latin=DrawingFont(typeface="Noto Sans CJK SC"), sz=1200, b=True))
    chart.legend.position = "b"
    chart.legend.txPr = _font(900)
    return chart
