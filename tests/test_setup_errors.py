"""reference/, settings, folders and periods are checked before anything is touched: every bad input
gets a Chinese message naming the file (and line) and the fix, exit 2, and no file taken, no folder
made. The matrix at the end runs every command against every bad input."""
import os
import shutil

import pytest

from pipeline.cli import main
from pipeline.core.settings import SetupError, load_settings
from pipeline.read.units import load_units

from conftest import REFERENCE, form_cells, write_book

HEADER = "\ufeff单位,别名,规模以上企业数,起始,截止\n"


def reference_with(tmp_path, units: str | bytes | None = None, settings_edit=None):
    """A copy of the repository's reference/, its units.csv replaced (None: removed) and its
    settings.toml passed through `settings_edit(text)`."""
    ref = tmp_path / "reference"
    shutil.copytree(REFERENCE, ref)
    if units is None:
        (ref / "units.csv").unlink()
    elif units != "keep":
        (ref / "units.csv").write_bytes(units if isinstance(units, bytes) else units.encode("utf-8"))
    if settings_edit:
        path = ref / "settings.toml"
        path.write_text(settings_edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return ref


def refusal(ref) -> list[str]:
    with pytest.raises(SetupError) as got:
        load_settings(ref)
        load_units(ref)
    return list(got.value.lines)


# --- units.csv ---------------------------------------------------------------------------------

def test_a_list_without_the_optional_columns_and_one_saved_by_excel_in_gbk_are_read(tmp_path):
    districts = reference_with(tmp_path / "a", "单位,别名,规模以上企业数\n中原区,,120\n二七区,二七,98\n")
    units = load_units(districts)
    assert [(u.name, u.base, u.start, u.end, u.aliases) for u in units.units] == [
        ("中原区", 120, None, None, ()), ("二七区", 98, None, None, ("二七",))]
    text = (REFERENCE / "units.csv").read_text(encoding="utf-8-sig")
    gbk = reference_with(tmp_path / "b", text.encode("gb18030"))   # no BOM: as Excel saves a CSV on Chinese Windows
    assert load_units(gbk).units == load_units(REFERENCE).units


def test_months_as_excel_rewrites_them_are_read_as_the_month(tmp_path):
    ref = reference_with(tmp_path, HEADER + "侯寨乡,,57,2016/1/1,2017年12月\n马寨镇,,62,2016-3,\n")
    assert [(u.start, u.end) for u in load_units(ref).units] == [("2016-01", "2017-12"), ("2016-03", None)]


@pytest.mark.parametrize("units, says", [
    (None, ["units.csv 不存在", "单位,别名,规模以上企业数"]),
    ("", ["是空文件"]),
    (HEADER, ["只有表头，没有任何单位"]),
    (HEADER + "侯寨乡,,57,,\n马寨镇,,62,,\n侯寨乡,,3,,\n", ["第 4 行", "单位“侯寨乡”与第 2 行重复"]),
    (HEADER + "侯寨乡,侯寨,57,,\n马寨镇,马寨;侯寨,62,,\n", ["第 3 行（马寨镇）的别名“侯寨”也是第 2 行“侯寨乡”的别名"]),
    (HEADER + "侯寨乡,,57,,\n马寨镇,侯寨乡,62,,\n", ["第 3 行（马寨镇）的别名“侯寨乡”也是第 2 行“侯寨乡”的名称"]),
    ("名称,别名,规模以上企业数\n侯寨乡,,57\n", ["第 1 行（表头）没有“单位”列", "现有：名称、别名、规模以上企业数"]),
    ("单位,别名,企业数\n侯寨乡,,57\n", ["没有“规模以上企业数”列，是不是把“规模以上企业数”写成了“企业数”"]),
    ("单位,别名,规模以上企业数,起始日期\n侯寨乡,,57,2016-01\n", ["“起始日期”不是名录的列名，是不是“起始”"]),
    (HEADER + "侯寨乡,,十,,\n", ["第 2 行（侯寨乡）", "规模以上企业数“十”不是整数", "请填阿拉伯数字"]),
    (HEADER + "侯寨乡,,57,,\n马寨镇,,三十八,,\n", ["第 3 行（马寨镇）", "“三十八”不是整数"]),
    (HEADER + "侯寨乡,,-3,,\n", ["第 2 行（侯寨乡）", "“-3”小于 0"]),
    (HEADER + "侯寨乡,,3.5,,\n", ["第 2 行", "“3.5”不是整数"]),
    (HEADER + "侯寨乡,,57,2016年,\n", ["第 2 行（侯寨乡）：起始“2016年”不是年月"]),
    (HEADER + "侯寨乡,,57,2017-01,2016-12\n", ["起始 2017-01 晚于截止 2016-12"]),
    (b"\xff\xfe\x00\x00garbage\x81", ["不是 UTF-8 或 GBK"]),
], ids=["missing", "empty", "header-only", "duplicate-unit", "shared-alias", "alias-is-another-unit",
        "renamed-header", "renamed-count-header", "misspelt-optional-header", "count-十", "count-三十八",
        "count-negative", "count-decimal", "bad-month", "start-after-end", "not-text"])
def test_every_problem_of_units_csv_is_named_with_its_line_and_fix(tmp_path, units, says):
    lines = refusal(reference_with(tmp_path, units))
    text = "\n".join(lines)
    assert "units.csv" in text
    for phrase in says:
        assert phrase in text, text


def test_every_problem_is_listed_at_once_in_line_order(tmp_path):
    lines = refusal(reference_with(tmp_path, HEADER + "侯寨乡,,十,,\n马寨镇,,-1,,\n侯寨乡,,2,,\n"))
    assert [line.split("：")[0].rsplit(" ", 2)[-2] for line in lines] == ["2", "3", "4"]


# --- settings.toml -----------------------------------------------------------------------------

@pytest.mark.parametrize("edit, says", [
    (lambda t: t.replace("praise = 3", "praise = 3 家"), ["settings.toml 第 19 行第", "格式有误", "praise = 3 家"]),
    (lambda t: t.replace("[bulletin]", "[bulettin]"), ["第 18 行", "没有“[bulettin]”这一节，是不是“bulletin”"]),
    (lambda t: t.replace("praise = 3", "praize = 3"), ["第 19 行", "[bulletin] 节没有“praize”这一项，是不是“praise”"]),
    (lambda t: t.replace("praise = 3", 'praise = "三"'), ["第 19 行", "“三”应是 0 或正整数"]),
    (lambda t: t.replace("criticize = 3", "criticize = -1"), ["第 20 行", "“-1”应是 0 或正整数"]),
    (lambda t: t.replace('day = "end"', "day = 31"), ["第 10 行", "“31”不是可用的截止日", "1 到 28"]),
    (lambda t: t.replace('"23:59:59"', '"24:00"'), ["第 11 行", "不是时刻"]),
    (lambda t: t.replace("Asia/Shanghai", "Asia/Beijing"), ["第 7 行", "没有名为“Asia/Beijing”的时区", "Asia/Shanghai"]),
    (lambda t: t.replace('date = ""', 'date = "2016/10/10"'), ["第 23 行", "“2016/10/10”不是日期", "2016-10-10"]),
    (lambda t: t.replace("2016 = 0.50", "2016 = 50"), ["第 14 行", "0 到 1 之间的小数"]),
    (lambda t: t.replace("{n}号", "号"), ["第 21 行", "没有 {n}"]),
    (lambda t: t.replace('numbers = { "2016Q3" = 21 }', 'numbers = { "2016Q3" = "二十一" }'), ["第 22 行", "应是正整数"]),
], ids=["syntax", "unknown-section", "unknown-key", "praise-text", "criticize-negative", "day-31", "time",
        "time-zone", "date-not-iso", "target-percent", "doc-number-without-n", "number-text"])
def test_every_problem_of_settings_toml_is_named_with_its_line_and_fix(tmp_path, edit, says):
    text = "\n".join(refusal(reference_with(tmp_path, "keep", edit)))
    assert "settings.toml" in text
    for phrase in says:
        assert phrase in text, text


def test_an_environment_override_is_checked_as_the_file_is(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_BULLETIN_PRAISE", "三")
    text = "\n".join(refusal(reference_with(tmp_path, "keep")))
    assert "环境变量 PIPELINE_BULLETIN_PRAISE：“三”应是 0 或正整数" in text


def test_a_quarter_without_its_document_number_is_asked_for_not_guessed(tmp_path):
    from pipeline.core.settings import doc_number_of
    settings = load_settings(REFERENCE)
    assert doc_number_of(settings, "2016Q3") == 21
    with pytest.raises(SetupError, match=r"numbers 中没有 2016Q4 通报的文号序号.*\"2016Q4\" = 序号"):
        doc_number_of(settings, "2016Q4")


# --- every command against every bad input -----------------------------------------------------

COMMANDS = ("check", "monthly", "quarterly", "status", "template", "settings", "verify", "rebuild-ledger", "register",
            "fetch-mail", "watch", "remind")
READS = {"check": ("reference",), "monthly": ("inbox", "archive", "reference"),
         "quarterly": ("inbox", "archive", "reference"), "status": ("archive", "reference"),
         "template": ("reference",), "settings": ("reference",), "verify": ("archive", "reference"),
         "rebuild-ledger": ("archive", "reference"), "register": ("archive", "reference"),
         "fetch-mail": ("inbox", "archive", "reference"), "watch": ("inbox", "archive", "reference"),
         "remind": ("archive", "reference")}
BAD_UNITS = {"units-missing": None, "units-empty": "", "units-header-only": HEADER,
             "units-duplicate": HEADER + "侯寨乡,,57,,\n侯寨乡,,3,,\n",
             "units-shared-alias": HEADER + "侯寨乡,侯寨,57,,\n马寨镇,侯寨,62,,\n",
             "units-renamed-header": "名称,别名,规模以上企业数\n侯寨乡,,57\n",
             "units-count-十": HEADER + "侯寨乡,,十,,\n", "units-count-三十八": HEADER + "侯寨乡,,三十八,,\n",
             "units-count-negative": HEADER + "侯寨乡,,-3,,\n"}
BAD_SETTINGS = {"settings-syntax": lambda t: t + "\n[district\n",
                "settings-bulettin": lambda t: t.replace("[bulletin]", "[bulettin]"),
                "settings-praise-三": lambda t: t.replace("praise = 3", 'praise = "三"'),
                "settings-criticize--1": lambda t: t.replace("criticize = 3", "criticize = -1"),
                "settings-day-31": lambda t: t.replace('day = "end"', "day = 31"),
                "settings-time-zone": lambda t: t.replace("Asia/Shanghai", "Asia/Beijing"),
                "settings-date": lambda t: t.replace('date = ""', 'date = "2016/10/10"')}
BAD_MONTHS = ("1999-01", "2099-01", "２０１６-09", "0000-01", "2016-13")
BAD_QUARTERS = ("1999Q1", "2099Q1", "２０１６Q3", "0000Q3", "2016Q5")


def _cases():
    for command in COMMANDS:
        for name in BAD_UNITS:
            yield command, name
        for name in BAD_SETTINGS:
            yield command, name
        for folder in READS[command]:
            yield command, f"no-{folder}"
        if command in ("monthly", "status", "template", "remind"):
            yield from ((command, f"period-{p}") for p in BAD_MONTHS)
        if command == "quarterly":
            yield from ((command, f"period-{p}") for p in BAD_QUARTERS)
            yield command, "no-document-number"


@pytest.fixture(scope="module")
def good_archive(tmp_path_factory):
    """An archive and outbox after a month's run: what a refused command must leave as it is."""
    from pipeline.jobs.monthly import run_monthly
    tmp = tmp_path_factory.mktemp("good")
    f = {"inbox": tmp / "inbox", "archive": tmp / "archive", "outbox": tmp / "outbox", "reference": REFERENCE}
    f["inbox"].mkdir()
    book = write_book(f["inbox"] / "侯寨乡_2016年9月.xlsx", form_cells())
    os.utime(book, (1474300000, 1474300000))
    assert run_monthly(f, "2016-09") == 0
    return tmp


def snapshot(root):
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("command, bad", list(_cases()), ids=lambda x: x)
def test_every_command_refuses_every_bad_input_and_changes_nothing(tmp_path, good_archive, capsys, command, bad):
    shutil.copytree(good_archive / "archive", tmp_path / "archive")
    shutil.copytree(good_archive / "outbox", tmp_path / "outbox")
    (tmp_path / "inbox").mkdir()
    form = write_book(tmp_path / "inbox" / "马寨镇_2016年9月.xlsx", form_cells("马寨镇"))
    f = {k: tmp_path / k for k in ("inbox", "archive", "outbox")}
    f["reference"] = reference_with(tmp_path, BAD_UNITS.get(bad, "keep"), BAD_SETTINGS.get(bad))
    period = bad[len("period-"):] if bad.startswith("period-") else ("2016Q4" if bad == "no-document-number" else None)
    expected = {"no-inbox": str(f["inbox"]), "no-archive": str(f["archive"]), "no-reference": str(f["reference"]),
                "no-document-number": "2016Q4"}.get(bad, period or ("units.csv" if bad.startswith("units") else
                                                                   "settings.toml"))
    if bad.startswith("no-") and bad != "no-document-number":
        shutil.rmtree(f[bad[3:]])
    before = snapshot(tmp_path)
    folders = ["--inbox", f["inbox"], "--archive", f["archive"], "--outbox", f["outbox"], "--reference", f["reference"]]
    args = {"check": ["check", form], "settings": ["settings"], "verify": ["verify"], "rebuild-ledger": ["rebuild-ledger"],
            "monthly": ["monthly", "--period", period or "2016-09"], "status": ["status", "--period", period or "2016-09"],
            "template": ["template", "--period", period or "2016-10"],
            "quarterly": ["quarterly", "--period", period or "2016Q3"], "register": ["register", "--date", "2016-09-30"],
            "fetch-mail": ["fetch-mail"], "watch": ["watch"], "remind": ["remind", "--period", period or "2016-09"]}[command]
    assert main([*map(str, args), *map(str, folders)]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err and "Error" not in err
    assert snapshot(tmp_path) == before                      # no file taken, no folder made, nothing written
