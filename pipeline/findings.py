"""Every problem the pipeline can report, as data.

One list of codes (FORM.md §3); each code has a severity, a short Chinese title for listings and a
message template a clerk can act on. Checks build findings with `finding(code, cell, **params)`;
they never raise or print. `docs/findings.md` is generated from this list (`python -m pipeline
codes --markdown`) and a test keeps the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Code:
    severity: str
    title: str
    when: str
    template: str


CODES: dict[str, Code] = {
    "UNREADABLE": Code(
        ERROR, "文件无法读取", "不是可读取的电子表格（损坏、不完整或其他格式改了扩展名）",
        "文件“{file}”无法作为电子表格读取（{detail}）。请用 Excel 或 WPS 打开确认文件完好，"
        "另存为 .xlsx 后重新报送。"),
    "ENCRYPTED": Code(
        ERROR, "文件设有密码", "工作簿设有打开密码",
        "文件“{file}”设有打开密码，系统无法读取。请在 Excel 或 WPS 中取消密码（文件→信息→保护工作簿），"
        "保存后重新报送。"),
    "TOO_LARGE": Code(
        ERROR, "文件过大", "超过大小限制（文件字节、解压后字节、单元格数），在完整解析前判定",
        "文件“{file}”{detail}，超过系统上限 {limit}。月度报表只需一张表，请删除多余的工作表、图片和大片"
        "空白格式后另存，或使用区局下发的空白报表重新填写。"),
    "NO_FORM": Code(
        ERROR, "未找到报表", "没有任何工作表含有月度报表",
        "文件“{file}”中没有找到《工贸企业安全生产标准化月度报表》（应有“冶金、机械…烟草、合计”行和"
        "“一级、二级、三级”列）。{detail}请使用区局下发的报表格式填写。"),
    "NO_UNIT": Code(
        ERROR, "缺少填报单位", "各处都没有填报单位",
        "{cell}：没有找到填报单位。请在“填报单位：”后填写本乡（镇）办事处名称，如“侯寨乡”。"),
    "UNKNOWN_UNIT": Code(
        ERROR, "填报单位不在名录中", "填报单位不在单位名录中",
        "{cell}：填报单位“{value}”不在本区单位名录中。请填写规范名称，如“{example}”。"),
    "NO_PERIOD": Code(
        ERROR, "缺少报表月份", "各处都没有报表年月",
        "{cell}：没有找到报表所属年月。请在表头填写如“2016 年 9 月”。"),
    "FUTURE_PERIOD": Code(
        ERROR, "报表月份在未来", "报表月份晚于当前月份",
        "{cell}：报表月份为 {value}，晚于当前月份 {expected}。请核对年月后重新报送。"),
    "UNIT_CONFLICT": Code(
        ERROR, "单位与文件名不符", "表内单位与文件名中的单位不一致",
        "{cell}：表内填报单位为“{value}”，但文件名中为“{expected}”。请核对后改正表内单位或文件名。"),
    "PERIOD_CONFLICT": Code(
        ERROR, "月份与文件名不符", "表内月份与文件名中的月份不一致",
        "{cell}：表内报表月份为 {value}，但文件名中为 {expected}。请核对后改正表内月份或文件名。"),
    "MISSING_INDUSTRY": Code(
        ERROR, "缺少行业行", "八个行业中有一行缺失",
        "{cell}：报表中缺少“{value}”行。八个行业（冶金、机械、轻工、有色、纺织、建材、商贸、烟草）"
        "都要列出，没有的填 0。"),
    "UNKNOWN_INDUSTRY": Code(
        ERROR, "多出未知行业", "表格内有未知的行标签（如“其他”）",
        "{cell}：表格内有未知行业“{value}”。月度报表只统计八个行业，请删除该行，或将数字并入所属行业。"),
    "DUPLICATE_INDUSTRY": Code(
        ERROR, "行业重复", "同一行业出现两次",
        "{cell}：行业“{value}”出现了两次（另一行在 {expected}）。请合并为一行。"),
    "MISSING_COLUMN": Code(
        ERROR, "缺少数据列", "某一级别或指标列未找到",
        "{cell}：没有找到“{value}”列。每个级别都要有“当月完成、累计完成、正在评审”三列，请使用区局下发的报表格式。"),
    "NOT_A_NUMBER": Code(
        ERROR, "不是数字", "数量单元格填了文字",
        "{cell}：“{label}”填写为“{value}”，不是数字。请填写企业家数（整数），没有的填 0。"),
    "NOT_INTEGER": Code(
        ERROR, "不是整数", "数量单元格填了小数",
        "{cell}：“{label}”填写为 {value}，企业家数应为整数。请改为整数。"),
    "NEGATIVE": Code(
        ERROR, "负数", "数量小于零",
        "{cell}：“{label}”填写为 {value}，企业家数不能小于 0。请改正。"),
    "FORMULA_NOT_CACHED": Code(
        ERROR, "公式没有计算结果", "数量单元格是公式但没有保存计算结果",
        "{cell}：“{label}”是公式（{value}），但文件中没有保存计算结果。请在 Excel 或 WPS 中打开文件，"
        "确认数字显示正确后保存，再重新报送；或直接填写数字。"),
    "TOTAL_MISMATCH": Code(
        ERROR, "合计不符", "合计单元格与各行业之和不一致",
        "{cell}：合计行“{label}”填写为 {value}，但冶金至烟草八个行业之和为 {expected}。"
        "请核对各行业数字或改正合计后重新报送。"),
    "CUMULATIVE_LT_MONTH": Code(
        ERROR, "累计小于当月", "同一行累计完成小于当月完成",
        "{cell}：“{label}”为 {value}，小于同一行的当月完成 {expected}。累计完成应包含当月完成，请改正。"),
    "TOTAL_MISSING": Code(
        WARNING, "合计未填", "合计行缺失、空白或公式无结果：由系统计算",
        "{cell}：{detail}，系统已按八个行业之和计算合计。下次请填写合计行。"),
    "UNIT_FROM_FILENAME": Code(
        WARNING, "单位取自文件名", "填报单位取自文件名",
        "表内没有填报单位，已按文件名“{file}”取为“{value}”。下次请在表头“填报单位：”后填写。"),
    "PERIOD_FROM_FILENAME": Code(
        WARNING, "月份取自文件名", "报表年月取自文件名",
        "表内没有报表年月，已按文件名“{file}”取为 {value}。下次请在表头填写年月。"),
    "EMPTY_REPORT": Code(
        WARNING, "空报表", "所有数字为零或空白",
        "{cell}：报表中所有数字都是 0 或空白。如本月确无数据可忽略本提示；否则请填写后重新报送。"),
    "CUMULATIVE_GAP": Code(
        WARNING, "累计数不衔接", "累计完成 ≠ 上月累计完成 + 本月当月完成",
        "{cell}：“{label}”为 {value}，但上月（{previous_period}）累计 {previous} 加本月当月完成 {new} "
        "应为 {expected}。请核对。"),
    "CUMULATIVE_DECREASE": Code(
        WARNING, "累计数减少", "累计完成小于上月（企业被撤销证书？）",
        "{cell}：“{label}”为 {value}，比上月（{previous_period}）的 {previous} 少。"
        "如有企业被撤销达标证书请在报送时说明，否则请改正。"),
    "LATE": Code(
        WARNING, "迟报", "截止时间后收到",
        "本报表于 {value} 收到，晚于报送截止时间 {expected}。请按时报送。"),
    "SAME_AS_OTHER_UNIT": Code(
        WARNING, "与其他单位数字完全相同", "所有数字与本期另一单位的报表完全相同",
        "本报表所有数字与“{value}”本月报表完全相同，可能误用了其他单位的表格。请核对。"),
    "DUPLICATE_FILE": Code(
        WARNING, "重复文件", "相同内容的文件已收到过：忽略，不重复计数",
        "文件“{file}”与 {value} 收到的“{expected}”内容完全相同，已忽略，不重复计数。"),
    "PERIOD_CLOSED": Code(
        WARNING, "该月已关账", "报表所属季度已关账（通报已发出）：存档、登记，重新开账前不计入汇总",
        "本报表所属的{value}已关账：该季度通报（{expected}）已经印发。本报表已存档登记，但在区局重新开账前"
        "不计入汇总，汇总仍以关账时的报表为准。如确需更正已通报的数字，请与区局联系。"),
    "OUTLIER": Code(
        WARNING, "数字异常偏高", "当月完成远高于本单位以往水平，或正在评审无来由地猛增（只提示，不退回）",
        "{cell}：“{label}”为 {value}。{detail}请核对是否填错（如把累计完成或规模以上企业数填进了本栏）；"
        "如数字无误可忽略本提示。"),
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    cell: str | None
    message: str
    value: str | None = None

    def as_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "cell": self.cell, "message": self.message}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def finding(code: str, cell: str | None = None, **params) -> Finding:
    spec = CODES[code]
    where = cell or params.get("file") or "文件"
    message = spec.template.format_map(_Blank(params, cell=where))
    value = params.get("value")
    return Finding(code, spec.severity, cell, message, None if value is None else str(value))


def has_error(findings) -> bool:
    return any(f.severity == ERROR for f in findings)


def catalogue_markdown() -> str:
    lines = ["# 问题代码一览（findings）", "",
             "由 `pipeline/findings.py` 生成（`python -m pipeline codes --markdown`），请勿手改。", "",
             "| 代码 | 级别 | 含义 | 何时出现 |", "|---|---|---|---|"]
    for code, spec in CODES.items():
        level = "错误（退回）" if spec.severity == ERROR else "提示（接收）"
        lines.append(f"| `{code}` | {level} | {spec.title} | {spec.when} |")
    return "\n".join(lines) + "\n"
