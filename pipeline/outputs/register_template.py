"""A blank enterprise register for staff to fill in (`python -m pipeline template --register`).

Sheet 企业台账 has the columns of docs/register.md §1 in row 1 (frozen, filtered), drop-down lists for
所属单位 (the units of units.csv), 行业, 规模, 状态 and 等级, dates that must be dates, and the code
column kept as text (an 18-character code typed into a number cell loses its last digits). Sheet
回访记录 takes revisits, sheet 填写说明 says how, and a hidden sheet 选项 holds the lists. The
pipeline reads the blank register as a register with no enterprise.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter

from pipeline.core.model import INDUSTRIES
from pipeline.core.text import display_width
from pipeline.read.register import LABELS
from pipeline.read.register_table import HIGH_RISK
from pipeline.schemas.register import GRADES, RESULTS, SCALES, STATUSES
from pipeline.store.files import atomic

HEADER = tuple(LABELS)
ROWS = 5000          # rows with lists and checks ready
FILE_NAME = "企业台账_空白.xlsx"
WIDTHS = {"统一社会信用代码": 22, "企业名称": 32, "所属单位": 14, "行业": 8, "规模": 10, "状态": 10, "等级": 7,
          "证书编号": 18, "发证日期": 12, "有效期至": 12, "摘牌日期": 12, "评审单位": 28, "最近检查日期": 13,
          "最近回访日期": 13, "高风险作业": 30}
PROMPTS = {
    "统一社会信用代码": "营业执照上的 18 位代码（数字和大写字母，不用 I、O、Z、S、V）。",
    "所属单位": "从下拉列表中选择企业所在的乡（镇）办事处。",
    "行业": "月度报表的八个行业之一。",
    "规模": "规模以上、规模以下或小微。达标率的分母是规模以上企业。",
    "状态": "未开展、创建中、正在评审、已达标、已摘牌、已关闭。",
    "等级": "已达标、已摘牌的企业填写，其他状态留空。",
    "证书编号": "已达标企业的证书编号。",
    "发证日期": "已达标企业必填，如 2016-09-28。",
    "有效期至": "证书有效期的最后一天；不填则按发证日期加 3 年减 1 天。",
    "摘牌日期": "已摘牌企业必填（回访记录中结果为“摘牌”的可不填）。",
    "最近检查日期": "最近一次执法检查的日期。",
    "最近回访日期": "最近一次回访的日期（也可在“回访记录”页逐次登记）。",
    "高风险作业": "临时用电、有限空间、动火、起重吊装、主要设备设施，多项用分号“;”隔开。",
}
INSTRUCTIONS = [
    "填写说明",
    "本表为工贸企业安全生产标准化企业台账（二七安监管〔2016〕8号 六（一））。每家企业一行，不要改动第一行的表头。",
    "一、填好后保存为 reference/enterprises.xlsx（也可为 .xls、.ods）。运行月度汇总、季度通报或 python -m pipeline "
    "register 时系统自动读取、检查并存档，每次改动都留有记录。",
    "二、所属单位、行业、规模、状态、等级请从下拉列表中选择；日期按 2016-09-28 的写法填写。",
    "三、统一社会信用代码为 18 位，系统用校验位核对；同一企业只能登记一行。",
    "四、已达标：填写等级、证书编号、发证日期（有效期至可不填，默认为发证日期加 3 年减 1 天）。已摘牌：填写等级和摘牌日期。"
    "未开展、创建中、正在评审、已关闭的企业不填等级。",
    "五、“回访记录”页每次回访一行：统一社会信用代码、回访日期、结果（合格、限期整改、摘牌）、发现的问题。"
    "结果为“摘牌”的回访自当日起撤销该企业的证书。",
    "六、有错误的行暂不使用；运行后“企业台账工作清单”的“台账问题”页写明哪一格有什么问题、怎样改。",
    "七、各乡（镇）办事处月报的累计完成将与本台账中月底达标有效的企业数核对；季度排名的规模以上企业数也取自本台账。",
]
NOTE_WIDTH = 76   # characters of the instructions' column


def write_register_template(path: Path, units: list[str], bureau: str) -> Path:
    """The blank register at `path`."""
    def write(tmp):
        book = xlsxwriter.Workbook(tmp, {"strings_to_numbers": False, "strings_to_formulas": False})
        head = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center",
                                "valign": "vcenter", "font_name": "宋体", "text_wrap": True})
        text = book.add_format({"num_format": "@", "font_name": "宋体"})
        date = book.add_format({"num_format": "yyyy-mm-dd", "font_name": "宋体", "align": "center"})
        plain = book.add_format({"font_name": "宋体"})
        ws = book.add_worksheet("企业台账")
        options = book.add_worksheet("选项")
        lists = {"所属单位": units, "行业": INDUSTRIES, "规模": SCALES, "状态": STATUSES, "等级": GRADES,
                 "结果": RESULTS, "高风险作业": HIGH_RISK}
        where = {}
        for c, (name, values) in enumerate(lists.items()):
            options.write_string(0, c, name)
            for r, v in enumerate(values, start=1):
                options.write_string(r, c, v)
            col = xlsxwriter.utility.xl_col_to_name(c)
            where[name] = f"=选项!${col}$2:${col}${len(values) + 1}"
        options.hide()

        ws.set_row(0, 30)
        for c, name in enumerate(HEADER):
            ws.write_string(0, c, name, head)
            fmt = date if name.endswith("日期") or name == "有效期至" else text if name == "统一社会信用代码" else plain
            ws.set_column(c, c, WIDTHS[name], fmt)
            rng = (1, c, ROWS, c)
            prompt = {"input_title": name[:32], "input_message": PROMPTS[name][:255]} if name in PROMPTS else {}
            if name in lists and name != "高风险作业":   # several of them a cell: a prompt, not a list
                ws.data_validation(*rng, {"validate": "list", "source": where[name], **prompt,
                                          "error_title": "请从列表中选择",
                                          "error_message": f"{name}只能是下拉列表中的一项。"})
            elif fmt is date:
                ws.data_validation(*rng, {"validate": "date", "criteria": "between",
                                          "minimum": dt.date(1980, 1, 1), "maximum": dt.date(2099, 12, 31), **prompt,
                                          "error_title": "请填写日期", "error_message": "请填写日期，如 2016-09-28。"})
            elif name == "统一社会信用代码":
                ws.data_validation(*rng, {"validate": "length", "criteria": "==", "value": 18, **prompt,
                                          "error_type": "warning", "error_title": "代码应为 18 位",
                                          "error_message": "统一社会信用代码应为 18 位，请核对营业执照。"})
            elif prompt:
                ws.data_validation(*rng, {"validate": "any", **prompt})
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, ROWS, len(HEADER) - 1)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)

        rv = book.add_worksheet("回访记录")
        for c, (name, width) in enumerate((("统一社会信用代码", 22), ("回访日期", 12), ("结果", 10), ("问题", 40))):
            rv.write_string(0, c, name, head)
            rv.set_column(c, c, width, date if name == "回访日期" else text if c == 0 else plain)
        rv.data_validation(1, 2, ROWS, 2, {"validate": "list", "source": where["结果"],
                                           "error_title": "请从列表中选择", "error_message": "结果只能是合格、限期整改或摘牌。"})
        rv.data_validation(1, 1, ROWS, 1, {"validate": "date", "criteria": "between", "minimum": dt.date(1980, 1, 1),
                                           "maximum": dt.date(2099, 12, 31), "error_title": "请填写日期",
                                           "error_message": "请填写日期，如 2016-09-28。"})
        rv.freeze_panes(1, 0)
        rv.set_row(0, 30)

        rv.set_landscape()
        rv.set_paper(9)
        rv.fit_to_pages(1, 0)

        notes = book.add_worksheet("填写说明")
        notes.set_column(0, 0, NOTE_WIDTH)
        big = book.add_format({"bold": True, "font_size": 16, "font_name": "宋体"})
        wrap = book.add_format({"font_name": "宋体", "text_wrap": True, "valign": "top"})
        for r, line in enumerate([*INSTRUCTIONS, bureau]):
            notes.write_string(r, 0, line, big if r == 0 else wrap)
            # LibreOffice does not grow a row for wrapped text on opening: as high as its lines
            lines = -(-display_width(line) // (NOTE_WIDTH + 12))
            notes.set_row(r, 28 if r == 0 else 16 * lines + 4)
        notes.set_paper(9)
        notes.fit_to_pages(1, 1)
        ws.activate()
        book.close()
    return atomic(Path(path), write)
