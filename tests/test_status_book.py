"""报送情况: one row per unit with its status, every file received, and the counted rows."""
from __future__ import annotations

import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from pipeline.core.findings import finding
from pipeline.core.model import INDUSTRIES, LEVELS, Received, Row
from pipeline.outputs.status_book import GREEN, RED, YELLOW, write_status_book

TZ = ZoneInfo("Asia/Shanghai")
UNITS = ["侯寨乡", "马寨镇", "淮河路街道", "解放路街道"]
MISMATCH = finding("TOTAL_MISMATCH", "月度报表!C14", label="一级 累计完成", value=12, expected=11)
MISSING = finding("TOTAL_MISSING", "月度报表!E14", detail="合计行空白")
LATE = finding("LATE", None, value="2016年10月3日 09:00", expected="2016年9月30日 23:59")
HOSTILE = '=HYPERLINK("http://x")'


def rows(n: int) -> tuple[Row, ...]:
    return tuple(Row(i, lv, n, n + 1, 0) for i in INDUSTRIES for lv in LEVELS)


def rec(id, unit, status, day, hour=10, late=False, findings=(), file=None) -> Received:
    return Received(id=id, file=file or f"{unit}_9月.xlsx", archived=f"/archive/{id}.xlsx", sha256=f"{id:064d}",
                    received_at=datetime(2016, 9 if day <= 30 else 10, (day - 1) % 30 + 1, hour, 15, tzinfo=TZ),
                    sheet="月度报表", unit=unit, period="2016-09", status=status, late=late,
                    rows=rows(id) if status in ("accepted", "superseded") else (), findings=tuple(findings))


RECEIVED = [
    rec(1, "侯寨乡", "superseded", 26),
    rec(2, "侯寨乡", "accepted", 28),
    rec(3, "马寨镇", "accepted", 33, late=True, findings=[LATE]),
    rec(4, "淮河路街道", "rejected", 27, findings=[MISMATCH, MISSING]),
    rec(5, "淮河路街道", "duplicate", 29, findings=[finding("DUPLICATE_FILE", None, file="x", value="v", expected="e")]),
    rec(6, HOSTILE, "rejected", 29, file="=cmd|' /C calc'!A0.xlsx",
        findings=[finding("UNKNOWN_UNIT", "月度报表!A3", value=HOSTILE, hint="是否为“侯寨乡”？")]),
]
COUNTED = {"侯寨乡": RECEIVED[1], "马寨镇": RECEIVED[2]}


@pytest.fixture
def book(tmp_path):
    path = write_status_book(tmp_path / "out" / "报送情况.xlsx", "2016-09", UNITS, RECEIVED, COUNTED,
                             "2016年9月30日（星期五）23:59 前", "二七区")
    return load_workbook(path), path


def test_sheets_and_title(book):
    wb, path = book
    assert wb.sheetnames == ["报送情况", "全部文件", "明细"]
    assert wb["报送情况"]["A1"].value == "二七区 2016年9月 工贸企业安全生产标准化月度报表 报送情况"
    assert [p.name for p in path.parent.iterdir()] == ["报送情况.xlsx"]    # no temp file left


def test_one_row_per_unit_with_status_and_colour(book):
    ws = book[0]["报送情况"]
    assert [c.value for c in ws[3]] == ["序号", "单位", "状态", "收到时间", "文件名", "问题", "提交次数", "随附说明"]
    table = [[c.value for c in row] for row in ws.iter_rows(min_row=4, max_row=7)]
    assert [(r[0], r[1], r[2], r[3], r[4], r[6]) for r in table] == [
        (1, "侯寨乡", "按时", "2016年9月28日 10:15", "侯寨乡_9月.xlsx", 2),
        (2, "马寨镇", "迟报", "2016年10月3日 10:15", "马寨镇_9月.xlsx", 1),
        (3, "淮河路街道", "退回", "2016年9月29日 10:15", "淮河路街道_9月.xlsx", 2),
        (4, "解放路街道", "未报", None, None, 0)]
    argb = {c: "FF" + c.lstrip("#") for c in (GREEN, YELLOW, RED)}
    assert [ws.cell(r, 3).fill.fgColor.rgb for r in range(4, 8)] == [
        argb[GREEN], argb[YELLOW], argb[RED], argb[RED]]
    assert table[1][5] == "迟报（错误 0 项，提示 1 项）"
    assert ws["A8"].value == "应报 4 家，按时 1 家，迟报 1 家，退回 1 家，未报 1 家"


def test_rejected_unit_shows_the_problems_of_its_last_accepted_or_not_file(book):
    ws = book[0]["报送情况"]
    # 淮河路街道's last file is the duplicate; its problems are what it was told last
    assert ws["F6"].value == "重复文件（错误 0 项，提示 1 项）"


def test_all_files_lists_every_submission_in_order_of_receipt(book):
    ws = book[0]["全部文件"]
    table = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [(r[3], r[5], r[6]) for r in table] == [
        ("侯寨乡", "已被替代", "否"), ("淮河路街道", "退回", "否"), ("侯寨乡", "接收", "否"),
        ("淮河路街道", "重复", "否"), (HOSTILE, "退回", "否"), ("马寨镇", "接收", "是")]
    assert table[1][7] == "合计不符、合计未填（错误 1 项，提示 1 项）"
    assert ws.freeze_panes == "A2"


def test_hostile_text_is_written_as_text(book):
    wb, path = book
    ws = wb["全部文件"]
    hostile = [row for row in ws.iter_rows(min_row=2) if row[3].value == HOSTILE][0]
    assert hostile[2].value == "=cmd|' /C calc'!A0.xlsx"
    assert hostile[2].data_type == "s" and hostile[3].data_type == "s"
    with zipfile.ZipFile(path) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_details_hold_24_numeric_rows_per_counted_unit(book):
    ws = book[0]["明细"]
    assert [c.value for c in ws[1]] == ["单位", "行业", "级别", "当月完成", "累计完成", "正在评审"]
    table = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert len(table) == 48
    assert [r[0] for r in table] == ["侯寨乡"] * 24 + ["马寨镇"] * 24
    assert table[0] == ["侯寨乡", "冶金", "一级", 2, 3, 0]
    assert table[-1] == ["马寨镇", "烟草", "三级", 3, 4, 0]
    assert all(isinstance(v, int) for r in table for v in r[3:])


def test_details_name_each_text_once_in_the_shared_strings(book):
    """明细's texts (units, industries, levels) are kept once in xl/sharedStrings.xml and each cell
    names its own by number: a country's million rows stay small."""
    import re
    with zipfile.ZipFile(book[1]) as z:
        shared = z.read("xl/sharedStrings.xml").decode()
        details = z.read("xl/worksheets/sheet3.xml").decode()
        assert "sharedStrings.xml" in z.read("xl/_rels/workbook.xml.rels").decode()
    texts = re.findall(r"<si><t>([^<]*)</t></si>", shared)
    assert sorted(texts) == sorted([*INDUSTRIES, "一级", "二级", "三级", "侯寨乡", "马寨镇"])
    assert f'count="{48 * 3}" uniqueCount="{len(texts)}"' in shared
    body = details.split("</row>", 1)[1]   # after the header
    assert 'inlineStr' not in body and body.count('t="s"') == 48 * 3


def test_a_month_with_nothing_counted_has_an_empty_table_of_shared_strings(tmp_path):
    path = write_status_book(tmp_path / "b.xlsx", "2016-09", UNITS, RECEIVED[3:], {}, "9月30日", "二七区")
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/sharedStrings.xml").endswith(b'count="0" uniqueCount="0"></sst>')
    assert load_workbook(path)["明细"].max_row == 1   # the header


def test_a_blank_count_stays_blank_and_the_rows_after_it_stay_in_their_columns(tmp_path):
    """Most 明细 rows leave out their cells' references; a row with a blank count keeps them."""
    import python_calamine
    blank = rows(2)[:1] + (Row("冶金", 2, None, 5, None),) + rows(2)[2:]
    accepted = rec(2, "侯寨乡", "accepted", 28)
    counted = {"侯寨乡": Received(**{**vars(accepted), "rows": blank})}
    path = write_status_book(tmp_path / "b.xlsx", "2016-09", UNITS, list(counted.values()), counted, "9月30日", "二七区")
    expected = [["侯寨乡", r.industry, "一二三"[r.level - 1] + "级", r.new, r.cumulative, r.reviewing] for r in blank]
    got = [list(r) for r in load_workbook(path)["明细"].iter_rows(min_row=2, values_only=True)]
    assert got == expected and got[1][3:] == [None, 5, None] and got[2][3:] == [2, 3, 0]
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    read = book.get_sheet_by_name("明细").to_python()[1:]
    assert [r[:3] + [None if v == "" else v for v in r[3:]] for r in read] == expected


def test_details_past_an_excel_sheet_go_on_in_the_next_a_unit_kept_whole(tmp_path, monkeypatch):
    """A country's 明细 can pass Excel's 1,048,576 rows a sheet: here a sheet of 2 units' rows."""
    import pipeline.outputs.status_book
    monkeypatch.setattr(pipeline.outputs.status_book, "SHEET_ROWS", 1 + 24 * 2 + 10)
    units = ["侯寨乡", "马寨镇", "淮河路街道", "解放路街道", "铭功路街道"]
    counted = {u: rec(k, u, "accepted", 20 + k) for k, u in enumerate(units, 1)}
    path = write_status_book(tmp_path / "报送情况.xlsx", "2016-09", units, list(counted.values()), counted,
                             "2016年9月30日", "二七区")
    wb = load_workbook(path)
    assert wb.sheetnames == ["报送情况", "全部文件", "明细", "明细2", "明细3"]
    got = {name: [r[0] for r in wb[name].iter_rows(min_row=2, values_only=True)] for name in wb.sheetnames[2:]}
    assert got == {"明细": [units[0]] * 24 + [units[1]] * 24, "明细2": [units[2]] * 24 + [units[3]] * 24,
                   "明细3": [units[4]] * 24}
    assert all(wb[name]["A1"].value == "单位" for name in got)


def test_page_setup(book):
    for ws in book[0].worksheets:
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        # fitToWidth absent means 1 (OOXML's default): one page wide
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (1, None)
        assert ws.page_setup.fitToHeight == 0


def test_odd_text_is_written_as_it_was_received(tmp_path):
    odd = [" 前有空格", "后有空格 ", "a&b<c>d", "=1+2", "响铃\x07号"]
    received = RECEIVED + [rec(10 + i, "马寨镇", "rejected", 20, file=name) for i, name in enumerate(odd)]
    path = write_status_book(tmp_path / "b.xlsx", "2016-09", UNITS, received, COUNTED, "9月30日", "二七区")
    ws = load_workbook(path)["全部文件"]
    cells = [row[2] for row in ws.iter_rows(min_row=2) if row[2].value not in {r.file for r in RECEIVED}]
    assert [c.value for c in cells] == [" 前有空格", "后有空格 ", "a&b<c>d", "=1+2", "响铃号"]
    assert {c.data_type for c in cells} == {"s"}


def test_details_are_the_same_whatever_the_order_of_the_rows_and_the_rows_kept(tmp_path, monkeypatch):
    """明细 keeps each kind of row's cells for the next units, at most _TAILS_KEPT of them; rows come
    out in the form's order even when a submission holds them in another."""
    import pipeline.outputs.status_book
    counted = {u: rec(k, u, "accepted", 20 + k) for k, u in enumerate(UNITS, 1)}
    shuffled = dict(counted, 马寨镇=Received(**{**vars(counted["马寨镇"]), "rows": counted["马寨镇"].rows[::-1]}))

    def details(name, counted):
        path = write_status_book(tmp_path / name, "2016-09", UNITS, list(counted.values()), counted, "9月30日", "二七区")
        return [list(r) for r in load_workbook(path)["明细"].iter_rows(min_row=2, values_only=True)]

    expected = [[u, r.industry, "一二三"[r.level - 1] + "级", r.new, r.cumulative, r.reviewing]
                for u in UNITS for r in counted[u].rows]
    assert details("a.xlsx", counted) == expected
    monkeypatch.setattr(pipeline.outputs.status_book, "_TAILS_KEPT", 5)
    assert details("b.xlsx", shuffled) == expected


def test_received_times_are_shown_in_the_districts_own_zone(tmp_path):
    """A district set to another zone (settings' district.timezone) sees its own clock's times."""
    path = write_status_book(tmp_path / "b.xlsx", "2016-09", UNITS, RECEIVED, COUNTED, "9月30日", "二七区",
                             tz=ZoneInfo("Asia/Urumqi"))   # UTC+6: two hours behind Beijing
    shown = [r[1] for r in load_workbook(path)["全部文件"].iter_rows(min_row=2, values_only=True)]
    assert shown == ["2016年9月26日 08:15", "2016年9月27日 08:15", "2016年9月28日 08:15", "2016年9月29日 08:15",
                     "2016年9月29日 08:15", "2016年10月3日 08:15"]
