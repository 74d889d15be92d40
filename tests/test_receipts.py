"""回执: the .txt says what happened and what to fix; the marked copy shows where."""
from __future__ import annotations

import os
import random
import re
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment

from pipeline.core.findings import finding
from pipeline.core.model import INDUSTRIES, LEVELS, Received, Row
from pipeline.core.settings import load_settings
from pipeline.demo import samples
from pipeline.outputs import marked as copies
from pipeline.outputs import receipts
from pipeline.outputs.marked_book import ERROR_RGB, WARNING_RGB, mark
from pipeline.outputs.marked_parts import LIST_LINE, LIST_SHEET, set_lines
from pipeline.outputs.receipts import write_receipt, write_receipts

TZ = ZoneInfo("Asia/Shanghai")
DEFAULTS = load_settings(None)   # the settings where staff set none: the district in Asia/Shanghai
BUREAU = "郑州市二七区安全生产监督管理局"
WHEN = datetime(2016, 9, 28, 10, 15, tzinfo=TZ)
ROWS = tuple(Row(i, lv, 0, 1, 0) for i in INDUSTRIES for lv in LEVELS)
MISMATCH = finding("TOTAL_MISMATCH", "月度报表!C14", label="一级 累计完成", value=12, expected=11)
MISSING = finding("TOTAL_MISSING", "月度报表!E14", detail="合计行“二级 当月完成”空白")
LATE = finding("LATE", None, value="2016年10月3日 09:00", expected="2016年9月30日 23:59")


def clerk_form(path: Path) -> Path:
    """A small form as a clerk sends it: title merged over A2:J2, counts in B6:J13, 合计 in row 14."""
    wb = Workbook()
    ws = wb.active
    ws.title = "月度报表"
    ws["A2"] = "工贸企业安全生产标准化月度报表"
    ws.merge_cells("A2:J2")
    ws["A3"] = "填报单位：马寨镇      2016 年 9 月"
    for r, industry in enumerate(INDUSTRIES, 6):
        ws.cell(r, 1, industry)
        for c in range(2, 11):
            ws.cell(r, c, 1 if c == 3 else 0)
    ws["A14"] = "合计"
    ws["C14"] = 12
    ws["D14"] = "=SUM(D6:D13)"
    wb.save(path)
    return path


def received(archived, findings=(), status="rejected", unit="马寨镇", file="马寨镇_2016年9月.xlsx",
             id=1, late=False, sheet="月度报表") -> Received:
    return Received(id=id, file=file, archived=str(archived), sha256="0" * 64, received_at=WHEN,
                    sheet=sheet, unit=unit, period="2016-09", status=status, late=late,
                    rows=ROWS if status == "accepted" else (), findings=tuple(findings))


def txt(paths) -> str:
    [path] = [p for p in paths if p.suffix == ".txt"]
    return path.read_text(encoding="utf-8-sig")


def marked(paths):
    [path] = [p for p in paths if p.suffix == ".xlsx"]
    assert path.name.endswith("_标注.xlsx")
    return load_workbook(path), path


@pytest.fixture(params=["xml", "openpyxl"])
def marking(request, monkeypatch):
    """The marked copy made both ways: from the clerk's own XML (what nearly every file takes) and,
    for the workbooks that path declines as they are, from the workbook as openpyxl saves it. A clerk
    sees the same either way."""
    if request.param == "openpyxl":
        monkeypatch.setattr(copies, "ROUTES", copies.ROUTES[1:])
    return request.param


@pytest.fixture
def rejected(tmp_path, marking):
    rec = received(clerk_form(tmp_path / "archived.xlsx"), [MISMATCH, MISSING])
    return write_receipt(rec, tmp_path / "out", BUREAU, deadline_text="2016年9月30日")


def test_rejected_txt_says_returned_and_lists_each_message(rejected):
    text = txt(rejected)
    assert "已退回，请改正后重新报送" in text
    assert "马寨镇" in text and "马寨镇_2016年9月.xlsx" in text
    assert "2016年9月28日 10:15" in text
    assert f"1. 【错误】{MISMATCH.message}" in text
    assert f"2. 【提示】{MISSING.message}" in text
    assert text.startswith(f"{BUREAU} 报表回执")
    assert "请按上述问题改正后于2016年9月30日前重新报送。本单位2016年9月目前没有被接收的报表，汇总中暂按未报计。" in text
    assert rejected[0].name == "回执_马寨镇_2016年9月_1_马寨镇_2016年9月.txt"
    assert rejected[0].read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in rejected[0].read_bytes()


def test_marked_copy_has_fill_and_comment_at_the_cell(rejected):
    wb, _ = marked(rejected)
    ws = wb["月度报表"]
    assert ws["C14"].fill.fgColor.rgb == ERROR_RGB
    assert ws["C14"].comment.text == MISMATCH.message
    assert ws["C14"].comment.author == "区安监局"
    assert ws["E14"].fill.fgColor.rgb == WARNING_RGB
    assert ws["E14"].comment.text == MISSING.message
    assert ws["C14"].value == 12 and ws["A2"].value == "工贸企业安全生产标准化月度报表"
    assert "A2:J2" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["D14"].data_type != "f"          # the clerk's formulas are not carried over


def test_problem_list_sheet_lists_every_finding_with_links(rejected):
    wb, _ = marked(rejected)
    ws = wb[LIST_SHEET]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert [c.value for c in ws[2]] == ["序号", "级别", "问题", "单元格", "说明", "代码"]     # Chinese, the code last
    unspaced = lambda text: "".join(text.split())   # noqa: E731 -- a line may break where a space was
    assert [(r[1], r[2], r[3], unspaced(r[4]), r[5]) for r in rows] == [
        ("错误", "合计不符", "月度报表!C14", unspaced(MISMATCH.message), "TOTAL_MISMATCH"),
        ("提示", "合计未填", "月度报表!E14", unspaced(MISSING.message), "TOTAL_MISSING")]
    for r in rows:        # set in lines that fit the column: none starts with a mark such as 。
        lines = r[4].split("\n")
        assert all(line[:1] not in "，。、；：）”" for line in lines)
        assert ws.row_dimensions[rows.index(r) + 3].height == 16 * len(lines)
    assert ws["D3"].hyperlink.location == "'月度报表'!C14"
    assert wb.active.title == LIST_SHEET


def test_accepted_without_findings_gives_only_a_txt(tmp_path):
    rec = received(clerk_form(tmp_path / "a.xlsx"), status="accepted", unit="侯寨乡", file="侯寨乡9月.xlsx")
    paths = write_receipt(rec, tmp_path / "out", "二七区")
    assert [p.suffix for p in paths] == [".txt"]
    assert "已接收" in txt(paths) and "未发现问题" in txt(paths)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [paths[0].name]   # no temp files left


def test_finding_without_cell_is_told_in_the_txt_only(tmp_path):
    rec = received(clerk_form(tmp_path / "a.xlsx"), [LATE], status="accepted", late=True)
    paths = write_receipt(rec, tmp_path / "out", "二七区")
    assert "已接收" in txt(paths) and LATE.message in txt(paths)
    assert [p.suffix for p in paths] == [".txt"]   # nothing to mark in the clerk's form


@pytest.mark.parametrize("status, verdict", [("superseded", "已被后来的报表替代"),
                                             ("duplicate", "与已收到的内容相同，不重复计数")])
def test_other_verdicts(tmp_path, status, verdict):
    rec = received(clerk_form(tmp_path / "a.xlsx"), status=status)
    assert verdict in txt(write_receipt(rec, tmp_path / "out", "二七区"))


def test_xls_copy_is_rebuilt_from_grid_rows_at_the_same_coordinates(tmp_path):
    archived = tmp_path / "a.xls"
    archived.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)   # OLE, not a zip
    grid = [["工贸企业安全生产标准化月度报表", ""], ["填报单位：马寨镇", ""]] + \
           [[industry, 0, 1] for industry in INDUSTRIES] + [["合计", 0, 12]]
    # the grid starts at A2 (zero-based row 1): 合计 lands in row 14 as in the form
    grid = [grid[0], grid[1], ["行业", "一级"], ["", "当月完成"]] + grid[2:]
    cell = finding("TOTAL_MISMATCH", "Sheet1!C14", label="一级 累计完成", value=12, expected=8)
    rec = received(archived, [cell], file="马寨镇.xls", sheet="Sheet1")
    paths = write_receipt(rec, tmp_path / "out", "二七区", grid_rows={"Sheet1": (1, 0, grid)})
    wb, _ = marked(paths)
    ws = wb["Sheet1"]
    assert ws["A2"].value == "工贸企业安全生产标准化月度报表"
    assert ws["A6"].value == "冶金" and ws["A14"].value == "合计"
    assert ws["C14"].value == 12 and ws["C14"].fill.fgColor.rgb == ERROR_RGB
    assert ws["C14"].comment.text == cell.message


def test_xls_without_grid_rows_gives_only_a_txt(tmp_path):
    archived = tmp_path / "a.xls"
    archived.write_bytes(b"\xd0\xcf\x11\xe0")
    rec = received(archived, [MISMATCH])
    paths = write_receipt(rec, tmp_path / "out", "二七区")
    assert [p.suffix for p in paths] == [".txt"] and MISMATCH.message in txt(paths)


HOSTILE_UNIT = '=HYPERLINK("http://x")'


@pytest.mark.parametrize("file", ["../../etc/passwd", "..\\..\\x.xlsx", "=1+2.xlsx", "a/b\x00c\n.xlsx"])
def test_hostile_names_stay_text_and_inside_out_dir(tmp_path, file, marking):
    out = tmp_path / "out"
    grid = [[HOSTILE_UNIT, "@SUM(1)", "-2+3", 5]]
    rec = received(clerk_form(tmp_path / "a.xlsx"), [MISMATCH], unit=HOSTILE_UNIT, file=file)
    for rec_ in (rec, received(tmp_path / "missing.xls", [MISMATCH], unit=HOSTILE_UNIT, file=file, id=2)):
        paths = write_receipt(rec_, out, "二七区", grid_rows={"月度报表": (0, 0, grid)})
        assert len(paths) == 2
        for p in paths:
            assert p.resolve().parent == out.resolve()
        wb, path = marked(paths)
        title = wb[LIST_SHEET]["A1"]
        assert title.value.startswith(HOSTILE_UNIT) and title.data_type == "s"
        with zipfile.ZipFile(path) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            assert not any(b"<f>" in z.read(n) for n in sheets)
    ws = wb["月度报表"]
    assert [ws.cell(1, c).value for c in range(1, 5)] == [HOSTILE_UNIT, "@SUM(1)", "-2+3", 5]
    assert sorted(p.suffix for p in out.iterdir()) == [".txt", ".txt", ".xlsx", ".xlsx"]


def test_two_submissions_of_one_unit_get_two_receipts(tmp_path):
    form = clerk_form(tmp_path / "a.xlsx")
    first = write_receipt(received(form, [MISMATCH], id=7), tmp_path / "out", "二七区")
    second = write_receipt(received(form, status="accepted", id=9), tmp_path / "out", "二七区")
    assert first[0] != second[0] and first[0].exists() and second[0].exists()


def test_archived_copy_without_extension_is_opened_by_its_bytes(tmp_path, marking):
    form = clerk_form(tmp_path / "a.xlsx")
    archived = tmp_path / "c316fe2c"
    archived.write_bytes(form.read_bytes())
    wb, _ = marked(write_receipt(received(archived, [MISMATCH]), tmp_path / "out", "二七区"))
    assert wb["月度报表"]["C14"].comment.text == MISMATCH.message


def test_ods_zip_is_rebuilt_from_grid_rows(tmp_path):
    archived = tmp_path / "a.ods"
    with zipfile.ZipFile(archived, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    grid = [["合计", 0, 12]]
    rec = received(archived, [MISMATCH], file="马寨镇.ods")
    wb, _ = marked(write_receipt(rec, tmp_path / "out", "二七区", grid_rows={"月度报表": (13, 0, grid)}))
    assert wb["月度报表"]["A14"].value == "合计" and wb["月度报表"]["C14"].comment.text == MISMATCH.message


def test_an_ordinary_form_is_marked_in_its_own_xml(tmp_path):
    """The fast path takes the forms clerks send (here: openpyxl's and the issued template's)."""
    rows = samples.random_rows(random.Random(1), "马寨镇")
    for form in (clerk_form(tmp_path / "a.xlsx"),
                 samples.write_sample(tmp_path / "b.xlsx", "马寨镇", "2016-09", rows)):
        rec = received(form, [MISMATCH])
        assert mark(form.read_bytes(), "清单", receipts._problems(rec)) is not None


def test_stored_formula_results_replace_the_formulas(tmp_path, marking):
    rows = samples.random_rows(random.Random(2), "马寨镇")
    form = samples.write_sample(tmp_path / "form.xlsx", "马寨镇", "2016-09", rows)   # 合计 row: =SUM() with results
    original = load_workbook(form, data_only=True)["月度报表"]
    wb, path = marked(write_receipt(received(form, [MISMATCH]), tmp_path / "out", "二七区"))
    ws = wb["月度报表"]
    assert [c.value for c in ws[14]] == [c.value for c in original[14]]
    assert any(isinstance(c.value, int) and c.value > 0 for c in ws[14])
    with zipfile.ZipFile(path) as z:
        assert not any(b"<f>" in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
        assert "xl/calcChain.xml" not in z.namelist()


def test_a_merged_cell_is_marked_at_its_first_cell(tmp_path, marking):
    title = finding("UNIT_FROM_FILENAME", "月度报表!C2", file="马寨镇.xlsx", value="马寨镇")   # inside A2:J2
    wb, _ = marked(write_receipt(received(clerk_form(tmp_path / "a.xlsx"), [title]), tmp_path / "out", "二七区"))
    ws = wb["月度报表"]
    assert ws["A2"].fill.fgColor.rgb == WARNING_RGB and ws["A2"].comment.text == title.message
    assert wb[LIST_SHEET]["D3"].hyperlink.location == "'月度报表'!A2"


def test_a_clerks_own_comments_are_kept(tmp_path):
    """A workbook with comments of its own is left to openpyxl, which keeps them beside ours."""
    form = clerk_form(tmp_path / "a.xlsx")
    wb = load_workbook(form)
    wb["月度报表"]["A1"].comment = Comment("填表人：张三", "张三")
    wb.save(form)
    rec = received(form, [MISMATCH])
    assert mark(form.read_bytes(), "清单", receipts._problems(rec)) is None
    wb, _ = marked(write_receipt(rec, tmp_path / "out", "二七区"))
    assert wb["月度报表"]["A1"].comment.text == "填表人：张三"
    assert wb["月度报表"]["C14"].comment.text == MISMATCH.message


def test_write_receipts_in_order_of_submissions_with_a_pool(tmp_path, monkeypatch):
    monkeypatch.setattr(receipts, "MARK_IN_POOL", 2)     # the pool, as for a whole country
    form = clerk_form(tmp_path / "a.xlsx")
    subs = [received(form, [MISMATCH] if i % 2 else [], status="rejected" if i % 2 else "accepted", id=i)
            for i in range(1, 7)]
    paths = write_receipts(subs, tmp_path / "out", "二七区", "2016年10月31日", DEFAULTS)
    assert [p.name.split("_")[3] for p in paths] == ["1", "1", "2", "3", "3", "4", "5", "5", "6"]
    assert [p.suffix for p in paths[:3]] == [".txt", ".xlsx", ".txt"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    assert marked(paths[:2])[0]["月度报表"]["C14"].comment.text == MISMATCH.message


def test_a_pool_started_before_the_month_is_read_writes_the_same_receipts(tmp_path):
    """`receipt_pool` starts the workers early for a month big enough to need them (none below), at
    a lower priority than the process making the month's other outputs."""
    form = clerk_form(tmp_path / "a.xlsx")
    subs = [received(form, [MISMATCH] if i % 2 else [], status="rejected" if i % 2 else "accepted", id=i)
            for i in range(1, 5)]
    with receipts.receipt_pool(receipts.IN_POOL - 1) as none:
        assert none is None
    with receipts.receipt_pool(receipts.IN_POOL) as pool:
        assert {pool.submit(os.nice, 0).result() for _ in range(4)} == {min(19, os.nice(0) + receipts.BACKGROUND)}
        early = write_receipts(subs, tmp_path / "early", "二七区", "2016年10月31日", DEFAULTS, pool=pool)
    here = write_receipts(subs, tmp_path / "here", "二七区", "2016年10月31日", DEFAULTS)
    assert [p.name for p in early] == [p.name for p in here]
    assert [p.read_bytes() for p in early if p.suffix == ".txt"] == [p.read_bytes() for p in here if p.suffix == ".txt"]


JUNK = [b"<", b'"', b"&", b"<x/>", b"</c>", b"<f>1</f>", b'r="ZZ0"', b's="9999"', b"<!--c-->", b"", b"-1", b"<row/>"]


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(member=st.integers(0, 99), at=st.integers(0, 10**6), cut=st.integers(0, 40), junk=st.sampled_from(JUNK))
def test_a_damaged_workbook_still_gets_its_receipt(tmp_path, member, at, cut, junk):
    """Whatever the XML path meets in a clerk's parts, it declines or marks; the run goes on."""
    form = clerk_form(tmp_path / "a.xlsx")
    with zipfile.ZipFile(form) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    names = sorted(n for n in parts if n.endswith((".xml", ".rels")))
    name = names[member % len(names)]
    at %= len(parts[name])
    parts[name] = parts[name][:at] + junk + parts[name][at + cut:]
    with zipfile.ZipFile(form, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    paths = write_receipt(received(form, [MISMATCH, MISSING]), tmp_path / "out", "二七区")
    assert MISMATCH.message in txt(paths)


@pytest.mark.parametrize("pool", [False, True])
def test_write_receipts_runs_meanwhile_once_and_a_failure_in_it_stops_the_run(tmp_path, monkeypatch, pool):
    """The status book is written while the receipts are: once, and its error is not swallowed."""
    if pool:
        monkeypatch.setattr(receipts, "MARK_IN_POOL", 2)
    form = clerk_form(tmp_path / "a.xlsx")
    subs = [received(form, [MISMATCH] if i % 2 else [], status="rejected" if i % 2 else "accepted", id=i)
            for i in range(1, 7)]
    calls = []
    paths = write_receipts(subs, tmp_path / "out", "二七区", "", DEFAULTS, meanwhile=lambda: calls.append(1))
    assert calls == [1] and len(paths) == 9 and all(p.exists() for p in paths)

    def broken():
        raise OSError("磁盘已满")
    with pytest.raises(OSError, match="磁盘已满"):
        write_receipts(subs, tmp_path / "again", "二七区", "", DEFAULTS, meanwhile=broken)


def test_receipts_a_dead_pool_worker_did_not_write_are_written_here(tmp_path, monkeypatch):
    """A pool worker killed midway (out of memory, say): its batches are written by this process."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    class DeadPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args, **kwargs):
            future = Future()
            future.set_running_or_notify_cancel()
            future.set_exception(BrokenProcessPool("进程被终止"))
            return future
    monkeypatch.setattr(receipts, "MARK_IN_POOL", 2)
    monkeypatch.setattr(receipts, "ProcessPoolExecutor", DeadPool)
    form = clerk_form(tmp_path / "a.xlsx")
    subs = [received(form, [MISMATCH] if i % 2 else [], status="rejected" if i % 2 else "accepted", id=i)
            for i in range(1, 7)]
    paths = write_receipts(subs, tmp_path / "out", "二七区", "", DEFAULTS)
    assert len(paths) == 9 and all(p.exists() for p in paths)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_a_pool_worker_writes_from_the_light_form_what_this_process_writes(tmp_path):
    """What goes to a pool worker (`_light`: no rows, the time as a timestamp) makes the same receipts,
    the received time shown in the district's zone."""
    form = clerk_form(tmp_path / "a.xlsx")
    subs = [received(form, [MISMATCH] if i % 2 else [], status="rejected" if i % 2 else "accepted", id=i)
            for i in range(1, 4)]
    where = {"bureau": BUREAU, "deadline_text": "2016年10月31日", "tz": TZ,
             "counted": {"马寨镇": (WHEN.timestamp() - 3600, "马寨镇9月.xlsx")}}
    for folder in ("pool", "here"):
        (tmp_path / folder).mkdir()
    pooled = receipts._receipts_of_light([receipts._light(r) for r in subs], receipts_dir=tmp_path / "pool", **where)
    here = receipts._receipts_of(subs, receipts_dir=tmp_path / "here", **where)
    assert pooled == {k: [p.name for p in paths] for k, paths in here.items()}
    for names in pooled.values():
        [name] = [n for n in names if n.endswith(".txt")]
        text = (tmp_path / "pool" / name).read_text(encoding="utf-8-sig")
        assert text == (tmp_path / "here" / name).read_text(encoding="utf-8-sig")
        assert "收到时间：2016年9月28日 10:15" in text


@pytest.mark.parametrize("hours, says", [
    (-2, "请按上述问题改正后于2016年10月12日前重新报送。本单位2016年9月此前于2016年9月28日 08:15报送的“马寨镇9月.xlsx”"
         "已被接收，在收到改正后的报表之前，汇总仍以该表为准。"),
    (+2, "本报表未计入汇总。本单位2016年9月于2016年9月28日 12:15报送的“马寨镇9月.xlsx”已被接收并计入汇总，本报表无需再改。")])
def test_a_rejected_forms_receipt_says_whether_an_accepted_one_still_counts(tmp_path, hours, says):
    rec = received(clerk_form(tmp_path / "a.xlsx"), [MISMATCH])
    counted = {"马寨镇": (WHEN.timestamp() + hours * 3600, "马寨镇9月.xlsx")}
    text = txt(write_receipt(rec, tmp_path / "out", BUREAU, deadline_text="2016年10月12日", counted=counted))
    assert says in text and f"如有疑问，请与{BUREAU}联系。" in text


def test_a_month_of_receipts_tells_a_rejected_form_about_the_accepted_one(tmp_path):
    form = clerk_form(tmp_path / "a.xlsx")
    subs = [received(form, [MISMATCH], id=1), received(form, status="accepted", id=2, file="马寨镇改.xlsx")]
    paths = write_receipts(subs, tmp_path / "out", BUREAU, "2016年10月12日", DEFAULTS)
    first = paths[0].read_text(encoding="utf-8-sig")
    assert "“马寨镇改.xlsx”已被接收" in first and "本报表已计入2016年9月汇总" in txt(paths[-1:])


@pytest.mark.parametrize("now, by", [
    (datetime(2016, 9, 20, 10, 0, tzinfo=TZ), "2016-09-30"),      # the month's deadline is ahead: it
    (datetime(2016, 10, 3, 9, 0, tzinfo=TZ), "2016-10-06"),       # Monday: three working days on
    (datetime(2016, 10, 7, 16, 0, tzinfo=TZ), "2016-10-12"),      # Friday: past the weekend
])
def test_a_rejected_form_is_asked_back_by_a_date_still_ahead(now, by):
    from pipeline.core.settings import load_settings
    assert load_settings(None).resend_by("2016-09", now).isoformat() == by


@pytest.mark.parametrize("text", [
    "月度报表!B11：“建材 一级 当月完成”填写为 -1，企业家数不能小于 0。请改正。",
    "月度报表!A3：填报单位“候寨乡”不在本区单位名录中。是否为“侯寨乡”？请改为单位名录中的规范名称。",
    "甲" * (LIST_LINE // 2) + "。乙",         # the 。 falls just past the line: it stays with 甲
    "甲" * (LIST_LINE // 2 - 1) + "（乙）",   # an opening mark does not end a line
    "甲" * (LIST_LINE // 2 - 2) + "月度报表!C14 不符",   # a cell name goes down whole
])
def test_problem_messages_are_set_in_lines_as_chinese_is(text):
    lines = set_lines(text)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(line and line[0] not in "，。、；：？！）”" for line in lines)
    assert all(line[-1] not in "（“" for line in lines)
    assert all(sum(2 if ord(c) > 0x2E80 else 1 for c in line) <= LIST_LINE + 4 for line in lines)   # marks hang
    assert not any(re.search(r"[A-Za-z0-9]$", a) and re.match(r"[A-Za-z0-9]", b) for a, b in zip(lines, lines[1:]))


def _marked_clerk_file(tmp_path, path: Path):
    """A clerk's .xls/.ods with a negative count in 建材 一级 当月完成 (B11), marked as a month's run
    marks it: from the grid as read, with the file's own layout."""
    from pipeline.read.grids import read_grids
    grids = {g.sheet: (g.origin[0], g.origin[1], g.rows) for g in read_grids(str(path), 2_000_000)}
    negative = finding("NEGATIVE", "月度报表!B11", label="建材 一级 当月完成", value=-1)
    rec = received(path, [negative], unit="侯寨乡", file=f"侯寨乡9月{path.suffix}")
    wb, _ = marked(write_receipt(rec, tmp_path / "out", BUREAU, grid_rows=grids))
    return wb


def _bad_rows():
    rows = {(ind, lv): (0, 1, 0) for ind in INDUSTRIES for lv in LEVELS}
    rows[("建材", 1)] = (-1, 1, 0)
    return rows


def test_the_marked_copy_of_an_xls_keeps_the_clerks_layout_and_prints_on_one_page(tmp_path):
    path = samples.write_sample(tmp_path / "侯寨乡", "侯寨乡", "2016-09", _bad_rows(), "xls")
    wb = _marked_clerk_file(tmp_path, path)
    ws = wb["月度报表"]
    assert {"A2:J2", "A4:A5", "B4:D4", "E4:G4", "H4:J4"} <= {str(r) for r in ws.merged_cells.ranges}
    assert ws["B11"].value == -1 and ws["B11"].fill.fgColor.rgb == ERROR_RGB
    assert ws["C11"].border.left.style == ws["C11"].border.bottom.style == "thin"          # the form's box
    assert ws["A2"].font.name == "宋体" and ws["A2"].font.bold and ws["A2"].font.size == 18
    import xlrd
    sheet = xlrd.open_workbook(str(path), formatting_info=True).sheet_by_index(0)
    for col in range(10):
        assert ws.column_dimensions["ABCDEFGHIJ"[col]].width == pytest.approx(sheet.colinfo_map[col].width / 256)
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 1)
    assert wb.properties.creator == BUREAU and wb.properties.title.startswith("侯寨乡 2016年9月 报表问题清单")


def test_the_marked_copy_of_an_ods_keeps_its_widths_borders_and_merges(tmp_path):
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.style import Style, TableCellProperties, TableColumnProperties, TextProperties
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableRow
    from odf.text import P
    doc = OpenDocumentSpreadsheet()
    wide = Style(name="co1", family="table-column")
    wide.addElement(TableColumnProperties(columnwidth="3.5cm"))
    boxed = Style(name="ce1", family="table-cell")
    boxed.addElement(TableCellProperties(border="0.06pt solid #000000"))
    boxed.addElement(TextProperties(fontweight="bold"))
    for style in (wide, boxed):
        doc.automaticstyles.addElement(style)
    table = Table(name="月度报表")
    table.addElement(TableColumn(stylename=wide))
    table.addElement(TableColumn(numbercolumnsrepeated=9))
    cells = form_grid()
    for r, row in enumerate(cells):
        tr = TableRow()
        for c, value in enumerate(row):
            if r == 1 and c > 0:
                tr.addElement(CoveredTableCell())
                continue
            kw = {"numbercolumnsspanned": 10} if (r, c) == (1, 0) else {}
            if r >= 5:
                kw["stylename"] = boxed
            cell = TableCell(valuetype="float", value=value, **kw) if isinstance(value, int) else \
                TableCell(valuetype="string", **kw)
            if not isinstance(value, int):
                cell.addElement(P(text=value))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    path = tmp_path / "侯寨乡.ods"
    doc.save(str(path))
    ws = _marked_clerk_file(tmp_path, path)["月度报表"]
    assert "A2:J2" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.column_dimensions["A"].width == pytest.approx((3.5 / 2.54 * 96 - 5) / 7, abs=0.1)
    assert ws["C11"].border.top.style == "thin" and ws["C11"].font.bold
    assert ws["B11"].value == -1 and ws["B11"].fill.fgColor.rgb == ERROR_RGB


def form_grid() -> list[list]:
    """The seed form's rows 1-14 as values (a negative 建材 一级 当月完成 in B11)."""
    head = [["附件"] + [""] * 9, ["工贸企业安全生产标准化月度报表"] + [""] * 9,
            ["填报单位：侯寨乡      2016 年 9 月"] + [""] * 9,
            ["行业", "一级", "", "", "二级", "", "", "三级", "", ""],
            [""] + ["当月完成", "累计完成", "正在评审"] * 3]
    body = [[ind] + [-1 if (ind == "建材" and k == 0) else (1 if k % 3 == 1 else 0) for k in range(9)]
            for ind in INDUSTRIES]
    return head + body + [["合计"] + [sum(r[k] for r in body) for k in range(1, 10)]]
