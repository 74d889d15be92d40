"""The enterprise register's rows (企业台账 and 回访记录), as read and made typed by `pipeline.read.register`.

Every rule of docs/register.md §1 is a check on the column whose cell it blames, named by the finding
it makes: pandera runs them all at once (`lazy=True`) and its failure table becomes the findings, a
(check, column, row) each. A rule that needs the row's other cells reads them from `typed` and from
`given` (the text of each cell as written, '' where empty), which share the frame's index: the row's
number in the workbook. Rows are validated column by column: failures cost as many rows as there are
failed cells, however many columns the register has.
"""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from pipeline.core.model import INDUSTRIES

SCALES = ("规模以上", "规模以下", "小微")
STATUSES = ("未开展", "创建中", "正在评审", "已达标", "已摘牌", "已关闭")
GRADES = ("一级", "二级", "三级")
WITH_GRADE = ("已达标", "已摘牌")          # the statuses that have a 等级
RESULTS = ("合格", "限期整改", "摘牌")
DATE_COLUMNS = ("发证日期", "有效期至", "摘牌日期", "最近检查日期", "最近回访日期")


def _check(code: str, ok, ignore_na: bool = False) -> pa.Check:
    return pa.Check(ok, name=code, ignore_na=ignore_na)


def enterprise_rows(typed: pd.DataFrame, given: pd.DataFrame, code_problems: pd.Series, units: list[str],
                    today: pd.Timestamp, struck: frozenset = frozenset()) -> pa.DataFrameSchema:
    """The schema of 企业台账's rows. `code_problems` is '' for each code the check character
    confirms (python-stdnum), else what is wrong with it; `units` the canonical unit names; `struck`
    the codes a revisit of 回访记录 withdrew (摘牌), which need no 摘牌日期."""
    status = typed["状态"]

    def filled(column):
        return lambda s: given.loc[s.index, column] != ""

    def understood(column):   # written, and read as one of its values
        return lambda s: (given.loc[s.index, column] == "") | s.notna()

    def date_ok(column, not_after_today=True):
        def ok(s):
            bad = (given.loc[s.index, column] != "") & s.isna()
            if not_after_today:
                bad |= s > today
            return ~bad
        return ok

    def needed_when(column, statuses):
        return lambda s: ~(status.loc[s.index].isin(statuses) & (given.loc[s.index, column] == ""))

    issued = typed["发证日期"]
    return pa.DataFrameSchema({
        "统一社会信用代码": pa.Column(object, nullable=True, checks=[
            _check("REG_MISSING", filled("统一社会信用代码")),
            _check("REG_BAD_CODE", lambda s: code_problems.loc[s.index] == "", ignore_na=True),
            _check("REG_DUPLICATE", lambda s: ~s.duplicated(keep=False), ignore_na=True)]),
        "企业名称": pa.Column(object, nullable=True, checks=[_check("REG_MISSING", filled("企业名称"))]),
        "所属单位": pa.Column(object, nullable=True, checks=[
            pa.Check.isin(units), _check("REG_MISSING", filled("所属单位")),
            _check("REG_UNKNOWN_UNIT", understood("所属单位"))]),
        "行业": pa.Column(object, nullable=True, checks=[
            pa.Check.isin(INDUSTRIES), _check("REG_MISSING", filled("行业")),
            _check("REG_BAD_INDUSTRY", understood("行业"))]),
        "规模": pa.Column(object, nullable=True, checks=[
            pa.Check.isin(SCALES), _check("REG_MISSING", filled("规模")), _check("REG_BAD_VALUE", understood("规模"))]),
        "状态": pa.Column(object, nullable=True, checks=[
            pa.Check.isin(STATUSES), _check("REG_MISSING", filled("状态")), _check("REG_BAD_VALUE", understood("状态"))]),
        "等级": pa.Column(object, nullable=True, checks=[
            pa.Check.isin(GRADES), _check("REG_BAD_VALUE", understood("等级")),
            # a grade where the status has none (未开展 … 正在评审, 已关闭)
            _check("REG_BAD_VALUE", lambda s: ~(s.notna() & status.loc[s.index].notna()
                                                 & ~status.loc[s.index].isin(WITH_GRADE))),
            _check("REG_MISSING", needed_when("等级", WITH_GRADE))]),
        "证书编号": pa.Column(object, nullable=True, checks=[
            _check("REG_NO_CERT_NUMBER", needed_when("证书编号", ("已达标",)))]),
        "发证日期": pa.Column("datetime64[us]", nullable=True, checks=[
            _check("REG_MISSING", needed_when("发证日期", ("已达标",))), _check("REG_BAD_DATE", date_ok("发证日期"))]),
        "有效期至": pa.Column("datetime64[us]", nullable=True, checks=[
            _check("REG_BAD_DATE", date_ok("有效期至", not_after_today=False)),
            _check("REG_BAD_DATE", lambda s: ~(s < issued.loc[s.index]))]),
        "摘牌日期": pa.Column("datetime64[us]", nullable=True, checks=[
            _check("REG_MISSING", lambda s: needed_when("摘牌日期", ("已摘牌",))(s)
                   | typed.loc[s.index, "统一社会信用代码"].isin(struck)),
            _check("REG_BAD_DATE", date_ok("摘牌日期")),
            _check("REG_BAD_DATE", lambda s: ~(s < issued.loc[s.index]))]),
        "评审单位": pa.Column(object, nullable=True),
        "最近检查日期": pa.Column("datetime64[us]", nullable=True, checks=[_check("REG_BAD_DATE", date_ok("最近检查日期"))]),
        "最近回访日期": pa.Column("datetime64[us]", nullable=True, checks=[_check("REG_BAD_DATE", date_ok("最近回访日期"))]),
        "高风险作业": pa.Column(object, nullable=True),
    }, strict=True, name="企业台账")


def revisit_rows(typed: pd.DataFrame, given: pd.DataFrame, known_codes: set, today: pd.Timestamp) -> pa.DataFrameSchema:
    """The schema of 回访记录's rows; `known_codes` are the codes the register lists."""
    def filled(column):
        return lambda s: given.loc[s.index, column] != ""

    return pa.DataFrameSchema({
        "统一社会信用代码": pa.Column(object, nullable=True, checks=[
            _check("REG_MISSING", filled("统一社会信用代码")),
            _check("REG_UNKNOWN_ENTERPRISE", lambda s: s.isin(known_codes), ignore_na=True)]),
        "回访日期": pa.Column("datetime64[us]", nullable=True, checks=[
            _check("REG_MISSING", filled("回访日期")),
            _check("REG_BAD_DATE", lambda s: ~(((given.loc[s.index, "回访日期"] != "") & s.isna()) | (s > today)))]),
        "结果": pa.Column(object, nullable=True, checks=[
            pa.Check.isin(RESULTS), _check("REG_MISSING", filled("结果")),
            _check("REG_BAD_VALUE", lambda s: (given.loc[s.index, "结果"] == "") | s.notna())]),
        "问题": pa.Column(object, nullable=True),
    }, strict=True, name="回访记录")
