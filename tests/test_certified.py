"""Certified at a date (docs/register.md §2), reconciling a township's form with the register (§3), and
the base of the rate (§4)."""
import datetime as dt

import pytest

from pipeline.check.certified import Reconciler, certified, certified_counts, register_standings, with_register_bases
from pipeline.jobs.register import reconciler
from pipeline.read.register import read_register

from conftest import ROWS, form_cells, write_book
from registers import code, row, write_register

TODAY = dt.date(2016, 10, 5)


@pytest.fixture
def register(tmp_path, units, settings):
    def make(rows, revisits=()):
        path = write_register(tmp_path / "enterprises.xlsx", rows, revisits)
        got = read_register(path, units, settings, today=TODAY)
        assert [f for f in got.findings if f.severity == "error"] == []
        return got
    return make


def at(register, day) -> list[bool]:
    return list(certified(register, day))


def test_certified_on_the_edges(register):
    r = register([
        row(1, issued=dt.date(2016, 3, 1), expires=dt.date(2016, 8, 31)),                            # issue, expiry
        row(2, issued=dt.date(2015, 1, 1), status="已摘牌", withdrawn=dt.date(2016, 6, 15)),          # withdrawal
        row(3, issued=dt.date(2015, 1, 1)),                                                           # revisit 摘牌
        row(4, issued=dt.date(2015, 1, 1), status="已关闭", grade=None, cert_no=None),                 # closed
    ], revisits=[[code(3), dt.date(2016, 7, 10), "摘牌", "整改后仍不达标"],
                 [code(1), dt.date(2016, 5, 1), "限期整改", "台账不全"]])
    assert at(r, dt.date(2016, 2, 29)) == [False, True, True, False]    # the day before issue
    assert at(r, dt.date(2016, 3, 1)) == [True, True, True, False]      # issue day
    assert at(r, dt.date(2016, 6, 14)) == [True, True, True, False]     # the day before the withdrawal
    assert at(r, dt.date(2016, 6, 15)) == [True, False, True, False]    # withdrawal day: withdrawn
    assert at(r, dt.date(2016, 7, 9)) == [True, False, True, False]     # the day before the revisit
    assert at(r, dt.date(2016, 7, 10)) == [True, False, False, False]   # a revisit that withdraws
    assert at(r, dt.date(2016, 8, 31)) == [True, False, False, False]   # expiry day: still valid
    assert at(r, dt.date(2016, 9, 1)) == [False, False, False, False]   # the day after


def test_an_expired_certificate_is_not_certified_whatever_the_status_says(register):
    r = register([row(1, issued=dt.date(2012, 5, 1))])   # 已达标, expired 2015-04-30
    assert at(r, dt.date(2015, 4, 30)) == [True]
    assert at(r, dt.date(2016, 9, 30)) == [False]


def test_a_withdrawal_of_an_earlier_certificate_does_not_end_a_later_one(register):
    r = register([row(1, issued=dt.date(2016, 1, 10))], revisits=[[code(1), dt.date(2015, 6, 1), "摘牌", "旧证书"]])
    assert at(r, dt.date(2016, 9, 30)) == [True]


def test_counts_by_unit_industry_and_level(register):
    r = register([row(1), row(2), row(3, grade="二级"), row(4, industry="建材"), row(5, unit="马寨镇"),
                  row(6, status="正在评审", grade=None, cert_no=None, issued=None)])
    assert certified_counts(r, dt.date(2016, 9, 30)) == {
        ("侯寨乡", "机械", 3): 2, ("侯寨乡", "机械", 2): 1, ("侯寨乡", "建材", 3): 1, ("马寨镇", "机械", 3): 1}


# ---------------------------------------------------------------- reconciliation (§3)
def form(reported: dict):
    """ROWS with some 累计完成 replaced (当月完成 kept below it), as a form of 侯寨乡 for 2016-09."""
    rows = {k: (0, 0, 0) for k in ROWS}
    for key, cumulative in reported.items():
        rows[key] = (0, cumulative, 0)
    return rows


def test_a_reconciliation_names_the_enterprises_that_differ(tmp_path, register, check):
    r = register([
        row(1, name="甲机械有限公司", issued=dt.date(2016, 9, 12)),
        row(2, name="乙机械有限公司", issued=dt.date(2015, 3, 1)),
        row(3, name="丙机械有限公司", issued=dt.date(2013, 5, 1)),                      # expired 2016-04-30
        row(4, name="丁建材有限公司", industry="建材", status="已摘牌", withdrawn=dt.date(2016, 8, 20)),
        row(5, name="戊建材有限公司", industry="建材", status="正在评审", grade=None, cert_no=None, issued=None),
        row(6, name="己冶金有限公司", industry="冶金", grade="一级", issued=dt.date(2016, 2, 1)),
    ])
    # 机械 三级: 1 reported, 2 in the register; 建材 三级: 1 reported, 0; 冶金 一级: 1 and 1
    book = write_book(tmp_path / "侯寨乡_2016年9月.xlsx", form_cells(
        rows=form({("机械", 3): 1, ("建材", 3): 1, ("冶金", 1): 1})))
    got = check(book, reconcile=reconciler(r)).submissions[0]
    assert got.status == "accepted"
    mismatches = {f.cell: f for f in got.findings if f.code == "RECONCILE_MISMATCH"}
    assert set(mismatches) == {"月度报表!I7", "月度报表!I11"}
    under, over = mismatches["月度报表!I7"], mismatches["月度报表!I11"]
    assert under.severity == "warning"
    assert "“机械 三级 累计完成”填报 1 家" in under.message and "2016年9月30日 达标有效的为 2 家" in under.message
    # the latest certificates first: the likeliest not yet reported; the expired one is not named
    assert under.message.index("甲机械有限公司（2016年9月12日发证）") < under.message.index("乙机械有限公司")
    assert "丙机械" not in under.message
    assert "填报 1 家" in over.message and "达标有效的为 0 家" in over.message
    assert "丁建材有限公司（2016年8月20日摘牌）" in over.message and "戊建材有限公司（正在评审）" in over.message


def test_a_unit_without_enterprises_in_the_register_is_not_reconciled(tmp_path, register, check):
    r = register([row(1, unit="马寨镇")])
    book = write_book(tmp_path / "侯寨乡_2016年9月.xlsx", form_cells())
    got = check(book, reconcile=reconciler(r)).submissions[0]
    assert "RECONCILE_MISMATCH" not in {f.code for f in got.findings}


def test_a_rejected_form_is_not_reconciled(tmp_path, register, check):
    cells = form_cells()
    cells["B14"] = 999   # a wrong 合计
    got = check(write_book(tmp_path / "侯寨乡_2016年9月.xlsx", cells), reconcile=reconciler(register([row(1)])))
    codes = {f.code for f in got.submissions[0].findings}
    assert "TOTAL_MISMATCH" in codes and "RECONCILE_MISMATCH" not in codes


def test_at_most_ten_enterprises_are_named(register):
    r = register([row(k, name=f"第{k:02d}号公司", issued=dt.date(2016, 1, k)) for k in range(1, 14)])
    [f] = Reconciler(r)("侯寨乡", "2016-09", tuple(_rows({("机械", 3): 0})), {})
    assert "第13号公司" in f.message and "第04号公司" in f.message and "第03号公司" not in f.message
    assert "等 13 家" in f.message


def _rows(reported):
    from pipeline.core.model import Row
    return [Row(i, lv, 0, reported.get((i, lv), 0), 0) for i, lv in ROWS]


# ---------------------------------------------------------------- the base (§4)
def test_the_base_comes_from_the_register_where_it_has_the_unit(register, units):
    r = register([row(1), row(2, scale="规模以下"), row(3, status="已关闭", grade=None, cert_no=None),
                  row(4, status="创建中", grade=None, cert_no=None, issued=None), row(5, unit="马寨镇", scale="小微")])
    day = dt.date(2016, 9, 30)
    standing = register_standings(r, day)
    assert (standing["侯寨乡"].base, standing["侯寨乡"].certified) == (2, 1)   # 1 and 4: above scale, not closed
    assert (standing["马寨镇"].base, standing["马寨镇"].rate) == (0, None)
    switched, sources = with_register_bases(units.units, r, day)
    bases = {u.name: u.base for u in switched}
    assert bases["侯寨乡"] == 2 and bases["马寨镇"] == 0
    assert bases["淮河路街道"] == units.get("淮河路街道").base
    assert sources["侯寨乡"] == "企业台账" and sources["淮河路街道"] == "单位名录"
    back, sources = with_register_bases(units.units, None, day)
    assert [u.base for u in back] == [u.base for u in units.units]
    assert set(sources.values()) == {"单位名录"}


def test_the_check_command_reconciles_with_the_reference_folders_register(tmp_path, capsys):
    import json
    import shutil

    from pipeline.cli import main

    from conftest import REFERENCE
    ref = tmp_path / "reference"
    ref.mkdir()
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(REFERENCE / name, ref / name)
    write_register(ref / "enterprises.xlsx", [row(1), row(2)])
    book = write_book(tmp_path / "侯寨乡_2016年9月.xlsx", form_cells(rows=form({("机械", 3): 1})))
    assert main(["check", "--json", f"--reference={ref}", f"--archive={tmp_path / 'archive'}", str(book)]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [(f["code"], f["severity"], f["cell"]) for f in got["submissions"][0]["findings"]] == \
        [("RECONCILE_MISMATCH", "warning", "月度报表!I7")]
    assert not (tmp_path / "archive").exists()      # check touches no folder: the register is read, not imported
