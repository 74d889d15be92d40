"""The reference list of reporting units (`reference/units.csv`) and how clerks' spellings map to it."""
from __future__ import annotations

import difflib
import functools
import itertools
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .model import no_gc, norm

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


def load_units(reference: Path) -> Units:
    import pandas as pd  # here, not at the top: workers unpickle Units without loading pandas

    from schemas.units import UnitsTable
    frame = pd.read_csv(reference / "units.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    frame["规模以上企业数"] = pd.to_numeric(frame["规模以上企业数"].str.strip().replace("", "0"))
    frame = UnitsTable.validate(frame)
    with no_gc():   # a country's 40,000 units and their aliases: no cycles to look for
        return units_from_frame(frame)


def units_from_frame(frame) -> Units:
    """The units of a validated frame, a column at a time over plain lists (no pandas per value)."""
    blank = [""] * len(frame)
    name, alias, base, start, end = (frame[k].tolist() if k in frame else blank
                                     for k in ("单位", "别名", "规模以上企业数", "起始", "截止"))
    aliases = [tuple(filter(None, map(str.strip, text.replace("；", ";").split(";")))) if text else ()
               for text in alias]
    return Units(tuple(map(_new_unit, zip(map(str.strip, name), map(int, base), _periods(start), _periods(end),
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


def single_unit(name: str) -> Units:
    """A reference list holding one unit (the district itself, when checking its own form)."""
    return Units((Unit(name, 0, None, None, ()),))
