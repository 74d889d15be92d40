"""The reference list: every spelling a clerk may use of a unit's name leads to that unit."""
import pandas as pd

from pipeline.model import norm
from pipeline.reference import units_from_frame


def frame(rows):
    return pd.DataFrame(rows, columns=["单位", "别名", "规模以上企业数", "起始", "截止"])


def test_names_and_aliases_are_folded_as_each_alone():
    """Spellings are folded all at once (a country's list); each must come out as `norm` gives it alone,
    whatever a name holds: full-width letters, spaces of every kind, even a NUL typed by accident."""
    units = units_from_frame(frame([
        ["侯寨乡", "侯寨乡人民政府；侯寨", 12, "", ""],
        ["淮河路街道", " 淮河路 街道办事处;淮河路办", 30, "2016-01", ""],
        ["ＡＢＣ\u3000镇", "abc镇", 3, "", ""],
        ["马寨\0镇", "", 5, "", "2017-12"],
    ]))
    assert units.lookup == {
        "侯寨乡": "侯寨乡", "侯寨乡人民政府": "侯寨乡", "侯寨乡人民": "侯寨乡", "侯寨": "侯寨乡",
        "淮河路街道": "淮河路街道", "淮河路街道办事处": "淮河路街道", "淮河路办": "淮河路街道",
        "ABC镇": "ＡＢＣ\u3000镇", "abc镇": "ＡＢＣ\u3000镇", "马寨\0镇": "马寨\0镇"}
    assert all(norm(k) == k for k in units.lookup)
    for text, unit in [("侯 寨", "侯寨乡"), ("淮河路街道办", "淮河路街道"), ("ＡＢＣ镇", "ＡＢＣ\u3000镇"),
                       ("马寨\0镇", "马寨\0镇")]:
        assert units.resolve(text) == unit, text
    assert [u.aliases for u in units.units] == [("侯寨乡人民政府", "侯寨"), ("淮河路 街道办事处", "淮河路办"),
                                                ("abc镇",), ()]
