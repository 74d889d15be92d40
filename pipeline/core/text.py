"""Text: untrusted text kept as text (file names from e-mails, cell text written into our workbooks,
names shown on a terminal), and how wide text is where it is laid out in columns.

docs/runs.md, Bad input: "a name from an e-mail never chooses where a file is written" and text from a
workbook "is written into outputs as text (no formula injection into .xlsx)".
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath
from unicodedata import east_asian_width

MAX_NAME_BYTES = 150
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10)),
                    "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$"}
UNSAFE_CHARS = re.compile(r'[<>:"|?*]')
# The control characters openpyxl refuses in a cell (its ILLEGAL_CHARACTERS_RE), kept here so that the
# check workers, which archive files under safe names, do not load openpyxl (and numpy) at all.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_name(name: str, fallback: str, chars: int | None = None) -> str:
    """One path component, safe on Linux and Windows, keeping Chinese and the extension; a name sent
    with folders in it is its last part. At most 150 bytes, and `chars` characters when given."""
    name = unicodedata.normalize("NFC", name or "")
    if not name.isprintable():   # printable: none of the categories below (nearly every name)
        name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = PurePosixPath(name.replace("\\", "/")).name       # drop any directories, "..", drive letters
    name = UNSAFE_CHARS.sub("_", name).strip().lstrip(".").rstrip(". ")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    if stem.split(".")[0].strip().upper() in WINDOWS_RESERVED:
        stem = "_" + stem
    suffix = suffix if len(suffix.encode()) <= 16 else ""
    room = MAX_NAME_BYTES - len(suffix.encode()) - (1 if suffix else 0)
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ")
    name = f"{stem}.{suffix}" if suffix else stem
    if chars is not None and len(name) > chars:
        name = name[:chars].rstrip(". ")
    if not stem or not name or name in (".", ".."):
        return fallback
    return name


def name_part(text: str | None, fallback: str, chars: int | None = None) -> str:
    """A part of a file name made from text (a unit's name, a file's stem): `safe_name`, with / and \\
    written as _ (they are part of the text, not folders)."""
    return safe_name((text or "").replace("/", "_").replace("\\", "_"), fallback, chars)


def cell_text(value) -> str | None:
    """Text fit for an .xlsx cell: characters XML cannot hold removed, Excel's length limit kept."""
    if value is None:
        return None
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return text[:MAX_CELL_CHARS]


def set_text(cell, value) -> None:
    """Write untrusted text into an openpyxl cell as a string, never as a formula.

    openpyxl stores any str starting with "=" as a formula; data_type "s" makes it write the
    text as a string, and quotePrefix keeps Excel from turning it into a formula when a user
    edits the cell."""
    text = cell_text(value)
    cell.value = text
    if text is None:
        return
    cell.data_type = "s"
    if text.startswith(FORMULA_START):
        cell.quotePrefix = True


_NOT_IN_TITLES = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_title(name: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts, as close to `name` as it can be: none of [ ] : * ? / \\, at most
    31 characters, not blank, not starting or ending with an apostrophe, not "History" (Excel's own),
    not one of `taken` (compared as Excel does, ignoring case). The chosen name is added to `taken`."""
    title = _NOT_IN_TITLES.sub("_", str(name)).strip("'")[:31].strip() or "Sheet"
    if title.casefold() == "history":
        title += "_"
    base, k = title, 1
    while title.casefold() in taken:
        k += 1
        title = f"{base[:31 - len(str(k)) - 1]}_{k}"
    taken.add(title.casefold())
    return title


def printable(text: str) -> str:
    """Text for a terminal: control and format characters (ESC sequences that move the cursor or
    repaint the screen, line breaks that start a forged line, bidi overrides that reverse a name)
    shown as escapes such as `\\x1b`, never sent as they are."""
    text = str(text)
    if text.isprintable():   # nearly every name: no character to look at
        return text
    return "".join(c if c.isprintable() or c == " " or unicodedata.category(c) == "Zs" else _escaped(c) for c in text)


def _escaped(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def display_width(text: str) -> int:
    """Columns `text` takes in a fixed-width layout (a sheet's column, a terminal): two for a
    character East Asian fonts draw wide (汉字, 、。（）, and the ambiguous ones: “” — → …), one for
    anything else."""
    if text.isascii():
        return len(text)
    return sum(2 if east_asian_width(ch) in "WFA" else 1 for ch in text)


def within(root: Path, candidate: Path) -> bool:
    """Whether candidate, with symlinks and ".." resolved, lies inside root."""
    try:
        return Path(candidate).resolve().is_relative_to(Path(root).resolve())
    except (OSError, RuntimeError, ValueError):
        return False
