"""The reference list of reporting units (`reference/units.csv`) and how clerks' spellings map to it."""
from __future__ import annotations

import difflib
import functools
import itertools
import operator
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pipeline.core.model import no_gc, norm

# Endings a clerk adds to or drops from a unit's name.
_SUFFIXES = ("街道办事处", "办事处", "街道办", "人民政府", "政府", "街道")


class Unit(NamedTuple):
    """A tuple, not a frozen dataclass: a worker makes a country's 40,000 of them as it starts
    (0.16 s a worker as a dataclass, each field set through `object.__setattr__`)."""
    name: str
    base: int                  # 规模以上企业数
    start: str | None          # first period reported, "2016-01"
    end: str | None
    aliases: tuple[str, ...]

    def active(self, period: str) -> bool:
        return (self.start is None or self.start <= period) and (self.end is None or period <= self.end)


def _contained(lookup: dict, key: str, lengths: tuple[int, ...], starts: frozenset, first: re.Pattern) -> list[str]:
    """Known spellings that occur inside `key`: at each place where some spelling's first two
    characters stand (the places found by `first`, a class of the characters spellings begin with),
    each substring of a length some spelling has is looked up, so the cost does not grow with the
    number of units."""
    return [key[i:i + n] for i in map(_start, first.finditer(key)) if key[i:i + 2] in starts for n in lengths
            if i + n <= len(key) and key[i:i + n] in lookup]


_start = operator.methodcaller("start")


@dataclass(frozen=True)
class Units:
    units: tuple[Unit, ...]

    def __reduce__(self):
        """Each check worker is given the units: they go as one long text of names and aliases and
        plain columns, and the lookup of spellings is not sent but built by each worker as it
        unpickles them, both at once, while the parent scans the inbox. Unpickling 200,000 small
        strings and tuples (a country's list and its lookup) took 0.3 s a worker, one worker after the
        other, with the parent waiting on each."""
        u = self.units
        texts = [x.name for x in u] + [a for x in u for a in x.aliases]
        joined = _nul_joined(texts)
        return _unpickled, (texts if joined is None else joined,
                            [len(x.aliases) for x in u], [x.base for x in u], [x.start for x in u],
                            [x.end for x in u])

    @functools.cached_property
    def lookup(self) -> dict:
        """Normalized spelling -> canonical name."""
        return _lookup(self.units)

    @property
    def names(self) -> list[str]:
        return [u.name for u in self.units]

    @functools.cached_property
    def _by_name(self) -> dict:
        return {u.name: u for u in self.units}

    @functools.cached_property
    def _lengths(self) -> tuple[int, ...]:
        return tuple(sorted({len(k) for k in self.lookup if len(k) >= 2}))

    @functools.cached_property
    def _starts(self) -> frozenset:
        return frozenset(k[:2] for k in self.lookup if len(k) >= 2)

    @functools.cached_property
    def _first(self) -> re.Pattern:
        return re.compile("[" + "".join(sorted({re.escape(k[0]) for k in self._starts})) + "]" if self._starts else "(?!)")

    def get(self, name: str) -> Unit | None:
        return self._by_name.get(name)

    def names_for(self, period: str) -> list[str]:
        return [u.name for u in self.units if u.active(period)]

    def active(self, period: str) -> list[Unit]:
        return [u for u in self.units if u.active(period)]

    def resolve(self, text: str | None) -> str | None:
        """The canonical name a clerk's text refers to, or None."""
        if not text:
            return None
        key = norm(text)
        if key in self.lookup:
            return self.lookup[key]
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and key[: -len(suffix)] in self.lookup:
                return self.lookup[key[: -len(suffix)]]
        # Last resort: the longest known spelling contained in the text (e.g. "侯寨乡乡（镇）办事处").
        hits = _contained(self.lookup, key, self._lengths, self._starts, self._first)
        if not hits:
            return None
        best = max(hits, key=len)
        names = {self.lookup[k] for k in hits if len(k) == len(best)}
        return self.lookup[best] if len(names) == 1 else None

    def nearest(self, text: str | None, n: int = 3) -> list[str]:
        """The canonical names whose spellings (names and aliases) are most like a text that names
        no unit, best first (侯寨乡 for 候寨乡): difflib's ratio of matching characters, at least 0.5."""
        if not text:
            return []
        key = norm(text)
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                break
        names: list[str] = []
        for spelling in difflib.get_close_matches(key, list(self.lookup), n=4 * n, cutoff=0.5):
            if self.lookup[spelling] not in names:
                names.append(self.lookup[spelling])
        return names[:n]

    def hint(self, text: str | None) -> str:
        """What an UNKNOWN_UNIT message suggests: the nearest names, else the list's first name."""
        near = self.nearest(text)
        if near:
            return "是否为" + "或".join(f"“{name}”" for name in near) + "？请改为单位名录中的规范名称。"
        return f"请填写单位名录中的规范名称，如“{self.names[0]}”。" if self.units else "请填写规范的单位名称。"

    def find_in(self, text: str) -> str | None:
        """A unit named anywhere inside a longer text such as a file name."""
        hits = _contained(self.lookup, norm(text), self._lengths, self._starts, self._first)
        if not hits:
            return None
        return self.lookup[max(hits, key=len)]


def _unpickled(texts: str | list[str], counts: list[int], bases, starts, ends) -> Units:
    with no_gc():
        texts = texts.split("\0") if isinstance(texts, str) else texts
        rest = iter(texts[len(counts):])
        aliases = [tuple(itertools.islice(rest, k)) if k else () for k in counts]
        units = Units(tuple(map(_new_unit, zip(texts[:len(counts)], bases, starts, ends, aliases))))
        _ = units.lookup   # built here, in the worker that resolves names, not in the parent
    return units


_new_unit = functools.partial(tuple.__new__, Unit)   # Unit._make without a Python call a unit


# The endings clerks add or drop that a spelling may lose, by its last character, each with what is
# put back: "侯寨乡人民政府" -> "侯寨乡人民", "侯寨乡"; "淮河路街道办事处" -> "淮河路街道" (an ending of
# 街道 taken off and put back leaves the spelling as it was). At least two characters stay.
_ENDINGS = {last: tuple((suffix, "街道" if suffix.startswith("街道") else "") for suffix in _SUFFIXES
                        if suffix.endswith(last) and suffix != "街道") for last in "处办府"}


COLUMNS = ("单位", "别名", "规模以上企业数", "起始", "截止")
REQUIRED = ("单位", "规模以上企业数")   # 别名, 起始 and 截止 may be left out (a city's list of districts has none)
HEADER_HELP = "表头应为：单位,别名,规模以上企业数,起始,截止（别名、起始、截止三列可以省去）"
# A month as Excel on Chinese Windows saves what was typed as 2016-01: 2016/1/1, 2016年1月, 2016-1 …
_MONTH_LIKE = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*(?:月|[-/.][0-9]{1,2}(?:日)?)?")


def load_units(reference: Path) -> Units:
    """The units of `reference/units.csv`, every line checked first: SetupError (from settings)
    lists each problem with its line and the fix, and nothing is run on a list that has one."""
    import pandas as pd  # here, not at the top: workers unpickle Units without loading pandas
    import pandera.pandas as pa

    from pipeline.core.settings import SetupError
    from pipeline.schemas.units import UnitsTable
    path = reference / "units.csv"
    header, lines, rows = _units_rows(path)
    columns = {col: [row[k] if k < len(row) else "" for row in rows] if k is not None else [""] * len(rows)
               for col, k in ((c, header.get(c)) for c in COLUMNS)}
    names = columns["单位"] = [name.strip() for name in columns["单位"]]
    counts = list(map(_count, columns["规模以上企业数"]))
    problems = [f"{path} 第 {line} 行（{unit or '单位为空'}）：规模以上企业数“{text.strip()}”不是整数。"
                "请填阿拉伯数字，如 38；没有规模以上企业的填 0。"
                for line, unit, text, count in zip(lines, names, columns["规模以上企业数"], counts) if count is None]
    columns["规模以上企业数"] = [0 if count is None else count for count in counts]
    for col in ("起始", "截止"):
        columns[col] = [_month(text) if text else "" for text in columns[col]]
    aliases = [aliases_of(text) for text in columns["别名"]]
    frame = pd.DataFrame(columns, index=lines)
    try:
        UnitsTable.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        problems += _schema_problems(path, lines, names, errors.failure_cases)
    problems += _period_order(path, lines, names, columns["起始"], columns["截止"])
    problems += _shared_spellings(path, lines, names, aliases)
    if problems:
        raise SetupError(*sorted(set(problems), key=_line_number))
    return made_units(names, columns["规模以上企业数"], columns["起始"], columns["截止"], aliases)


def _units_rows(path: Path) -> tuple[dict, list[int], list[list[str]]]:
    """units.csv read as text (UTF-8 with or without a BOM, or GBK as Excel saves it on Chinese
    Windows): its header ({column: index}), and each unit's line number and cells. Blank lines (and
    rows of empty cells Excel leaves) are skipped."""
    import csv
    import io

    from pipeline.core.settings import SetupError
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SetupError(f"{path} 不存在：没有单位名录，无法判断谁应报送。请建立该文件（可在 Excel 中编辑后"
                         f"另存为 CSV），第一行为表头。{HEADER_HELP}。") from None
    except IsADirectoryError:
        raise SetupError(f"{path} 是一个文件夹，不是单位名录文件。") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SetupError(f"{path} 不是 UTF-8 或 GBK 编码的文本，无法读取。请在 Excel 中另存为“CSV UTF-8（逗号分隔）”。")
    reader = csv.reader(io.StringIO(text))
    rows, lines, first = [], [], None
    for row in reader:
        if not "".join(row).strip():
            continue
        if first is None:
            first = [cell.strip() for cell in row]
            continue
        rows.append(row)
        lines.append(reader.line_num)
    if first is None:
        raise SetupError(f"{path} 是空文件。{HEADER_HELP}，以下每行一个单位。")
    header = {name: k for k, name in reversed(list(enumerate(first))) if name}
    problems = _header_problems(path, first, header)
    if problems:
        raise SetupError(*problems)
    if not rows:
        raise SetupError(f"{path} 只有表头，没有任何单位。请从第 2 行起每行填写一个单位（单位名称和规模以上企业数）。")
    return header, lines, rows


def _header_problems(path: Path, first: list[str], header: dict) -> list[str]:
    """What is wrong with units.csv's header: a column missing (or misspelt), one twice."""
    problems = []
    unknown = [name for name in first if name and name not in COLUMNS]
    for col in REQUIRED:
        if col not in header:
            close = difflib.get_close_matches(col, unknown, n=1, cutoff=0.3)
            guess = f"，是不是把“{col}”写成了“{close[0]}”" if close else ""
            problems.append(f"{path} 第 1 行（表头）没有“{col}”列{guess}（现有：{'、'.join(n for n in first if n)}）。"
                            f"{HEADER_HELP}。")
    for name in unknown:
        close = difflib.get_close_matches(name, [c for c in COLUMNS if c not in header], n=1, cutoff=0.6)
        if close:
            problems.append(f"{path} 第 1 行（表头）：“{name}”不是名录的列名，是不是“{close[0]}”？{HEADER_HELP}。")
    if len(set(first) - {""}) != len([n for n in first if n]):
        twice = sorted({n for n in first if n and first.count(n) > 1})
        problems.append(f"{path} 第 1 行（表头）：“{'、'.join(twice)}”列出现了两次。{HEADER_HELP}。")
    return problems


def _count(text: str) -> int | None:
    """规模以上企业数 as a whole number: blank is 0 (a unit with none: listed, not ranked); `十`, `3.5`
    and the like are not numbers."""
    if text.isascii() and text.isdigit():   # nearly every count
        return int(text)
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return 0
    return int(text) if re.fullmatch(r"[+-]?[0-9]+", text) else None


def _month(text: str) -> str:
    """起始/截止 as `2016-01`: what Excel makes of a typed 2016-01 (2016/1/1, 2016年1月) read back as
    that month; anything else kept as typed, for the schema to refuse."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    got = _MONTH_LIKE.fullmatch(text)
    if got and 1 <= int(got[2]) <= 12:
        return f"{got[1]}-{int(got[2]):02d}"
    return text


_SAYS = {"单位": "“单位”为空，或与第 {other} 行重复（每个单位只写一行，其他写法放在“别名”列）",
         "规模以上企业数": "规模以上企业数“{value}”小于 0，应为 0 或正整数",
         "起始": "起始“{value}”不是年月，应写成如 2016-01（或留空）",
         "截止": "截止“{value}”不是年月，应写成如 2017-12（或留空）"}


def _schema_problems(path: Path, lines: list[int], names: list[str], failures) -> list[str]:
    """Pandera's failure cases (lazy validation: every one) as lines a person can act on."""
    out = []
    first_line, unit_of = {}, dict(zip(lines, names))
    for line, name in zip(lines, names):
        first_line.setdefault(name, line)
    for column, check, value, line in failures[["column", "check", "failure_case", "index"]].itertuples(index=False):
        if column not in _SAYS or line is None:
            continue
        unit = unit_of.get(line, "")
        if column == "单位" and check == "field_uniqueness":
            other = first_line[value]
            if other == line:
                continue   # said of the later line
            text = f"单位“{value}”与第 {other} 行重复。每个单位只写一行，其他写法放在“别名”列（用分号隔开）"
        elif column == "单位":
            text = "“单位”为空，请填写单位名称，或删去这一行"
        else:
            text = _SAYS[column].format(value=value, other="")
        out.append(f"{path} 第 {line} 行{f'（{unit}）' if unit and column != '单位' else ''}：{text}。")
    return out


def _period_order(path: Path, lines: list[int], names: list[str], starts: list[str], ends: list[str]) -> list[str]:
    return [f"{path} 第 {line} 行（{unit}）：起始 {start} 晚于截止 {end}，请核对。"
            for line, unit, start, end in zip(lines, names, starts, ends) if start and end and start > end]


def _shared_spellings(path: Path, lines: list[int], names: list[str], aliases: list[tuple[str, ...]]) -> list[str]:
    """A spelling (a name or an alias, folded as names are compared) that two units use: it could not
    say which unit a form is from. Looked at one by one only when some folded spelling occurs twice
    (a unit's alias that repeats its own name, say): a country's 120,000 spellings otherwise cost one
    fold and one set."""
    owners = list(range(len(names))) + [k for k, got in enumerate(aliases) for _ in got]
    spellings = names + [a for got in aliases for a in got]
    keys = _folded(spellings)
    if len(set(keys)) == len(keys):
        return []
    out, owner = [], {}
    kinds = ["名称"] * len(names) + ["别名"] * (len(spellings) - len(names))
    for key, k, spelling, kind in zip(keys, owners, spellings, kinds):
        if not key:
            continue
        seen = owner.setdefault(key, (k, kind))
        if seen[0] != k and (kind, seen[1]) != ("名称", "名称"):   # two rows of one name: said as a duplicate
            out.append(f"{path} 第 {lines[k]} 行（{names[k]}）的{kind}“{spelling}”也是第 {lines[seen[0]]} 行"
                       f"“{names[seen[0]]}”的{seen[1]}：同一个写法只能指一个单位，请删去其中一处。")
    return out


def aliases_of(text: str) -> tuple[str, ...]:
    return tuple(filter(None, map(str.strip, text.replace("；", ";").split(";")))) if text else ()


def _line_number(message: str) -> int:
    got = re.search(r"第 ([0-9]+) 行", message)
    return int(got[1]) if got else 0


def made_units(names: list[str], bases: list[int], starts: list[str], ends: list[str], aliases: list[tuple]) -> Units:
    """The units of units.csv's columns, as checked (`aliases`: each unit's spellings, `aliases_of`)."""
    with no_gc():   # a country's 40,000 units and their aliases: no cycles to look for
        return Units(tuple(map(_new_unit, zip(map(str.strip, names), map(int, bases), _periods(starts), _periods(ends),
                                              aliases))))


def _periods(column: list) -> list[str | None]:
    return [(p or "").strip() or None for p in column]


def _lookup(units: tuple[Unit, ...]) -> dict:
    """Every spelling of every unit, folded by `norm`, to its canonical name."""
    lookup: dict = {}
    folded = _folded([u.name for u in units] + [a for u in units for a in u.aliases])
    names, aliases = folded[:len(units)], iter(folded[len(units):])
    put = lookup.setdefault
    for u, name in zip(units, names):
        for spelling in [name, *itertools.islice(aliases, len(u.aliases))] if u.aliases else [name]:
            if not spelling:
                continue
            put(spelling, u.name)
            for suffix, back in _ENDINGS.get(spelling[-1], ()):   # one lookup for the many names with none
                if spelling.endswith(suffix) and len(spelling) - len(suffix) >= 2:
                    put(spelling[:-len(suffix)] + back, u.name)
    for u, name in zip(units, names):  # a canonical name always means itself
        lookup[name] = u.name
    return lookup


def _nul_joined(texts: list[str]) -> str | None:
    """The texts joined on NUL, to be split again; None when that would not give them back (a text
    holds NUL itself, or there is none)."""
    joined = "\0".join(texts)
    return joined if joined.count("\0") == len(texts) - 1 else None


def _folded(texts: list[str]) -> list[str]:
    """`norm` of each text, done once over them all joined (a country's 160,000 names and aliases:
    one call instead of one each). NUL parts them: NFKC keeps it, and it is no space."""
    joined = _nul_joined(texts)
    if joined is None:   # each alone
        return [norm.__wrapped__(t) for t in texts]
    return norm.__wrapped__(joined).split("\0")


