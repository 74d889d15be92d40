"""The form's vocabulary and the small frozen records that flow between stages."""
from __future__ import annotations

import contextlib
import functools
import gc
import json
import operator
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import NamedTuple

from pipeline.core.findings import Finding, has_error

_SPACE = re.compile(r"\s+")


@contextlib.contextmanager
def no_gc():
    """Python's cycle collector paused: bulk work makes millions of small objects and no cycles,
    and a collection midway walks all of them again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@functools.lru_cache(maxsize=65536)   # labels repeat in every form a worker reads
def norm(text: str) -> str:
    """Fold full-width forms and drop every kind of space: how labels and names are compared."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(text))).replace("\u3000", "")


INDUSTRIES = ("冶金", "机械", "轻工", "有色", "纺织", "建材", "商贸", "烟草")
LEVELS = (1, 2, 3)
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级"}
MEASURES = ("new", "cumulative", "reviewing")
MEASURE_NAMES = {"new": "当月完成", "cumulative": "累计完成", "reviewing": "正在评审"}
FORM_TITLE = "工贸企业安全生产标准化月度报表"
TOTAL_LABEL = "合计"
ROW_KEYS = tuple((industry, level) for industry in INDUSTRIES for level in LEVELS)   # the form's 24 rows
COLUMNS = tuple((level, measure) for level in LEVELS for measure in MEASURES)        # its 9 count columns
# What became of a submission (`Received.status`), in the words every output and the terminal use.
STATUS_WORDS = {"accepted": "接收", "rejected": "退回", "superseded": "已被替代", "duplicate": "重复",
                "held": "关账后收到，暂不计入"}


class Row(NamedTuple):
    industry: str
    level: int
    new: int | None          # None: the cell could not be read as a count (a finding says why)
    cumulative: int | None
    reviewing: int | None

    def as_json(self) -> dict:
        return {"industry": self.industry, "level": self.level, "new": self.new,
                "cumulative": self.cumulative, "reviewing": self.reviewing}


ROW_KEY = operator.itemgetter(0, 1)   # a Row's (industry, level), as ROW_KEYS lists them


def rows_of_counts(counts) -> tuple[Row, ...]:
    """A form's 72 counts (row by column, as ROW_KEYS and COLUMNS order them) as its 24 rows."""
    return tuple(map(_new_row, zip(_ROW_INDUSTRY, _ROW_LEVEL, counts[0::3], counts[1::3], counts[2::3])))


_new_row = functools.partial(tuple.__new__, Row)   # Row._make without a Python call: a million rows a national month
_ROW_INDUSTRY = tuple(industry for industry, _ in ROW_KEYS)
_ROW_LEVEL = tuple(level for _, level in ROW_KEYS)


class Cells(Mapping):
    """Where each count of one form stands: (industry | 合计, level, measure) -> "sheet!B6".

    Kept as the table's geometry (the row of each industry, the column of each level and measure) and
    turned into references only when asked: most forms never need one."""
    __slots__ = ("sheet", "rows", "columns")

    def __init__(self, sheet: str, rows: dict, columns: dict):
        self.sheet, self.rows, self.columns = sheet, rows, columns   # industry -> row; (level, measure) -> col

    def __getitem__(self, key):
        row, col = self.rows.get(key[0]), self.columns.get(key[1:])
        if row is None or col is None:
            raise KeyError(key)
        return f"{self.sheet}!{cell_name(row, col)}"

    def __iter__(self):
        return ((name, level, measure) for name in self.rows for level, measure in self.columns)

    def __len__(self):
        return len(self.rows) * len(self.columns)

    def __reduce__(self):
        return Cells, (self.sheet, self.rows, self.columns)

    def as_json(self) -> str:
        """The geometry as the ledger keeps it: rows and columns as the workbook names them."""
        return _cells_json(self.sheet, tuple(self.rows.items()), tuple(self.columns.items()))


@functools.lru_cache(maxsize=4096)   # most forms share the template's geometry
def _cells_json(sheet: str, rows: tuple, columns: tuple) -> str:
    return json.dumps({"sheet": sheet, "rows": {name: r + 1 for name, r in rows},
                       "columns": {f"{level}|{measure}": cell_name(0, c)[:-1] for (level, measure), c in columns}},
                      ensure_ascii=False)


@dataclass(frozen=True)
class Submission:
    """One form read from one sheet (or a file that could not be read: sheet None, no rows)."""
    sheet: str | None
    unit: str | None
    period: str | None           # "2016-09"
    rows: tuple[Row, ...]
    findings: tuple[Finding, ...]
    # (industry, level, measure) -> "sheet!B6"; ("合计", level, measure) too: a `Cells`, or {} for none.
    cells: Mapping = field(default_factory=dict, compare=False, hash=False)
    unit_cell: str | None = None
    period_cell: str | None = None

    @property
    def status(self) -> str:
        return "rejected" if has_error(self.findings) or not self.rows else "accepted"

    def as_json(self) -> dict:
        return {"sheet": self.sheet, "unit": self.unit, "period": self.period, "status": self.status,
                "rows": [r.as_json() for r in self.rows],
                "findings": [f.as_json() for f in self.findings]}


@dataclass(frozen=True)
class FileResult:
    file: str                    # the name it was received under
    sha256: str
    kind: str | None             # xlsx / xls / ods / None when unreadable
    submissions: tuple[Submission, ...]
    stored: tuple[str, str | None, int] | None = None   # archived by the worker: (path, temporary copy, size)

    def as_json(self) -> dict:
        return {"file": self.file, "sha256": self.sha256,
                "submissions": [s.as_json() for s in self.submissions]}

    @property
    def accepted(self) -> bool:
        return all(s.status == "accepted" for s in self.submissions)


@functools.lru_cache(maxsize=65536)
def cell_name(row: int, col: int) -> str:
    """Zero-based (row, col) -> A1 reference."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def cell_index(ref: str) -> tuple[int, int]:
    """A1 reference (no sheet) -> zero-based (row, col)."""
    col = 0
    i = 0
    while i < len(ref) and ref[i].isalpha():
        col = col * 26 + (ord(ref[i].upper()) - 64)
        i += 1
    return int(ref[i:]) - 1, col - 1


@dataclass(frozen=True)
class Received:
    """A submission as the ledger holds it: what came in, when, and what became of it."""
    id: int
    file: str                    # the name it was received under
    archived: str                # path of the archived copy (the bytes as received)
    sha256: str
    received_at: object          # aware datetime
    sheet: str | None
    unit: str | None
    period: str | None
    status: str                  # accepted | rejected | superseded | duplicate | held (closing.py)
    late: bool
    rows: tuple[Row, ...]
    findings: tuple[Finding, ...]
    attachments: tuple[str, ...] = ()   # files that came with it by e-mail and are not workbooks (情况说明.docx)
    note: str | None = None             # the text of the e-mail it came with
    by_mail: bool = False               # received by e-mail: `received_at` is the mail's Date, else the file's mtime

    @property
    def codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})


def replaced(rec: Received, **changes) -> Received:
    """`dataclasses.replace(rec, **changes)` without calling `__init__` (thirteen frozen fields set one
    by one): a fifth of the time, for a national month's 40,000 counted forms."""
    unknown = changes.keys() - _RECEIVED_FIELDS
    if unknown:
        raise TypeError(f"Received has no field {', '.join(sorted(unknown))}")
    new = object.__new__(Received)
    new.__dict__.update(rec.__dict__, **changes)
    return new


def new_received(*values) -> Received:
    """`Received(*values)` (the fields before `attachments`, then optionally those after) without calling
    `__init__`: 1.4 µs instead of 2.2, for the 40,000 submissions of a national month read from the
    ledger, and again for their receipts."""
    new = object.__new__(Received)
    new.__dict__.update(_RECEIVED_DEFAULTS)
    new.__dict__.update(zip(_RECEIVED_NAMES, values))
    return new


_RECEIVED_NAMES = tuple(f.name for f in fields(Received))
_RECEIVED_DEFAULTS = {f.name: f.default for f in fields(Received) if f.name in ("attachments", "note", "by_mail")}
_RECEIVED_FIELDS = frozenset(f.name for f in fields(Received))
