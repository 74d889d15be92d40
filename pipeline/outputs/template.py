"""Issue 7: each unit's own form for a month, ready to send out, that only takes valid counts.

`make_templates` writes `<out_dir>/<period>/<unit>_<year>年<month>月_月度报表.xlsx` for every unit.
Each holds the form (sheet 月度报表, first, so the reader finds it) with unit and period filled;
count cells shaded and unlocked, everything else locked (protection without password, so a clerk
can still unprotect to fix a label); whole numbers 0–9999 only; 累计完成 < 当月完成 turns red.
A second sheet 填表说明 says how to fill it in, how to send it and by when.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from pipeline.core.model import LEVELS
from pipeline.core.ooxml import finish
from pipeline.core.period import Month
from pipeline.core.settings import Settings
from pipeline.core.text import cell_text, display_width, name_part
from pipeline.outputs import formbook
from pipeline.store.files import atomic

INPUT_FILL = "#FFF2CC"     # light yellow: type here
ALERT_FILL = "#FF9999"     # red: 累计 below 当月
MAX_COUNT = 9999
_WEEKDAYS = "一二三四五六日"


def deadline(period: str, settings: Settings) -> date:
    """The due date of `period` ("2016-10")."""
    return settings.deadline(period).date()


def deadline_text(period: str, settings: Settings) -> str:
    """`2016年10月31日（星期一）23:59 前`"""
    due = deadline(period, settings)
    hhmm = str(settings["deadline"]["time"])[:5]
    return f"{due.year}年{due.month}月{due.day}日（星期{_WEEKDAYS[due.weekday()]}）{hhmm} 前"


def file_name(unit: str, period: str) -> str:
    return f"{name_part(unit, '未命名单位')}_{Month(period).text}_月度报表.xlsx"


def _instructions(unit: str, period: str, due: str, bureau: str) -> list[str]:
    year, month = Month(period).year, Month(period).number
    return [
        "填表说明",
        "",
        f"本表为{unit} {year}年{month}月《工贸企业安全生产标准化月度报表》，单位和月份已填好，请勿改动表格结构。",
        "一、怎么填",
        "1. 只在“月度报表”工作表的浅黄色格子里填写，其他格子已锁定。",
        "2. 每格填企业家数，只能是 0 到 9999 的整数；没有就填 0 或空着。",
        "3. 当月完成：本月新取得该级别标准化达标证书的企业家数。",
        ("4. 累计完成：截至本月底已达标的企业家数（上月累计完成 + 本月当月完成），不能小于当月完成；"
         "小于时格子会变红，请改正。"),
        "5. 正在评审：目前正在评审、尚未取得证书的企业家数。",
        "6. 合计行自动求和，不用填写。",
        "二、怎么报",
        (f"7. 填好后保存，文件名不要改；于 {due}将本文件（电子版）通过电子邮件发送给区安全监管局，"
         "或拷贝后报送区安全监管局。"),
        "8. 请直接报送本 Excel 文件，不要改成图片、PDF 或 Word。",
        "9. 报送后会收到回执；如有问题，回执会写明哪一格、怎么改，改后重新报送即可。",
        "",
        bureau,
    ]


def write_template(path, unit: str, period: str, due: str, bureau: str) -> Path:
    """One unit's template for one month at `path`; `due` is the deadline as text."""
    path = Path(path)
    book, data = formbook.new_book(path.stem.replace("_", " "), bureau)
    ws = book.add_worksheet(formbook.SHEET_NAME)
    formbook.lay_out(book, ws, unit, period, None, blank=True, count={"locked": False, "bg_color": INPUT_FILL})
    first, last = formbook.FIRST_ROW - 1, formbook.TOTAL_ROW - 2   # 0-based rows of the counts
    ws.data_validation(first, 1, last, formbook.LAST_COL - 1, {
        "validate": "integer", "criteria": "between", "minimum": 0, "maximum": MAX_COUNT, "ignore_blank": True,
        "input_title": "填写企业家数", "input_message": f"请填 0 到 {MAX_COUNT} 的整数；没有填 0 或空着。",
        "error_title": "输入有误", "error_type": "stop",
        "error_message": f"这里只能填 0 到 {MAX_COUNT} 的整数（企业家数），不能填小数、负数或文字。"})
    alert = book.add_format({"fg_color": ALERT_FILL, "bg_color": ALERT_FILL})
    for level in LEVELS:
        new = xl_col_to_name(formbook.count_col(level, "new") - 1)
        cum = formbook.count_col(level, "cumulative") - 1
        ws.conditional_format(first, cum, last, cum, {
            "type": "formula", "criteria": f"=N({xl_col_to_name(cum)}{first + 1})<N({new}{first + 1})", "format": alert})
    # no password: protection guides, it does not lock clerks out; they may widen columns, recolour
    ws.protect("", {"format_cells": True, "format_columns": True, "format_rows": True})

    notes = book.add_worksheet("填表说明")
    looks = {size_bold: book.add_format({"font_name": "宋体", "font_size": size_bold[0], "bold": size_bold[1],
                                         "text_wrap": True, "valign": "top"})
             for size_bold in ((16, True), (12, True), (12, False))}
    for i, line in enumerate(_instructions(unit, period, due, bureau)):
        if not line:
            continue
        look = (16, True) if i == 0 else (12, line[:2] in ("一、", "二、"))
        notes.write_string(i, 0, cell_text(line), looks[look])
        # LibreOffice does not grow rows for wrapped text on load: size them here
        notes.set_row(i, 20 * -(-display_width(line) // 62))
    notes.set_column(0, 0, 60)
    notes.set_paper(9)
    notes.fit_to_pages(1, 1)
    notes.protect()
    ws.activate()
    book.close()
    return atomic(path, lambda tmp: finish(data.getvalue(), tmp))


def make_templates(units: list[str], period: str, out_dir: Path, settings: Settings) -> list[Path]:
    """Write every unit's template for `period` into `out_dir / period`; returns the paths."""
    target = Path(out_dir) / period
    target.mkdir(parents=True, exist_ok=True)
    due = deadline_text(period, settings)
    bureau = str(settings["district"]["bureau"])
    return [write_template(target / file_name(unit, period), unit, period, due, bureau) for unit in units]

