"""Every single-file finding of docs/form.md §3: the exact code and cell for a workbook that has it."""
import zipfile

import pytest

from conftest import ROWS, codes, form_cells, rows_json, write_book

S = "月度报表"


def test_clean_form_is_accepted_with_exact_rows(tmp_path, check):
    result = check(write_book(tmp_path / "侯寨乡_2016年9月.xlsx", form_cells()))
    (sub,) = result.submissions
    assert (sub.status, sub.unit, sub.period, sub.sheet) == ("accepted", "侯寨乡", "2016-09", S)
    assert [r.as_json() for r in sub.rows] == rows_json()
    assert sub.findings == ()


def mutated(**changes):
    cells = form_cells()
    for ref, value in changes.items():
        if value is None:
            cells.pop(ref, None)
        else:
            cells[ref] = value
    return cells


CASES = [
    # (description, cells, file name, expected (code, cell))
    ("text in a count", mutated(C6="三"), "侯寨乡.xlsx", ("NOT_A_NUMBER", f"{S}!C6")),
    ("a fraction", mutated(D7=2.5), "侯寨乡.xlsx", ("NOT_INTEGER", f"{S}!D7")),
    ("a negative count", mutated(G8=-1, G14=ROWS[("轻工", 2)][2] - 1 + sum(
        ROWS[(i, 2)][2] for i in ("冶金", "机械", "有色", "纺织", "建材", "商贸", "烟草"))),
     "侯寨乡.xlsx", ("NEGATIVE", f"{S}!G8")),
    ("a formula without a stored value", mutated(B6="=1+1"), "侯寨乡.xlsx", ("FORMULA_NOT_CACHED", f"{S}!B6")),
    ("total differs", mutated(C14=99), "侯寨乡.xlsx", ("TOTAL_MISMATCH", f"{S}!C14")),
    ("cumulative below month", mutated(B6=5, B14=None), "侯寨乡.xlsx", ("CUMULATIVE_LT_MONTH", f"{S}!C6")),
    ("unknown unit", mutated(A3="填报单位：某某镇      2016 年 9 月"), "报表.xlsx", ("UNKNOWN_UNIT", f"{S}!A3")),
    ("no unit anywhere", mutated(A3="填报单位：      2016 年 9 月"), "报表.xlsx", ("NO_UNIT", f"{S}!A3")),
    ("no period anywhere", mutated(A3="填报单位：侯寨乡"), "报表.xlsx", ("NO_PERIOD", f"{S}!A3")),
    ("future period", mutated(A3="填报单位：侯寨乡  2030 年 1 月"), "报表.xlsx", ("FUTURE_PERIOD", f"{S}!A3")),
    ("unit differs from file name", form_cells(), "马寨镇_2016年9月.xlsx", ("UNIT_CONFLICT", f"{S}!A3")),
    ("period differs from file name", form_cells(), "侯寨乡_2016年8月.xlsx", ("PERIOD_CONFLICT", f"{S}!A3")),
    ("an industry missing", mutated(A13=None, **{f"{c}13": None for c in "BCDEFGHIJ"}),
     "侯寨乡.xlsx", ("MISSING_INDUSTRY", f"{S}!A6")),
    ("an unknown industry", mutated(A13="其他"), "侯寨乡.xlsx", ("UNKNOWN_INDUSTRY", f"{S}!A13")),
    ("an industry twice", mutated(A13="冶金"), "侯寨乡.xlsx", ("DUPLICATE_INDUSTRY", f"{S}!A13")),
    ("a measure column missing", mutated(**{f"J{r}": None for r in range(4, 15)}), "侯寨乡.xlsx",
     ("MISSING_COLUMN", f"{S}!A5")),
]


@pytest.mark.parametrize("what,cells,name,expected", CASES, ids=[c[0] for c in CASES])
def test_error_codes(tmp_path, check, what, cells, name, expected):
    result = check(write_book(tmp_path / name, cells))
    assert expected in codes(result), codes(result)
    (sub,) = result.submissions
    assert sub.status == "rejected"
    f = next(f for f in sub.findings if (f.code, f.cell) == expected)
    assert f.severity == "error"
    assert expected[1] in f.message  # the message names the cell


WARNINGS = [
    ("no total row", mutated(A14=None, **{f"{c}14": None for c in "BCDEFGHIJ"}), "侯寨乡.xlsx",
     ("TOTAL_MISSING", f"{S}!A14")),
    ("blank totals", mutated(**{f"{c}14": None for c in "BCDEFGHIJ"}), "侯寨乡.xlsx", ("TOTAL_MISSING", f"{S}!B14")),
    ("total formulas without values", mutated(**{f"{c}14": f"=SUM({c}6:{c}13)" for c in "BCDEFGHIJ"}),
     "侯寨乡.xlsx", ("TOTAL_MISSING", f"{S}!B14")),
    ("unit from the file name", mutated(A3="填报单位：      2016 年 9 月"), "侯寨乡-2016年9月.xlsx",
     ("UNIT_FROM_FILENAME", f"{S}!A3")),
    ("period from the file name", mutated(A3="填报单位：侯寨乡"), "2016-09_侯寨乡.xlsx",
     ("PERIOD_FROM_FILENAME", f"{S}!A3")),
]


@pytest.mark.parametrize("what,cells,name,expected", WARNINGS, ids=[c[0] for c in WARNINGS])
def test_warning_codes(tmp_path, check, what, cells, name, expected):
    result = check(write_book(tmp_path / name, cells))
    assert expected in codes(result), codes(result)
    (sub,) = result.submissions
    assert sub.status == "accepted"
    assert (sub.unit, sub.period) == ("侯寨乡", "2016-09")
    assert [r.as_json() for r in sub.rows] == rows_json()


def test_empty_report_is_a_warning(tmp_path, check):
    zero = {k: (0, 0, 0) for k in ROWS}
    result = check(write_book(tmp_path / "侯寨乡.xlsx", form_cells(rows=zero)))
    assert ("EMPTY_REPORT", f"{S}!B6") in codes(result)
    assert result.submissions[0].status == "accepted"


def test_no_form(tmp_path, check):
    result = check(write_book(tmp_path / "通讯录.xlsx", {"A1": "姓名", "B1": "电话", "A2": "张三"}, merges=()))
    (sub,) = result.submissions
    assert (sub.status, sub.sheet, sub.unit, sub.rows) == ("rejected", None, None, ())
    assert [f.code for f in sub.findings] == ["NO_FORM"]


@pytest.mark.parametrize("content", [b"", b"hello, this is not a workbook", b"PK\x03\x04broken zip"])
def test_unreadable(tmp_path, check, content):
    path = tmp_path / "侯寨乡.xlsx"
    path.write_bytes(content)
    (sub,) = check(path).submissions
    assert [f.code for f in sub.findings] == ["UNREADABLE"]
    assert "侯寨乡.xlsx" in sub.findings[0].message


def test_truncated_workbook_is_unreadable(tmp_path, check):
    good = write_book(tmp_path / "good.xlsx", form_cells())
    path = tmp_path / "侯寨乡.xlsx"
    path.write_bytes(good.read_bytes()[:3000])
    (sub,) = check(path).submissions
    assert [f.code for f in sub.findings] == ["UNREADABLE"]


def test_too_large_by_bytes(tmp_path, settings, units, monkeypatch):
    from pipeline.check.check import check_files
    from pipeline.core.settings import load_settings
    monkeypatch.setenv("PIPELINE_LIMITS_FILE_BYTES", "1000")
    small = load_settings(settings and __import__("conftest").REFERENCE)
    path = write_book(tmp_path / "侯寨乡.xlsx", form_cells())
    (sub,) = check_files([(path, path.name)], units, small)[0].submissions
    assert [f.code for f in sub.findings] == ["TOO_LARGE"]


def test_encrypted(tmp_path, check):
    import io

    from msoffcrypto.format.ooxml import OOXMLFile
    plain = write_book(tmp_path / "plain.xlsx", form_cells())
    out = io.BytesIO()
    with open(plain, "rb") as f:
        OOXMLFile(f).encrypt("secret", out)
    path = tmp_path / "侯寨乡.xlsx"
    path.write_bytes(out.getvalue())
    (sub,) = check(path).submissions
    assert [f.code for f in sub.findings] == ["ENCRYPTED"]


def test_zip_bomb_member_is_too_large(tmp_path, check):
    path = tmp_path / "侯寨乡.xlsx"
    good = write_book(tmp_path / "good.xlsx", form_cells())
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open("xl/media/padding.bin", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(block)
    (sub,) = check(path).submissions
    assert [f.code for f in sub.findings] == ["TOO_LARGE"]


# --- one problem, one message ------------------------------------------------------------------------------

def column_sum(cells, col):
    return sum(cells[f"{col}{r}"] for r in range(6, 14))


def with_sum(col, **changes):
    """The form with `changes`, its 合计 in `col` the sum Excel shows (the numbers as they now are)."""
    cells = mutated(**changes)
    cells[f"{col}14"] = column_sum(cells, col)
    return cells


@pytest.mark.parametrize("what,cells,expected", [
    ("a negative 累计 below its 当月: NEGATIVE only, no CUMULATIVE_LT_MONTH", with_sum("C", C6=-1),
     [("NEGATIVE", f"{S}!C6")]),
    ("a decimal: NOT_INTEGER only, not again on the 合计 that sums it", with_sum("D", D7=2.5),
     [("NOT_INTEGER", f"{S}!D7")]),
    ("text: NOT_A_NUMBER only, no TOTAL_MISMATCH for the 合计 that left it out", mutated(C6="三"),
     [("NOT_A_NUMBER", f"{S}!C6")]),
    ("an error value typed: NOT_A_NUMBER, never zero", mutated(C6="#VALUE!"), [("NOT_A_NUMBER", f"{S}!C6")]),
])
def test_one_problem_one_message(tmp_path, check, what, cells, expected):
    (sub,) = check(write_book(tmp_path / "侯寨乡.xlsx", cells)).submissions
    assert [(f.code, f.cell) for f in sub.findings] == expected


def test_a_negative_count_gets_no_cumulative_gap_from_last_month(tmp_path, check):
    before = {key: c for key, (n, c, r) in ROWS.items()}
    history = lambda keys: {k: (before, "2016-08") for k in keys}   # noqa: E731
    cells = with_sum("B", B6=-1)
    (sub,) = check(write_book(tmp_path / "侯寨乡.xlsx", cells), history=history).submissions
    codes_at = {(f.code, f.cell) for f in sub.findings}
    assert ("NEGATIVE", f"{S}!B6") in codes_at
    assert not any(f.code == "CUMULATIVE_GAP" and f.cell == f"{S}!C6" for f in sub.findings), sub.findings
    assert not any("应为 -" in f.message for f in sub.findings)


def test_an_error_value_in_the_total_is_computed_and_said(tmp_path, check):
    (sub,) = check(write_book(tmp_path / "侯寨乡.xlsx", mutated(E14="#REF!"))).submissions
    assert [(f.code, f.cell) for f in sub.findings] == [("TOTAL_MISSING", f"{S}!E14")]
    assert "#REF!" in sub.findings[0].message and sub.status == "accepted"
    assert [r.as_json() for r in sub.rows] == rows_json()


def test_total_missing_never_asks_to_fill_the_row_the_template_computes(tmp_path, check):
    for cells in (mutated(**{f"{c}14": None for c in "BCDEFGHIJ"}), mutated(A14=None, **{f"{c}14": None for c in "BCDEFGHIJ"})):
        (sub,) = check(write_book(tmp_path / "侯寨乡.xlsx", cells)).submissions
        (f,) = sub.findings
        assert f.code == "TOTAL_MISSING" and "填写合计" not in f.message and "不用补填" in f.message


def test_messages_that_ask_to_change_a_locked_cell_say_how(tmp_path):
    """The template locks its header, labels and 合计 (template.py): each message asking for a change there
    says how to unprotect the sheet; the count cells, which are not locked, need no such words."""
    import openpyxl

    from pipeline.core.findings import CODES, UNLOCK, finding
    from pipeline.core.settings import load_settings
    from pipeline.outputs.template import write_template

    from conftest import REFERENCE
    path = write_template(tmp_path / "t.xlsx", "侯寨乡", "2016-09", "2016年9月30日", "区局")
    ws = openpyxl.load_workbook(path)["月度报表"]
    assert ws.protection.sheet
    assert all(ws[ref].protection.locked for ref in ("A2", "A3", "A6", "A13", "B5", "B14", "J14"))
    assert not any(ws[ref].protection.locked for ref in ("B6", "J13"))
    assert load_settings(REFERENCE)
    header_and_labels = ("NO_UNIT", "UNKNOWN_UNIT", "NO_PERIOD", "FUTURE_PERIOD", "UNIT_CONFLICT", "PERIOD_CONFLICT",
                         "TWO_PERIODS", "UNKNOWN_INDUSTRY", "DUPLICATE_INDUSTRY", "AMBIGUOUS_COLUMN", "SECOND_FORM",
                         "UNIT_FROM_FILENAME", "PERIOD_FROM_FILENAME")
    for code in header_and_labels:
        assert UNLOCK in finding(code, f"{S}!A3", value="x").message, code
    assert "撤销工作表保护" in CODES["TOTAL_MISMATCH"].template and "不用填写" in CODES["TOTAL_MISMATCH"].template
    for code in ("MISSING_INDUSTRY", "MISSING_COLUMN"):   # a new row or column: the bureau's form, not an edit
        assert "区局下发的报表" in CODES[code].template


# --- the header: the template's words are not a unit or a period; a date is not the period --------------

@pytest.mark.parametrize("line,name,expected", [
    ("填报单位：_____ 乡（镇）办事处 ___ 年 ___ 月", "侯寨乡-2016年9月.xlsx",
     [("UNIT_FROM_FILENAME", f"{S}!A3"), ("PERIOD_FROM_FILENAME", f"{S}!A3")]),
    ("填报单位：      年   月", "2016-09_侯寨乡.xlsx", [("UNIT_FROM_FILENAME", f"{S}!A3"), ("PERIOD_FROM_FILENAME", f"{S}!A3")]),
    ("填报单位：（盖章）      2016 年 9 月", "侯寨乡.xlsx", [("UNIT_FROM_FILENAME", f"{S}!A3")]),
    ("填报单位：侯寨乡      ____年___月", "报表.xlsx", [("NO_PERIOD", f"{S}!A3")]),
    ("填报单位：侯寨乡      2016年9月      填报日期：2016年10月", "报表.xlsx", []),
    ("填报单位：侯寨乡      填报日期：2016年10月", "报表.xlsx", [("NO_PERIOD", f"{S}!A3")]),
    ("填报单位：侯寨乡      统计时间：2016年9月", "报表.xlsx", []),
    ("报送单位：侯寨乡      2016 年 9 月", "报表.xlsx", []),
    ("填报单位：×××乡（镇）办事处      2016 年 9 月", "侯寨乡.xlsx", [("UNIT_FROM_FILENAME", f"{S}!A3")]),
    ("单位名称：____________      2016 年 9 月", "侯寨乡.xlsx", [("UNIT_FROM_FILENAME", f"{S}!A3")]),
    ("填报单位：侯寨乡      报送时间：2016.10", "报表.xlsx", [("NO_PERIOD", f"{S}!A3")]),
    ("填报单位：侯寨乡      填报日期：2016年10月", "侯寨乡2016年9月.xlsx", [("PERIOD_FROM_FILENAME", f"{S}!A3")]),
    ("填报单位：            填报日期：2016年10月8日", "侯寨乡_2016年9月.xlsx",
     [("UNIT_FROM_FILENAME", f"{S}!A3"), ("PERIOD_FROM_FILENAME", f"{S}!A3")]),
])
def test_header_words_and_dates_are_not_a_unit_or_a_period(tmp_path, check, line, name, expected):
    (sub,) = check(write_book(tmp_path / name, mutated(A3=line))).submissions
    assert [(f.code, f.cell) for f in sub.findings] == expected
    assert sub.unit == "侯寨乡" and sub.period == (None if expected and expected[-1][0] == "NO_PERIOD" else "2016-09")
    assert [r.as_json() for r in sub.rows] == rows_json()


@pytest.mark.parametrize("when, period, expected", [
    (__import__("datetime").datetime(2016, 9, 1), "2016-09", []),                      # 2016年9月 typed: Excel's date
    (__import__("datetime").datetime(2016, 10, 8), None, [("NO_PERIOD", f"{S}!A3")]),  # a day: when it was filled in
])
def test_a_date_cell_on_the_unit_line_is_a_month_only_when_it_is_one(tmp_path, check, when, period, expected):
    (sub,) = check(write_book(tmp_path / "报表.xlsx", mutated(A3="填报单位：侯寨乡", H3=when))).submissions
    assert [(f.code, f.cell) for f in sub.findings] == expected and sub.period == period

@pytest.mark.parametrize("written, suggested", [("候寨乡", "是否为“侯寨乡”？"), ("马砦镇", "是否为“马寨镇”？"),
                                                ("淮河街道", "是否为“淮河路街道”？"),
                                                ("某某镇", "如“淮河路街道”")])
def test_an_unknown_unit_is_told_the_nearest_name(tmp_path, check, written, suggested):
    result = check(write_book(tmp_path / "报表.xlsx", mutated(A3=f"填报单位：{written}      2016 年 9 月")))
    [f] = [f for f in result.submissions[0].findings if f.code == "UNKNOWN_UNIT"]
    assert f.message.startswith(f"{S}!A3：填报单位“{written}”不在本区单位名录中。")
    assert suggested in f.message
