"""Every problem the pipeline can report, as data.

One list of codes (docs/form.md §3); each code has a severity, a short Chinese title for listings and a
message template a clerk can act on. Checks build findings with `finding(code, cell, **params)`;
they never raise or print. `docs/findings.md` is generated from this list (`python -m pipeline
codes --markdown`) and a test keeps the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"
# How to change a cell that the bureau's template locks (its header, labels and 合计 row): every
# message that asks for such a change says it. The template's protection has no password.
UNLOCK = "如该格已锁定，在 Excel 或 WPS 中点“审阅”→“撤销工作表保护”即可修改（不需要密码）。"


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
        "{cell}：没有找到填报单位。请在“填报单位：”后填写本乡（镇）办事处名称，如“侯寨乡”。" + UNLOCK),
    "UNKNOWN_UNIT": Code(
        ERROR, "填报单位不在名录中", "填报单位不在单位名录中",
        "{cell}：填报单位“{value}”不在本区单位名录中。{hint}" + UNLOCK),
    "NO_PERIOD": Code(
        ERROR, "缺少报表月份", "各处都没有报表年月",
        "{cell}：没有找到报表所属年月。请在表头填写如“2016 年 9 月”。" + UNLOCK),
    "FUTURE_PERIOD": Code(
        ERROR, "报表月份在未来", "报表月份晚于当前月份",
        "{cell}：报表月份为 {value}，晚于当前月份 {expected}。请核对表头的年月，改正后重新报送。" + UNLOCK),
    "UNIT_CONFLICT": Code(
        ERROR, "单位与文件名不符", "表内单位与文件名中的单位不一致",
        "{cell}：表内填报单位为“{value}”，但文件名中为“{expected}”。请核对后改正文件名或表内单位。" + UNLOCK),
    "PERIOD_CONFLICT": Code(
        ERROR, "月份与文件名不符", "表内月份与文件名中的月份不一致",
        "{cell}：表内报表月份为 {value}，但文件名中为 {expected}。请核对后改正文件名或表内月份。" + UNLOCK),
    "TWO_PERIODS": Code(
        ERROR, "表内有两个月份", "表头写了两个不同的年月（如标题里上月留下的年月）：不替填报人选择",
        "{cell}：写的是 {value}，但 {other} 写的是 {expected}。一张报表只能属于一个月份，系统无法判断本表是哪个月的。"
        "请改正不对的一处（如标题里或工作表名上留下的上月年月）后重新报送。" + UNLOCK),
    "MISSING_INDUSTRY": Code(
        ERROR, "缺少行业行", "八个行业中有一行缺失",
        "{cell}：报表中缺少“{value}”行。八个行业（冶金、机械、轻工、有色、纺织、建材、商贸、烟草）"
        "都要列出，没有的填 0。请改用区局下发的报表填写（八个行业已列好）。"),
    "UNKNOWN_INDUSTRY": Code(
        ERROR, "多出未知行业", "表格内有未知的行标签（如“其他”）",
        "{cell}：表格内有未知行业“{value}”。月度报表只统计八个行业，请删除该行，或将数字并入所属行业。" + UNLOCK),
    "DUPLICATE_INDUSTRY": Code(
        ERROR, "行业重复", "同一行业出现两次",
        "{cell}：行业“{value}”出现了两次（另一行在 {expected}）。请合并为一行。" + UNLOCK),
    "MISSING_COLUMN": Code(
        ERROR, "缺少数据列", "某一级别或指标列未找到",
        "{cell}：没有找到“{value}”列。每个级别都要有“当月完成、累计完成、正在评审”三列，请使用区局下发的报表格式。"),
    "AMBIGUOUS_COLUMN": Code(
        ERROR, "同一指标有两列", "两列都像同一级别的同一指标（如两列“累计完成”）：不替填报人选择",
        "{cell}：“{value}”有两列（{other} 和 {cell}），系统无法判断本月的数字在哪一列。"
        "请删去多余的一列，或改用区局下发的报表填写。" + UNLOCK),
    "SECOND_FORM": Code(
        ERROR, "一页有两张报表", "一个工作表里有两张报表（上下或左右）：两张都不计入",
        "{cell}：这个工作表里有两张报表（另一张从 {other} 起），系统无法判断应计入哪一张。"
        "请把每张报表放在单独的工作表中（如“8月”“9月”各一页），或删去多余的一张，改正后重新报送。" + UNLOCK),
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
        "{cell}：合计行“{label}”为 {value}，但冶金至烟草八个行业之和为 {expected}。请先核对各行业的数字；"
        "数字无误的，请把合计改为 {expected} 后重新报送。区局下发的报表中合计行是自动求和的公式，不用填写；"
        "如合计被改成了数字，在 Excel 或 WPS 中点“审阅”→“撤销工作表保护”（不需要密码）后即可改正。"),
    "CUMULATIVE_LT_MONTH": Code(
        ERROR, "累计小于当月", "同一行累计完成小于当月完成",
        "{cell}：“{label}”为 {value}，小于同一行的当月完成 {expected}。累计完成应包含当月完成，请改正。"),
    "TOTAL_MISSING": Code(
        WARNING, "合计未填", "合计行缺失、空白或公式无结果：由系统计算",
        "{cell}：{detail}，系统已按八个行业之和计算合计，本表照常接收，不用补填。"),
    "TEXT_NUMBER": Code(
        WARNING, "数字存成了文字", "数量填成了文字（如“1家”“'3”），Excel 的合计公式不计它，合计因此与各行业之和不符",
        "{cell}：“{label}”填写的是文字“{value}”，系统按 {number} 计入；但 Excel 的求和公式不计文字，所以合计"
        "（{total_cell}）显示为 {total}，比八个行业之和 {expected} 少。请在该格直接输入数字 {number}"
        "（不带“家”、引号或空格），合计会自动更正。"),
    "UNIT_FROM_FILENAME": Code(
        WARNING, "单位取自文件名", "填报单位取自文件名",
        "表内没有填报单位，已按文件名“{file}”取为“{value}”。下次请在表头“填报单位：”后填写。" + UNLOCK),
    "PERIOD_FROM_FILENAME": Code(
        WARNING, "月份取自文件名", "报表年月取自文件名",
        "表内没有报表年月，已按文件名“{file}”取为 {value}。下次请在表头填写年月。" + UNLOCK),
    "EMPTY_REPORT": Code(
        WARNING, "空报表", "所有数字为零或空白",
        "{cell}：报表中所有数字都是 0 或空白。如本月确无数据可忽略本提示；否则请填写后重新报送。"),
    "CUMULATIVE_GAP": Code(
        WARNING, "累计数不衔接", "累计完成 ≠ 上月累计完成 + 本月当月完成",
        "{cell}：“{label}”为 {value}，但上月（{previous_period}）累计 {previous} 加本月当月完成 {new} "
        "应为 {expected}。请核对。"),
    "CUMULATIVE_DECREASE": Code(
        WARNING, "累计数减少", "累计完成小于上月：照常接收，请报送情况说明",
        "{cell}：“{label}”为 {value}，比上月（{previous_period}）的 {previous} 少。本报表已照常接收。"
        "如有企业被撤销达标证书、关闭或迁出，请报送情况说明（写明企业名称和原因），作为附件随报表发送或写在邮件正文中；"
        "如属填错，请改正后重新报送。"),
    "LATE": Code(
        WARNING, "迟报", "截止时间后收到",
        "本报表于 {value} 收到，晚于报送截止时间 {expected}。请按时报送。"),
    "SAME_AS_OTHER_UNIT": Code(
        WARNING, "与其他单位数字完全相同", "所有数字与本期另一单位的报表完全相同",
        "本报表所有数字与“{value}”本月报表完全相同，可能误用了其他单位的表格。请核对。"),
    "DUPLICATE_FILE": Code(
        WARNING, "重复文件", "相同内容的文件已收到过：忽略，不重复计数",
        "文件“{file}”与 {value} 收到的“{expected}”内容完全相同，已忽略，不重复计数。"),
    "RESENT_UNCHANGED": Code(
        WARNING, "重复报送，数字未变", "本期已计入的报表又随文件送来，数字完全相同：不重复计数，迟报与否按先收到的",
        "{period}的报表与 {value} 收到的“{expected}”中已计入的报表数字完全相同，不重复计数；"
        "报送时间仍按先收到的那份。如需更正，请改动数字后重新报送。"),
    # The enterprise register (docs/register.md): an error leaves that row out of the register, the rest is used.
    "REG_NO_TABLE": Code(
        ERROR, "企业台账无法使用", "没有找到企业台账的表头或必需的列：整个台账不使用",
        "企业台账“{file}”{detail}。应有名为“企业台账”的工作表，第一行为表头，至少含“统一社会信用代码、企业名称、"
        "所属单位、行业、规模、状态”各列；可用 python -m pipeline template --register 生成空白台账。"),
    "REG_BAD_CODE": Code(
        ERROR, "信用代码有误", "统一社会信用代码不是 18 位、含不允许的字符或校验位不对",
        "{cell}：统一社会信用代码“{value}”{detail}。请对照营业执照改正（18 位，不用字母 I、O、Z、S、V）。"
        "该企业暂不计入台账。"),
    "REG_DUPLICATE": Code(
        ERROR, "信用代码重复", "同一统一社会信用代码出现在两行：两行都不使用",
        "{cell}：统一社会信用代码“{value}”在第 {expected} 行也出现。同一企业只能登记一行，请合并；"
        "合并前这几行都不计入台账。"),
    "REG_UNKNOWN_UNIT": Code(
        ERROR, "所属单位不在名录中", "所属单位不是单位名录中的单位或别名",
        "{cell}：所属单位“{value}”不在本区单位名录（reference/units.csv）中。请填写规范名称，如“{example}”。"),
    "REG_BAD_INDUSTRY": Code(
        ERROR, "行业有误", "行业不是报表的八个行业之一",
        "{cell}：行业“{value}”不是月度报表的八个行业之一。请填写冶金、机械、轻工、有色、纺织、建材、商贸或烟草。"),
    "REG_BAD_VALUE": Code(
        ERROR, "取值不在列表中", "规模、状态、等级或回访结果不在规定的列表中，或不应有等级的状态填了等级",
        "{cell}：{label}填写为“{value}”，{detail}。"),
    "REG_MISSING": Code(
        ERROR, "必填项未填", "必填的单元格为空",
        "{cell}：{label}未填写。{detail}"),
    "REG_BAD_DATE": Code(
        ERROR, "日期有误", "日期无法识别、在未来，或有效期至、摘牌日期早于发证日期",
        "{cell}：{label}“{value}”{detail}。"),
    "REG_NO_CERT_NUMBER": Code(
        WARNING, "缺少证书编号", "已达标企业没有填写证书编号",
        "{cell}：“{value}”状态为已达标，但没有填写证书编号。请对照证书补填。"),
    "REG_UNKNOWN_ENTERPRISE": Code(
        ERROR, "回访企业不在台账中", "回访记录的统一社会信用代码不在企业台账中",
        "{cell}：回访记录中的统一社会信用代码“{value}”不在企业台账中。请核对代码，"
        "或先在企业台账中登记该企业。这条回访记录暂不使用。"),
    "RECONCILE_MISMATCH": Code(
        WARNING, "与企业台账不符", "累计完成与企业台账中月底达标有效的企业数不同（不退回）",
        "{cell}：“{label}”填报 {value} 家，区局企业台账中截至 {date} 达标有效的为 {expected} 家。{detail}"
        "请核对；如台账有误，请告知区局更正。"),
    "SENDER_NOT_REGISTERED": Code(
        WARNING, "发件地址未登记", "邮件的发件地址不在该单位登记的报送邮箱中（units.csv 的“邮箱”列）：照常计入",
        "本报表由 {value} 发出，该地址不在“{unit}”登记的报送邮箱（{expected}）中。报表照常计入；"
        "如已更换邮箱，请告知区局更新登记；如不是本单位报送的，请与区局联系。"),
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
             "由 `pipeline/core/findings.py` 生成（`python -m pipeline codes --markdown`），请勿手改。", "",
             "| 代码 | 级别 | 含义 | 何时出现 |", "|---|---|---|---|"]
    for code, spec in CODES.items():
        level = "错误（退回）" if spec.severity == ERROR else "提示（接收）"
        lines.append(f"| `{code}` | {level} | {spec.title} | {spec.when} |")
    return "\n".join(lines) + "\n"
