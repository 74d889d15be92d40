"""Finding the form in a sheet: a shape kept from one sheet and used again for the next with the same
labels gives exactly what a fresh search gives."""
import random

import pytest

from pipeline.demo.samples import VARIANTS, random_rows, write_sample
from pipeline.read import locate as locating
from pipeline.read.grids import Grid, read_grids
from pipeline.read.locate import locate

INDUSTRIES = ("冶金", "机械", "轻工", "有色", "纺织", "建材", "商贸", "烟草")


@pytest.fixture(autouse=True)
def no_kept_shapes():
    locating._SHAPES.clear()
    yield
    locating._SHAPES.clear()


def test_every_variant_located_alike_from_a_kept_shape(tmp_path):
    grids = []
    for k, variant in enumerate(VARIANTS):
        for unit in ("侯寨乡", "马寨镇"):
            rows = random_rows(random.Random(f"{variant}{unit}"), unit)
            path = write_sample(tmp_path / f"{k}_{unit}.xlsx", unit, "2016-09", rows, variant)
            grids += read_grids(str(path), 100_000)
    warm = [locate(g) for g in grids]           # the second unit of a variant takes the first one's shape
    assert len(locating._SHAPES) < len(grids)
    for grid, got in zip(grids, warm):
        locating._SHAPES.clear()
        assert locate(grid) == got, grid.sheet
    assert sum(t is not None and t.unit_text == "马寨镇" for t in warm) >= len(VARIANTS) - 3


def _form(footer, unit="侯寨乡") -> Grid:
    """A form without 合计, so that the rows under it are read for labels; `footer` below it."""
    blank = [""] * 9
    rows = [[f"填报单位：{unit}      2016 年 9 月", *blank],
            ["行业", "一级", "", "", "二级", "", "", "三级", "", ""],
            ["", *["当月完成", "累计完成", "正在评审"] * 3]]
    rows += [[industry, *[0.0] * 9] for industry in INDUSTRIES]
    rows.append([footer, *blank])
    return Grid("月度报表", 0, (0, 0), rows, (((1, 1), (1, 3)), ((1, 4), (1, 6)), ((1, 7), (1, 9))))


def test_a_kept_shape_is_not_used_when_the_label_column_says_otherwise():
    plain = locate(_form("填表人：张三"))
    assert plain.findings == ()
    other = locate(_form("其他行业", unit="马寨镇"))          # same labels in the same places
    assert [(f.code, f.cell, f.value) for f in other.findings] == [("UNKNOWN_INDUSTRY", "月度报表!A12", "其他行业")]
    assert (other.unit_text, other.unit_cell, other.period) == ("马寨镇", "月度报表!A1", "2016-09")
    number = locate(_form(5.0))
    assert [(f.code, f.cell, f.value) for f in number.findings] == [("UNKNOWN_INDUSTRY", "月度报表!A12", "5")]
    again = locate(_form("填表人：李四", unit="马寨镇"))       # the kept shape again: nothing to report
    assert again.findings == () and again.rows == plain.rows and again.columns == plain.columns
