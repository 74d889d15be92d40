"""The reference list: every spelling a clerk may use of a unit's name leads to that unit."""
import pandas as pd

from pipeline.core.model import norm
from pipeline.read.units import aliases_of, made_units


def frame(rows):
    return pd.DataFrame(rows, columns=["单位", "别名", "规模以上企业数", "起始", "截止"])


def units_from_frame(f):
    """The units of a list as load_units makes them once it has checked its lines."""
    return made_units(f["单位"].tolist(), f["规模以上企业数"].tolist(), f["起始"].tolist(), f["截止"].tolist(),
                      [aliases_of(text) for text in f["别名"]])


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


def test_a_unit_is_found_inside_a_file_name_whatever_its_first_character():
    """Places where a spelling may begin are found by one character class: characters that mean
    something in a class ("]", "^", "-", "\\") are taken as themselves."""
    units = units_from_frame(frame([
        ["侯寨乡", "", 12, "", ""], ["]^镇", "", 1, "", ""], ["-乡", "", 1, "", ""], ["\\街道", "", 1, "", ""],
        ["侯寨乡东村", "", 2, "", ""],
    ]))
    assert units.find_in("00474_侯寨乡_2016年9月安全生产标准化月报") == "侯寨乡"
    assert units.find_in("报表-侯寨乡东村-9月") == "侯寨乡东村"          # the longest spelling found
    assert [units.find_in(f"x{name}y") for name in ("]^镇", "-乡", "\\街道")] == ["]^镇", "-乡", "\\街道"]
    assert units.find_in("2016年9月报表") is None
    assert units.resolve("填报单位：侯寨乡乡（镇）办事处") == "侯寨乡"      # the last resort of resolve


def test_units_sent_to_a_worker_arrive_whole():
    """Each check worker is given the units pickled as one text: names, aliases (none, one, several),
    numbers and periods arrive as they were, and so does every spelling of the lookup the worker
    builds from them. A NUL typed in a name cannot be joined on: the list goes as it is."""
    import pickle
    rows = [["侯寨乡", "侯寨乡人民政府；侯寨", 12, "", ""], ["淮河路街道", "", 30, "2016-01", "2017-06"],
            ["马寨镇", "马寨", 0, "", "2017-12"]]
    for extra in ([], [["金\0水镇", "金水", 5, "", ""]]):
        units = units_from_frame(frame(rows + extra))
        back = pickle.loads(pickle.dumps(units))
        assert back == units
        assert [(u.name, u.base, u.start, u.end, u.aliases) for u in back.units] == [
            ("侯寨乡", 12, None, None, ("侯寨乡人民政府", "侯寨")), ("淮河路街道", 30, "2016-01", "2017-06", ()),
            ("马寨镇", 0, None, "2017-12", ("马寨",))] + [("金\0水镇", 5, None, None, ("金水",))] * len(extra)
        assert back.lookup == units.lookup
        assert back.resolve("侯寨乡人民政府") == "侯寨乡" and back.resolve("马寨") == "马寨镇"


def test_endings_come_off_a_spelling_only_where_two_characters_stay_and_the_first_unit_keeps_a_shared_one():
    """Each ending clerks add or drop comes off a spelling (街道 goes back on), if two characters are
    left; a spelling two units share leads to the one listed first, and a unit's own name to itself."""
    units = units_from_frame(frame([
        ["马寨镇", "马寨镇人民政府；镇政府；马寨办事处", 1, "", ""],
        ["京广路街道", "京广路街道办；马寨办事处", 2, "", ""],
        ["马寨", "", 3, "", ""],
    ]))
    assert units.lookup == {
        "马寨镇": "马寨镇", "马寨镇人民政府": "马寨镇", "马寨镇人民": "马寨镇", "镇政府": "马寨镇",
        "马寨办事处": "马寨镇", "马寨": "马寨",
        "京广路街道": "京广路街道", "京广路街道办": "京广路街道"}
    assert units.resolve("马寨镇人民政府") == "马寨镇" and units.resolve("镇政府") == "马寨镇"
