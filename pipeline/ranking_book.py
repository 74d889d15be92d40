"""排名表 `.xlsx`: every component of the quarter's ranking per unit, with a native Excel chart."""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.text import RichText
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties
from openpyxl.drawing.text import Font as DrawingFont
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .safety import set_text
from .store import atomic

HEADERS = ("名次", "单位", "规模以上企业数", "达标企业数", "达标率", "年度目标", "差距", "季度新增",
           "按时报送（月）", "正在评审", "备注")
WIDTHS = (7, 14, 10, 10, 9, 9, 9, 9, 10, 9, 30)
RED = PatternFill("solid", fgColor="F8CBAD")
GREY = PatternFill("solid", fgColor="D9D9D9")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _note(row) -> str:
    parts = []
    if row["tied"]:
        parts.append("并列")
    if row["status"] != "排名":
        parts.append(row["status"])
    if row["missing"] and row["status"] == "排名":
        parts.append("未报：" + "、".join(f"{int(m[5:])}月" for m in row["missing"]))
    if row["late"]:
        parts.append("迟报：" + "、".join(f"{int(m[5:])}月" for m in row["late"]))
    return "；".join(parts)


REGISTER_HEADERS = ("基数来源", "台账达标企业数", "台账达标率")
REGISTER_NOTE = ("规模以上企业数：企业台账中有该单位企业的，取台账中未关闭的规模以上企业数，否则取单位名录（基数来源）；"
                 "台账达标率 = 台账中季度末证书有效的规模以上企业数 ÷ 规模以上企业数，供核对，不参与排名。")


def _register_columns(ws, units: list[str], register: dict) -> None:
    """Beside the ranking (ENTERPRISES.md §4): where each base came from, and the register's own
    certified above-scale enterprises and 达标率."""
    first = len(HEADERS) + 1
    for k, (head, width) in enumerate(zip(REGISTER_HEADERS, (10, 15, 12))):
        cell = ws.cell(2, first + k, head)
        cell.font = Font(name="黑体", bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BOX
        ws.column_dimensions[get_column_letter(first + k)].width = width
    for r, unit in enumerate(units, start=3):
        row = register.get(unit)
        values = (row.base_source, row.register_certified, row.register_rate) if row else ("", None, None)
        for k, value in enumerate(values):
            cell = ws.cell(r, first + k)
            if k == 0:
                set_text(cell, value)
            else:
                cell.value = value
            cell.border = BOX
            cell.alignment = Alignment(horizontal="center")
        ws.cell(r, first + 2).number_format = "0.0%"


def _font(size=1000, bold=False) -> RichText:
    props = CharacterProperties(latin=DrawingFont(typeface="Noto Sans CJK SC"),
                                ea=DrawingFont(typeface="黑体"), sz=size, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def write_ranking_book(path: Path, title: str, ranking, target: float, register: dict | None = None) -> Path:
    """`ranking` is the frame of `aggregate.rank`, in order; `register`, when the enterprise register
    was used: unit -> its RankRow, whose base source and register's own rate stand beside the row."""
    wb = Workbook()
    ws = wb.active
    ws.title = "排名表"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws["A1"].font = Font(name="黑体", size=16)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(list(HEADERS))
    for c in ws[2]:
        c.font = Font(name="黑体", bold=True)
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        c.border = BOX
    for i, w in enumerate(WIDTHS):
        ws.column_dimensions[chr(65 + i)].width = w
    for _, row in ranking.iterrows():
        r = ws.max_row + 1
        values = [row["rank"], None, row["base"], row["certified"], row["rate"], row["target"], row["gap"],
                  row["new_in_quarter"], row["on_time"], row["reviewing"], None]
        for col, v in enumerate(values, start=1):
            cell = ws.cell(r, col)
            cell.value = None if v is None or v != v else (int(v) if col in (1, 3, 4, 8, 9, 10) else float(v))
            cell.border = BOX
            cell.alignment = Alignment(horizontal="center")
        set_text(ws.cell(r, 2), row["unit"])
        set_text(ws.cell(r, 11), _note(row))
        ws.cell(r, 11).alignment = Alignment(horizontal="left", wrap_text=True)
        for col in (5, 6, 7):
            ws.cell(r, col).number_format = "0.0%"
        if row["status"] != "排名":
            for col in range(1, len(HEADERS) + 1):
                ws.cell(r, col).fill = GREY
        elif row["rate"] is not None and row["rate"] < target:
            ws.cell(r, 5).fill = RED
            ws.cell(r, 7).fill = RED
    last = ws.max_row
    if register:
        _register_columns(ws, list(ranking["unit"]), register)
    ws.append([])
    ws.append(["说明：达标率 = 达标企业数（各行业各级别累计完成之和，取季度末月）÷ 规模以上企业数；"
               "名次依次按达标率、季度新增、按时报送月数从高到低，三项相同者并列；红色为未达年度目标。"
               + (REGISTER_NOTE if register else "")])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(HEADERS))
    ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=True)
    ws.row_dimensions[ws.max_row].height = 48 if register else 32
    ws.freeze_panes = "C3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    ranked = int((ranking["status"] == "排名").sum())
    if ranked:
        chart = BarChart()
        chart.type = "col"
        chart.title = "各单位达标率与年度目标"
        chart.y_axis.title = "达标率"
        chart.y_axis.number_format = "0%"
        chart.y_axis.scaling.min = 0
        data = Reference(ws, min_col=5, min_row=2, max_row=2 + ranked)
        cats = Reference(ws, min_col=2, min_row=3, max_row=2 + ranked)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(cats)
        chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False,
                                         showLegendKey=False)
        chart.dataLabels.numFmt = "0%"
        line = LineChart()
        line.add_data(Reference(ws, min_col=6, min_row=2, max_row=2 + ranked), titles_from_data=True)
        chart += line
        for axis in (chart.x_axis, chart.y_axis):
            axis.txPr = _font(900)
            axis.delete = False
        chart.title.tx.rich.p[0].pPr = ParagraphProperties(defRPr=CharacterProperties(
            ea=DrawingFont(typeface="黑体"), latin=DrawingFont(typeface="Noto Sans CJK SC"), sz=1400, b=True))
        chart.legend.position = "b"
        chart.legend.txPr = _font(900)
        chart.height, chart.width = 9, 26
        ws.add_chart(chart, f"A{last + 4}")

    return atomic(path, wb.save)
