"""Every single-file finding of FORM.md §3: the exact code and cell for a workbook that has it."""
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
    from pipeline.check import check_files
    from pipeline.settings import load_settings
    monkeypatch.setenv("PIPELINE_LIMITS_FILE_BYTES", "1000")
    small = load_settings(settings and __import__("conftest").REFERENCE)
    path = write_book(tmp_path / "侯寨乡.xlsx", form_cells())
    (sub,) = check_files([(path, path.name)], units, small)[0].submissions
    assert [f.code for f in sub.findings] == ["TOO_LARGE"]


def test_encrypted(tmp_path, check):
    pytest.importorskip("msoffcrypto")
    import io
    plain = write_book(tmp_path / "plain.xlsx", form_cells())
    out = io.BytesIO()
    with open(plain, "rb") as f:
        from msoffcrypto.format.ooxml import OOXMLFile
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


@pytest.mark.parametrize("written, suggested", [("候寨乡", "是否为“侯寨乡”？"), ("马砦镇", "是否为“马寨镇”？"),
                                                ("淮河街道", "是否为“淮河路街道”？"),
                                                ("某某镇", "如“淮河路街道”")])
def test_an_unknown_unit_is_told_the_nearest_name(tmp_path, check, written, suggested):
    result = check(write_book(tmp_path / "报表.xlsx", mutated(A3=f"填报单位：{written}      2016 年 9 月")))
    [f] = [f for f in result.submissions[0].findings if f.code == "UNKNOWN_UNIT"]
    assert f.message.startswith(f"{S}!A3：填报单位“{written}”不在本区单位名录中。")
    assert suggested in f.message
