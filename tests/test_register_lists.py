"""The bureau's work lists (docs/register.md §5) on a hand-computed register, the workbook they are
written to, each import kept in the archive and the ledger with the changes between two, and the
`register` command."""
import datetime as dt
import hashlib
import shutil
import sqlite3

import openpyxl
import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.jobs.register import run_register
from pipeline.jobs.register_ledger import imports, load_import
from pipeline.outputs.register_lists import work_lists
from pipeline.read.register import read_register
from pipeline.store.ledger import Ledger

from conftest import REFERENCE
from registers import code, import_on, row, write_register

D = dt.date(2016, 9, 30)
NOW = dt.datetime(2016, 10, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
AH, ZA = "郑州安华安全评价有限公司", "河南中安安全评价咨询有限公司"
NO_CERT = {"grade": None, "cert_no": None, "issued": None, "reviewer": None}

# The register of the worked example; each enterprise's lists are worked out by hand below.
ROWS = [
    row(1, "01甲公司", issued=dt.date(2014, 1, 1), expires=dt.date(2016, 12, 31), inspected=dt.date(2016, 5, 31),
        revisited=dt.date(2016, 1, 15)),
    row(2, "02乙公司", grade="二级", issued=dt.date(2015, 6, 1), inspected=dt.date(2016, 3, 10)),
    row(3, "03丙公司", issued=dt.date(2013, 8, 1), inspected=dt.date(2016, 9, 1)),        # expired 2016-07-31
    row(4, "04丁公司", status="正在评审", inspected=dt.date(2016, 6, 15), **NO_CERT),
    row(5, "05戊公司", status="未开展", **NO_CERT),
    row(6, "06己公司", status="已摘牌", issued=dt.date(2015, 1, 1), withdrawn=dt.date(2016, 4, 1)),
    row(7, "07庚公司", status="已关闭", **NO_CERT),
    row(8, "08辛公司", issued=dt.date(2015, 2, 1), revisited=dt.date(2015, 8, 1), reviewer=ZA),
    row(9, "09壬公司", unit="马寨镇", scale="小微", status="创建中", high_risk="动火;有限空间",
        inspected=dt.date(2016, 8, 20), **NO_CERT),
    row(10, "10癸公司", unit="马寨镇", scale="小微", status="未开展", **NO_CERT),
    row(11, "11子公司", unit="淮河路街道", scale="规模以下", status="创建中", high_risk="动火", **NO_CERT),
]
REVISITS = [[code(1), dt.date(2015, 10, 1), "限期整改", "隐患排查台账不全"], [code(1), dt.date(2016, 1, 15), "合格", ""],
            [code(6), dt.date(2016, 4, 1), "摘牌", "整改后仍不达标"]]


@pytest.fixture
def lists(tmp_path, units, settings):
    register = read_register(write_register(tmp_path / "enterprises.xlsx", ROWS, REVISITS), units, settings,
                             today=NOW.date())
    assert register.findings == ()
    return work_lists(register, D, settings, units.names, None)


def names(frame) -> list[str]:
    return list(frame["企业名称"])


def test_expiring_certificates(lists):
    got = lists["证书到期"]
    assert names(got) == ["01甲公司", "03丙公司"]            # 02, 08 run to 2018; 06 was withdrawn
    assert list(got["剩余天数"]) == [92, -61]
    assert list(got["原因"]) == ["证书 2016-12-31 到期，还有 92 天，应准备复评",
                               "证书已于 2016-07-31 到期（61 天前），应当复评"]


def test_revisits_due(lists):
    got = lists["回访到期"]
    assert names(got) == ["02乙公司", "08辛公司"]            # 01 revisited 2016-01-15, within 12 months
    assert list(got["原因"]) == ["达标后从未回访（2015-06-01 发证）", "最近回访 2015-08-01，已超过 12 个月"]


def test_graded_supervision_and_its_due_dates(lists):
    got = lists["分级监管"]
    # by unit in units.csv's order (淮河路街道 … 马寨镇, 侯寨乡), then name; 07 is closed
    assert names(got) == ["11子公司", "09壬公司", "10癸公司", "01甲公司", "02乙公司", "03丙公司", "04丁公司", "05戊公司",
                          "06己公司", "08辛公司"]
    by = got.set_index("企业名称")
    want = {  # class, interval, due: the last inspection plus the interval, or the day itself when never inspected
        "01甲公司": ("B 类", 6, "2016-11-30"), "02乙公司": ("A 类", 12, "2017-03-10"),
        "03丙公司": ("D 类（重点监管）", 1, "2016-10-01"), "04丁公司": ("C 类", 3, "2016-09-15"),
        "05戊公司": ("D 类（重点监管）", 1, "2016-09-30"), "06己公司": ("D 类（重点监管）", 1, "2016-09-30"),
        "08辛公司": ("B 类", 6, "2016-09-30"), "09壬公司": ("C 类", 3, "2016-11-20"),
        "10癸公司": ("D 类（重点监管）", 1, "2016-09-30"),
        "11子公司": ("C 类", 3, "2016-09-30")}
    assert {n: (r["监管类别"], r["检查周期（月）"], r["应检查日期"].date().isoformat()) for n, r in by.iterrows()} == want
    assert by.loc["03丙公司", "原因"] == "证书 2016-07-31 已过期；每 1 个月检查一次；最近检查 2016-09-01，应于 2016-10-01 前检查"
    assert by.loc["04丁公司", "原因"] == "正在评审；每 3 个月检查一次；最近检查 2016-06-15，已逾期 15 天，应尽快检查"
    assert by.loc["06己公司", "原因"] == "2016-04-01 摘牌；每 1 个月检查一次；从未检查，应尽快检查"
    assert by.loc["02乙公司", "原因"].startswith("二级达标有效；每 12 个月")


def test_small_firms_with_high_risk_work(lists):
    got = lists["小微高风险"]
    assert names(got) == ["09壬公司"]                      # 10 has none; 11 is not 小微
    assert list(got["高风险作业"]) == ["动火、有限空间"]


def test_reviewing_organisations(lists):
    got = lists["评审单位"].set_index("评审单位")
    assert got.loc[AH, ["认证企业数", "目前达标有效", "已摘牌", "已过期", "回访次数", "合格", "限期整改", "摘牌"]].tolist() == \
        [4, 2, 1, 1, 3, 1, 1, 1]                          # 01, 02 valid; 06 withdrawn; 03 expired
    assert got.loc[ZA, ["认证企业数", "目前达标有效", "回访次数"]].tolist() == [1, 1, 0]
    assert got.loc[AH, "说明"] == ("认证 4 家，目前达标有效 2 家，摘牌 1 家，证书过期 1 家；"
                                 "回访 3 次，发现问题 2 次（限期整改 1 次、摘牌 1 次）")


def test_the_work_lists_workbook_and_each_import(tmp_path, capsys):
    ref = tmp_path / "reference"
    ref.mkdir()
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(REFERENCE / name, ref / name)
    folders = {k: tmp_path / k for k in ("inbox", "archive", "outbox")} | {"reference": ref}
    first = write_register(ref / "enterprises.xlsx", ROWS, REVISITS).read_bytes()
    assert run_register(folders, D, now=NOW) == 0
    assert run_register(folders, D, now=NOW) == 0          # the same register: the same import
    changed = [r for r in ROWS if r[1] != "05戊公司"] + [row(12, "12丑公司", status="创建中", **NO_CERT)]
    changed[3] = row(4, "04丁公司", issued=dt.date(2016, 9, 20), inspected=dt.date(2016, 6, 15))
    second = write_register(ref / "enterprises.xlsx", changed, REVISITS).read_bytes()
    later = NOW + dt.timedelta(days=1)
    assert run_register(folders, D, now=later) == 0

    ledger = Ledger.open(tmp_path / "archive" / "ledger.sqlite")
    got = imports(ledger)
    assert [i["sha256"] for i in got] == [hashlib.sha256(b).hexdigest() for b in (first, second)]
    for i, data in zip(got, (first, second)):   # the register's bytes kept as they were, in the archive
        assert i["archived"].startswith("files/")            # relative to the archive, as every path the ledger keeps
        assert (tmp_path / "archive" / i["archived"]).read_bytes() == data
    assert import_on(ledger, NOW.date() - dt.timedelta(days=1), NOW.tzinfo) is None
    assert import_on(ledger, NOW.date(), NOW.tzinfo) == got[0]["id"]
    assert import_on(ledger, later.date(), NOW.tzinfo) == got[1]["id"]
    before = load_import(ledger, import_on(ledger, NOW.date(), NOW.tzinfo))   # what the register said that day
    assert len(before.enterprises) == 11 and len(before.revisits) == 3
    assert before.enterprises.loc[before.enterprises["code"] == code(4), "status"].item() == "正在评审"
    ledger.close()

    book = openpyxl.load_workbook(tmp_path / "outbox" / "register" / "2016-09-30" / "二七区_企业台账工作清单_2016-09-30.xlsx")
    assert book.sheetnames == ["汇总", "证书到期", "回访到期", "分级监管", "小微高风险", "评审单位", "变更", "台账问题"]
    for name in book.sheetnames[1:]:
        ws = book[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref.startswith("A1:")
        heads = [c.value for c in ws[1]]
        for col, head in enumerate(heads, start=1):   # as wide as the widest value (a CJK character: two)
            letter = openpyxl.utils.get_column_letter(col)
            values = [str(ws.cell(r, col).value) for r in range(2, ws.max_row - 1) if ws.cell(r, col).value is not None
                      and not isinstance(ws.cell(r, col).value, dt.datetime)]
            need = max([(len(v.encode()) + len(v)) // 2 for v in values] + [0])
            assert ws.column_dimensions[letter].width >= min(need, 150), (name, head)
    changes = {r[2]: r[5] for r in book["变更"].iter_rows(min_row=2, values_only=True) if r[1]}
    assert changes == {"04丁公司": "状态：正在评审 → 已达标；等级：（空） → 三级；发证日期：（空） → 2016-09-20；"
                                   "有效期至：（空） → 2019-09-19",
                       "05戊公司": "已从台账中删除", "12丑公司": "新登记入台账"}
    expiring = list(book["证书到期"].iter_rows(min_row=2, max_row=3, values_only=True))
    assert expiring[0][:3] == ("侯寨乡", code(1), "01甲公司") and expiring[0][6] == dt.datetime(2016, 12, 31)
    assert book["汇总"]["A2"].value == "清单日期：2016年9月30日"
    printed = capsys.readouterr().out
    assert "证书到期 2 家" in printed


def test_the_register_command(tmp_path, capsys):
    ref = tmp_path / "reference"
    ref.mkdir()
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(REFERENCE / name, ref / name)
    flags = [f"--{k}={tmp_path / k}" for k in ("inbox", "archive", "outbox", "reference")]
    (tmp_path / "archive").mkdir()
    assert main(["register", "--date", "2016-09-30", *flags]) == 2          # no register: told how to make one
    assert "template --register" in capsys.readouterr().err
    assert main(["register", "--date", "2016-9-31", *flags]) == 2
    write_register(ref / "enterprises.xlsx", ROWS + [row(20, unit="火星乡")])
    assert main(["register", "--date", "2016-09-30", *flags]) == 1           # a row left out
    out = capsys.readouterr().out
    assert "[错误 REG_UNKNOWN_UNIT] 企业台账!C13" in out
    (ref / "enterprises.xlsx").write_bytes(b"not a workbook")                # unusable: said, and nothing used
    assert main(["register", "--date", "2016-09-30", *flags]) == 1
    assert "[错误 UNREADABLE]" in capsys.readouterr().out
    write_register(ref / "enterprises.xlsx", ROWS)
    assert main(["register", "--date", "2016-09-30", *flags]) == 0
    assert (tmp_path / "outbox" / "register" / "2016-09-30").is_dir()
    db = sqlite3.connect(tmp_path / "archive" / "ledger.sqlite")
    assert db.execute("SELECT count(*), sum(excluded) FROM register_imports").fetchone() == (3, 1)
    assert pd.read_sql("SELECT code FROM register_findings", db)["code"].tolist() == ["REG_UNKNOWN_UNIT", "UNREADABLE"]


def test_an_unreadable_register_between_two_is_not_a_removal_of_everyone(tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    for name in ("units.csv", "settings.toml"):
        shutil.copyfile(REFERENCE / name, ref / name)
    folders = {k: tmp_path / k for k in ("inbox", "archive", "outbox")} | {"reference": ref}
    write_register(ref / "enterprises.xlsx", ROWS, REVISITS)
    assert run_register(folders, D, now=NOW) == 0
    (ref / "enterprises.xlsx").write_bytes(b"not a workbook")
    assert run_register(folders, D, now=NOW + dt.timedelta(hours=1)) == 1
    book = tmp_path / "outbox" / "register" / "2016-09-30" / "二七区_企业台账工作清单_2016-09-30.xlsx"
    got = openpyxl.load_workbook(book)
    assert got["变更"]["A2"].value == "（无）" and got["台账问题"]["D2"].value == "UNREADABLE"
    assert "台账无法使用" in got["汇总"]["A4"].value
    write_register(ref / "enterprises.xlsx", ROWS[:-1], REVISITS)    # 11子公司 removed: compared with the first
    assert run_register(folders, D, now=NOW + dt.timedelta(hours=2)) == 0
    changes = [r for r in openpyxl.load_workbook(book)["变更"].iter_rows(min_row=2, values_only=True) if r[1]]
    assert [(r[2], r[5]) for r in changes] == [("11子公司", "已从台账中删除")]
