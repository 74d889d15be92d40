"""Reading and checking the enterprise register (docs/register.md §1): each REG_* finding on a register
that has it, with its cell; labels found wherever they stand; dates in the ways clerks write them."""
import datetime as dt

import pandas as pd
import pytest

from pipeline.core.findings import CODES
from pipeline.read.register import read_register

from registers import HEADER, code, row, write_register

TODAY = dt.date(2016, 10, 5)


@pytest.fixture
def read(tmp_path, units, settings):
    def run(rows, revisits=(), name="enterprises.xlsx", **kw):
        path = write_register(tmp_path / name, rows, revisits, **kw)
        return read_register(path, units, settings, today=TODAY)
    return run


def found(register):
    return {(f.code, f.cell) for f in register.findings}


def test_a_clean_register_has_no_finding_and_every_row(read):
    got = read([row(1), row(2, status="创建中", grade=None, cert_no=None, issued=None),
                row(3, unit="马寨镇人民政府", industry="冶金行业", scale="规上", grade="3级")])
    assert got.findings == ()
    assert (got.rows, got.excluded) == (3, 0)
    e = got.enterprises
    assert list(e["code"]) == [code(1), code(2), code(3)]
    assert list(e["row"]) == [2, 3, 4]
    assert list(e["unit"]) == ["侯寨乡", "侯寨乡", "马寨镇"]             # an alias of units.csv
    assert list(e["industry"]) == ["机械", "机械", "冶金"]               # the form's aliases
    assert list(e["scale"]) == ["规模以上", "规模以上", "规模以上"]
    assert list(e["grade"]) == ["三级", None, "三级"]
    assert e["expires"].iloc[0] == pd.Timestamp(2018, 4, 30)            # 发证日期 + 3 years − 1 day


# (what is wrong, the rows, the revisits, the expected (code, cell), whether that row is still used)
CASES = [
    ("check character", [row(1), [code(2)[:-1] + ("0" if code(2)[-1] != "0" else "1"), *row(2)[1:]]], [],
     ("REG_BAD_CODE", "企业台账!A3"), False),
    ("17 characters", [row(1), [code(2)[:17], *row(2)[1:]]], [], ("REG_BAD_CODE", "企业台账!A3"), False),
    ("letter I", [row(1), ["91410103MAI000002X", *row(2)[1:]]], [], ("REG_BAD_CODE", "企业台账!A3"), False),
    ("saved as a number", [row(1), [914101030000000016.0, *row(2)[1:]]], [], ("REG_BAD_CODE", "企业台账!A3"), False),
    ("duplicate", [row(1), row(2), [code(2), "另一家公司", *row(3)[2:]]], [], ("REG_DUPLICATE", "企业台账!A4"), False),
    ("unknown unit", [row(1), row(2, unit="火星乡")], [], ("REG_UNKNOWN_UNIT", "企业台账!C3"), False),
    ("bad industry", [row(1), row(2, industry="化工")], [], ("REG_BAD_INDUSTRY", "企业台账!D3"), False),
    ("bad scale", [row(1), row(2, scale="中型")], [], ("REG_BAD_VALUE", "企业台账!E3"), False),
    ("bad status", [row(1), row(2, status="已验收")], [], ("REG_BAD_VALUE", "企业台账!F3"), False),
    ("bad grade", [row(1), row(2, grade="四级")], [], ("REG_BAD_VALUE", "企业台账!G3"), False),
    ("grade without certificate", [row(1), row(2, status="正在评审", cert_no=None, issued=None)], [],
     ("REG_BAD_VALUE", "企业台账!G3"), False),
    ("bad result", [row(1)], [[code(1), dt.date(2016, 5, 1), "良好", ""]], ("REG_BAD_VALUE", "回访记录!C2"), True),
    ("no name", [row(1), [code(2), None, *row(2)[2:]]], [], ("REG_MISSING", "企业台账!B3"), False),
    ("no status", [row(1), row(2, status=None)], [], ("REG_MISSING", "企业台账!F3"), False),
    ("no grade", [row(1), row(2, grade=None)], [], ("REG_MISSING", "企业台账!G3"), False),
    ("no issue date", [row(1), row(2, issued=None)], [], ("REG_MISSING", "企业台账!I3"), False),
    ("no withdrawal date", [row(1), row(2, status="已摘牌")], [], ("REG_MISSING", "企业台账!K3"), False),
    ("no revisit date", [row(1)], [[code(1), None, "合格", ""]], ("REG_MISSING", "回访记录!B2"), True),
    ("unreadable date", [row(1), row(2, issued="2016-02-30")], [], ("REG_BAD_DATE", "企业台账!I3"), False),
    ("issued in the future", [row(1), row(2, issued=dt.date(2016, 10, 6))], [], ("REG_BAD_DATE", "企业台账!I3"), False),
    ("expiry before issue", [row(1), row(2, expires=dt.date(2015, 4, 30))], [], ("REG_BAD_DATE", "企业台账!J3"), False),
    ("withdrawn before issue", [row(1), row(2, status="已摘牌", withdrawn=dt.date(2014, 1, 1))], [],
     ("REG_BAD_DATE", "企业台账!K3"), False),
    ("inspection a number", [row(1), row(2, inspected=42641)], [], ("REG_BAD_DATE", "企业台账!M3"), False),
    ("no certificate number", [row(1), row(2, cert_no=None)], [], ("REG_NO_CERT_NUMBER", "企业台账!H3"), True),
    ("revisit of a stranger", [row(1)], [[code(9), dt.date(2016, 5, 1), "合格", ""]],
     ("REG_UNKNOWN_ENTERPRISE", "回访记录!A2"), True),
]


@pytest.mark.parametrize("what,rows,revisits,want,used", CASES, ids=[c[0] for c in CASES])
def test_each_finding_names_its_cell(read, what, rows, revisits, want, used):
    got = read(rows, revisits)
    assert want in found(got)
    f = next(f for f in got.findings if (f.code, f.cell) == want)
    assert f.severity == CODES[f.code].severity
    assert f.message.startswith(f.cell + "：")
    codes = set(got.enterprises["code"])
    if want[1].startswith("企业台账"):
        wrong_row = int(want[1].split("!")[1][1:])
        assert (wrong_row in set(got.enterprises["row"])) is used
        assert got.excluded == (0 if used else len(rows) - len(got.enterprises))
    else:
        assert code(1) in codes and len(got.revisits) == 0   # the revisit is left out, the enterprise kept


def test_a_duplicate_leaves_both_rows_out_and_says_where_the_other_is(read):
    got = read([row(1), row(2), [code(2), "另一家公司", *row(3)[2:]]])
    dup = sorted((f.cell, f.message) for f in got.findings if f.code == "REG_DUPLICATE")
    assert [c for c, _ in dup] == ["企业台账!A3", "企业台账!A4"]
    assert "第 4 行" in dup[0][1] and "第 3 行" in dup[1][1]
    assert list(got.enterprises["code"]) == [code(1)]


def test_the_check_character_message_says_what_it_should_be(read):
    wrong = code(2)[:-1] + ("0" if code(2)[-1] != "0" else "1")
    got = read([row(1), [wrong, *row(2)[1:]]])
    f = next(f for f in got.findings if f.code == "REG_BAD_CODE")
    assert f"应为“{code(2)[-1]}”" in f.message


def test_a_revisit_that_withdraws_needs_no_withdrawal_date(read):
    got = read([row(1, status="已摘牌")], [[code(1), dt.date(2016, 6, 1), "摘牌", "整改后仍不达标"]])
    assert got.findings == ()
    assert len(got.enterprises) == 1 and len(got.revisits) == 1


def test_no_header_or_a_missing_column_leaves_the_whole_register_unused(read):
    got = read([row(1)], header=["代码", *HEADER[1:]])
    assert [f.code for f in got.findings] == ["REG_NO_TABLE"] and got.enterprises.empty
    got = read([row(1)[:4] + row(1)[5:]], header=HEADER[:4] + HEADER[5:])   # no 规模
    assert [(f.code, f.cell) for f in got.findings] == [("REG_NO_TABLE", "企业台账!A1")]
    assert "“规模”" in got.findings[0].message


def test_an_unreadable_file_is_a_finding(tmp_path, units, settings):
    path = tmp_path / "enterprises.xlsx"
    path.write_bytes(b"not a workbook at all")
    got = read_register(path, units, settings, today=TODAY)
    assert [f.code for f in got.findings] == ["UNREADABLE"] and got.enterprises.empty


def test_labels_are_found_not_fixed(read):
    """A title above, the columns in another order under their other names, a column of notes, and
    the sheet not the first: the same enterprises."""
    names = {"统一社会信用代码": "社会信用代码（18位）", "所属单位": "所属乡（镇）办事处", "有效期至": "证书有效期至",
             "最近检查日期": "最近一次检查日期", "等级": "*达标等级"}
    order = [5, 1, 0, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    header = [names.get(HEADER[k], HEADER[k]) for k in order] + ["备注"]
    rows = [[r[k] for k in order] + ["无"] for r in (row(1), row(2, industry="建材"))]
    got = read(rows, header=header, title="二七区工贸企业台账（2016年9月）", sheet="Sheet2")
    assert got.findings == ()
    assert list(got.enterprises["code"]) == [code(1), code(2)]
    assert list(got.enterprises["row"]) == [4, 5]
    assert list(got.enterprises["industry"]) == ["机械", "建材"]


def test_dates_in_any_form_clerks_use(read):
    forms = [dt.date(2016, 9, 28), "2016-09-28", "2016/9/28", "2016年9月28日", "2016.9.28", "２０１６－０９－２８",
             "20160928", "2016-09-28 00:00:00"]
    got = read([row(k, issued=v) for k, v in enumerate(forms, 1)])
    assert got.findings == ()
    assert set(got.enterprises["issued"]) == {pd.Timestamp(2016, 9, 28)}


def test_the_default_expiry_is_three_years_less_a_day(read):
    got = read([row(1, issued=dt.date(2016, 2, 29)), row(2, issued=dt.date(2015, 1, 1), expires=dt.date(2016, 12, 31))])
    assert list(got.enterprises["expires"]) == [pd.Timestamp(2019, 2, 27), pd.Timestamp(2016, 12, 31)]


def test_high_risk_work_is_read_as_the_seed_names_it(read):
    got = read([row(1, scale="小微", high_risk="动火作业；有限空间作业、临时用电"), row(2, scale="小微", high_risk="无")])
    assert list(got.enterprises["high_risk"]) == ["动火;有限空间;临时用电", None]


@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_xls_and_ods_are_read_as_xlsx(tmp_path, units, settings, suffix):
    rows = [row(1), row(2, status="已摘牌", withdrawn=dt.date(2016, 3, 1)), row(3, scale="小微", status="未开展",
                                                                              grade=None, cert_no=None, issued=None)]
    revisits = [[code(1), dt.date(2016, 6, 1), "限期整改", "台账不全"]]
    a = read_register(write_register(tmp_path / "a.xlsx", rows, revisits), units, settings, today=TODAY)
    b = read_register(write_register(tmp_path / f"b{suffix}", rows, revisits), units, settings, today=TODAY)
    assert a.findings == b.findings == ()
    pd.testing.assert_frame_equal(a.enterprises, b.enterprises)
    pd.testing.assert_frame_equal(a.revisits, b.revisits)
