"""What every workbook the bureau issues has: its own 属性 (title, the bureau as author, when it
was made, zh-CN) and an A4 page. Books are written with xlsxwriter where they are written from
scratch and need formulas with their results (the district's form, blank forms, 报送情况, the
register's lists), with openpyxl where a book is edited or charted (the ranking books, a clerk's
copy rebuilt for marking)."""
from __future__ import annotations

import datetime as dt

from pipeline.core.text import ILLEGAL_CHARACTERS_RE

LANGUAGE = "zh-CN"


def _made(made: dt.datetime | None) -> dt.datetime:
    """The time a book says it was made, in UTC to the second (as both libraries write it)."""
    return (made or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def book_properties(wb, title: str, author: str | None, made: dt.datetime | None = None) -> None:
    """An openpyxl workbook's 属性 (openpyxl would sign it "openpyxl")."""
    props = wb.properties
    props.title = ILLEGAL_CHARACTERS_RE.sub("", title)     # a clerk's file name may carry any
    props.creator = props.lastModifiedBy = author or ""
    props.created = props.modified = _made(made)
    props.language = LANGUAGE


def set_properties(book, title: str, author: str | None, made: dt.datetime | None = None, **more) -> None:
    """An xlsxwriter workbook's 属性; its language is set when it is finished (`ooxml.finish`)."""
    book.set_properties({"title": ILLEGAL_CHARACTERS_RE.sub("", title), "author": author or "",
                         "created": _made(made), **more})


def on_a4(ws, landscape: bool = True, tall: int = 1) -> None:
    """An openpyxl sheet printed on A4, as wide as one page and `tall` pages high (0: as many as it takes)."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, tall
    ws.sheet_properties.pageSetUpPr.fitToPage = True
