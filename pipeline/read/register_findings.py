"""A register's failed checks as findings: each with its cell, and what to write instead."""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from pipeline.core.findings import CODES, ERROR, Finding, finding
from pipeline.core.model import cell_name
from pipeline.read.register_table import Table
from pipeline.schemas.register import GRADES, RESULTS, SCALES, STATUSES


def failures(schema: pa.DataFrameSchema, typed: pd.DataFrame) -> pd.DataFrame:
    """(code, column, row) of every failed check, each cell once per code."""
    try:
        schema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        ours = cases["check"].astype(str).isin(CODES)
        if not ours.all():   # a type or a value the reading made: our bug, not the register's
            raise AssertionError(f"{schema.name}: {cases[~ours].head(5).to_dict('records')}") from err
        out = pd.DataFrame({"code": cases["check"].astype(str), "column": cases["column"].astype(str),
                            "row": cases["index"].astype(int)})
        return out.drop_duplicates().reset_index(drop=True)
    return pd.DataFrame({"code": [], "column": [], "row": []})


_VALUE_LISTS = {"规模": SCALES, "状态": STATUSES, "等级": GRADES, "结果": RESULTS}
_MISSING_WHY = {"统一社会信用代码": "每家企业都要填写 18 位统一社会信用代码。", "企业名称": "请填写企业名称。",
                "所属单位": "请填写企业所在的乡（镇）办事处。", "行业": "请填写八个行业之一。",
                "规模": "请填写规模以上、规模以下或小微。", "状态": "请填写未开展、创建中、正在评审、已达标、已摘牌或已关闭。",
                "发证日期": "已达标企业必须填写证书的发证日期。", "摘牌日期": "已摘牌企业必须填写摘牌日期。",
                "回访日期": "请填写回访的日期。", "结果": "请填写合格、限期整改或摘牌。"}


def _detail(code: str, column: str, row: int, typed: pd.DataFrame, given: pd.DataFrame, today: pd.Timestamp,
            problems: pd.Series | None) -> dict:
    value = given.at[row, column]
    if code == "REG_BAD_CODE":
        return {"detail": problems.at[row]}
    if code == "REG_MISSING":
        why = _MISSING_WHY.get(column, "")
        if column == "等级":
            why = f"状态为“{typed.at[row, '状态']}”的企业必须填写等级（一级、二级或三级）。"
        return {"detail": why + "该行暂不计入台账。"}
    if code == "REG_BAD_VALUE":
        if column == "等级" and typed.at[row, "等级"] is not None:
            return {"detail": f"但状态为“{typed.at[row, '状态']}”的企业没有等级：请删除等级，"
                              "或改正状态（已达标、已摘牌才有等级）"}
        return {"detail": "应为" + "、".join(_VALUE_LISTS[column]) + "之一"}
    if code == "REG_BAD_DATE":
        got = typed.at[row, column]
        if got is pd.NaT or pd.isna(got):
            return {"detail": "不是日期，请按 2016-09-28 的写法填写，或设为日期格式"}
        if column in ("有效期至", "摘牌日期") and got < typed.at[row, "发证日期"]:
            return {"detail": f"早于发证日期 {typed.at[row, '发证日期'].date().isoformat()}，请核对"}
        return {"detail": f"晚于今天（{today.date().isoformat()}），请核对"}
    return {"value": value}


def findings_of(cases: pd.DataFrame, sheet: str, table: Table, typed: pd.DataFrame, given: pd.DataFrame,
                today: pd.Timestamp, problems: pd.Series | None = None, example: str = "") -> list[Finding]:
    """The findings of a failure table, in the order of the rows and the columns."""
    if cases.empty:
        return []
    order = {c: i for i, c in enumerate(typed.columns)}
    cases = cases.assign(k=cases["column"].map(order)).sort_values(["row", "k"])
    codes = typed["统一社会信用代码"]
    rows_of_code = codes[codes.notna() & codes.duplicated(keep=False)].groupby(lambda r: codes.at[r]).groups \
        if "REG_DUPLICATE" in set(cases["code"]) else {}
    out = []
    for code, column, row in zip(cases["code"], cases["column"], cases["row"]):
        col = table.columns.get(column)
        cell = f"{sheet}!{cell_name(row - 1, col)}" if col is not None else f"{sheet}!{row}"
        params = {"value": given.at[row, column], "label": column, "example": example}
        if code == "REG_DUPLICATE":
            others = [str(r) for r in rows_of_code.get(codes.at[row], ()) if r != row]
            params["expected"] = "、".join(others)
        elif code == "REG_NO_CERT_NUMBER":
            params["value"] = given.at[row, "企业名称"] or given.at[row, "统一社会信用代码"]
        else:
            params.update(_detail(code, column, row, typed, given, today, problems))
        out.append(finding(code, cell, **params))
    return out


def error_rows(cases: pd.DataFrame) -> set[int]:
    """The rows an error leaves out."""
    errors = cases["code"].map(lambda c: CODES[c].severity == ERROR)
    return set(cases.loc[errors, "row"].astype(int)) if len(cases) else set()
