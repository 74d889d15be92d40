"""The .xlsx package, a zip of XML parts, for what no library does within the speed goals.

Reading: a zip's central directory and members exactly as `zipfile` reads them, in a fifth of its
time when the directory is plain (sniff judges every file received by them, the marked copy reads a
clerk's parts); relationships read by regex when plain, else with defusedxml (which expands no
entity). Writing: a book xlsxwriter laid out, finished with what xlsxwriter cannot do or not fast
enough: rows made as text spliced in as a sheet's <sheetData> (xlsxwriter takes ~15 µs a cell, a
country's 明细 is six million cells), shared strings for them, and the document's language.
The numbers behind each of these are in docs/design.md.
"""
from __future__ import annotations

import functools
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from pipeline.core.text import MAX_CELL_CHARS, cell_text

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
XML_ERRORS = (ParseError, DefusedXmlException, ValueError, LookupError)  # LookupError: an unknown encoding

END_RECORD = struct.Struct("<4s4H2LH")            # zip end of central directory, as zipfile reads it
# one central directory entry, the fields zipfile checks or keeps: signature, version needed, flags,
# method, CRC, compressed and file sizes, lengths of name, extra and comment, local header offset
DIRECTORY_ENTRY = struct.Struct("<4s2xBxHH4xLLLHHH8xL")
LOCAL_LENGTHS = struct.Struct("<HH")              # name and extra field lengths, 26 bytes into a local header
PLAIN_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# Plain XML: an optional UTF-8 declaration, then markup whose attribute values are printable ASCII
# without " & < > { } (nothing to unescape or normalize, no namespace separator for expat to refuse).
DECLARATION = rb'(?:<\?xml version="1\.0"(?: encoding="(?:UTF|utf)-8")?(?: standalone="(?:yes|no)")?\?>)?[ \t\r\n]*'
CHARACTER = rb"[ !#-%'-;=?-z|~]"
VALUE = rb'"' + CHARACTER + rb'*"'
PLAIN_RELS = re.compile(
    DECLARATION + rb'<Relationships xmlns="http://schemas\.openxmlformats\.org/package/2006/relationships">'
    rb"(?:[ \t\r\n]*<Relationship(?:[ \t\r\n]+(?:Id|Type|Target|TargetMode)=" + VALUE + rb")+[ \t\r\n]*/>)*"
    rb"[ \t\r\n]*</Relationships>[ \t\r\n]*")
DTD = re.compile(rb"<!(?i:doctype|entity)")  # bytes: ASCII case only, as bytes.lower()
RELATIONSHIP = re.compile(rb"<Relationship[ \t\r\n]([^>]*)/>")
ATTRIBUTE = re.compile(rb'([\w.:-]+)="([^"]*)"')


class Member(NamedTuple):
    """What is read of a zip entry: the fields of a zipfile.ZipInfo that sniff and the marked copy use."""
    filename: str
    flag_bits: int
    compress_type: int
    CRC: int
    compress_size: int
    file_size: int
    header_offset: int

    def is_dir(self) -> bool:
        return self.filename[-1] == "/"


_new_member = functools.partial(tuple.__new__, Member)   # Member._make without a Python call a zip entry


def plain_directory(data: bytes) -> list[Member] | None:
    """The members exactly as zipfile lists them, when nothing is unusual; else None, and zipfile reads it.

    Plain: an end record without comment right after the directory (no ZIP64, no prefixed data),
    entries that zipfile would neither refuse nor alter (version, names, extra fields), stored or
    deflated."""
    end = len(data) - END_RECORD.size
    if end < 20 or data[end:end + 4] != b"PK\x05\x06" or data[-2:] != b"\0\0" or data[end - 20:end - 16] == b"PK\x06\x07":
        return None
    *_, directory_size, position, _comment_size = END_RECORD.unpack_from(data, end)
    if position + directory_size != end:
        return None
    members = []
    while position < end:
        if position + 46 > end:
            return None
        (signature, version, flags, method, crc, compress_size, file_size, name_size, extra_size, comment_size,
         offset) = DIRECTORY_ENTRY.unpack_from(data, position)
        name = data[position + 46:position + 46 + name_size]
        extra = data[position + 46 + name_size:position + 46 + name_size + extra_size] if extra_size else b""
        position += 46 + name_size + extra_size + comment_size
        if (signature != b"PK\x01\x02" or version > 63 or method not in PLAIN_METHODS or position > end
                or extra and not _plain_extra(extra)):
            return None
        try:  # cp437 and utf-8 agree on ASCII, and utf-8 decodes faster
            filename = name.decode("utf-8" if flags & 0x800 or name.isascii() else "cp437")
        except UnicodeDecodeError:
            return None
        if not filename or "\0" in filename or "\\" in filename:  # zipfile cuts at NUL; on Windows it turns \ to /
            return None
        members.append(_new_member((filename, flags, method, crc, compress_size, file_size, offset)))
    return members


def _plain_extra(extra: bytes) -> bool:
    """No ZIP64 field (it would change sizes or offset) and no field zipfile calls corrupt."""
    while len(extra) >= 4:
        kind, size = struct.unpack_from("<HH", extra)
        if kind == 1 or size + 4 > len(extra):
            return False
        extra = extra[size + 4:]
    return True


def peek(data: bytes, info, cap: int, archive: zipfile.ZipFile | None = None) -> bytes:
    """The first `cap` inflated bytes of a member (`archive`: the zipfile that listed it, when its
    directory was not plain); the CRC is the reader's business, not ours."""
    method = info.compress_type
    if method not in PLAIN_METHODS:
        with archive.open(info) as member:   # bzip2/lzma: ZipExtFile inflates incrementally too
            return member.read(cap)
    start = member_start(data, info.header_offset)
    if start is None:
        raise zipfile.BadZipFile(f"bad local header for {info.filename!r}")
    if method == zipfile.ZIP_STORED:
        return data[start:start + min(cap, info.compress_size)]
    end = min(start + info.compress_size, len(data))
    body, inflater, out = memoryview(data), zlib.decompressobj(-15), b""
    while start < end and len(out) < cap and not inflater.eof:  # 64 KB at a time: a short tail to keep
        out += inflater.decompress(body[start:min(end, start + 65536)], cap - len(out))
        start += 65536
    return out


def inflated(data: bytes, member: Member) -> bytes:
    """A whole member of a zip whose directory `plain_directory` read, checked as zipfile checks it
    (its local header, size and CRC); zipfile.BadZipFile if it does not match, or is encrypted.
    Inflated no further than one byte past its declared size, as zipfile stops there too: a small
    deflated stream can stand for a thousand times its size, whatever the directory declares."""
    start = member_start(data, member.header_offset)
    if start is None or member.flag_bits & 0x1:
        raise zipfile.BadZipFile(f"cannot read {member.filename!r}")
    raw = data[start:start + member.compress_size]
    body = raw if member.compress_type == zipfile.ZIP_STORED else \
        zlib.decompressobj(-15).decompress(raw, member.file_size + 1)
    if len(body) != member.file_size or zlib.crc32(body) != member.CRC:
        raise zipfile.BadZipFile(f"bad CRC or size for {member.filename!r}")
    return body


def member_start(data: bytes, offset: int) -> int | None:
    """Where the bytes of the member whose local header is at `offset` begin; None if that header is
    not sound."""
    if offset < 0 or len(data) < offset + 30 or not data.startswith(b"PK\x03\x04", offset):
        return None
    name_len, extra_len = LOCAL_LENGTHS.unpack_from(data, offset + 26)
    return offset + 30 + name_len + extra_len


def xml_starts(data: bytes):
    """Start elements of an XML prefix, parsed with defusedxml; a truncated tail just ends the walk."""
    try:
        for _event, element in SafeET.iterparse(io.BytesIO(data), events=("start",)):
            yield element
    except XML_ERRORS:
        return


def has_dtd(data: bytes) -> bool:
    return data.find(b"!", 0, 2048) >= 0 and DTD.search(data, 0, 2048) is not None  # "!" is rare: memchr first


def relationships(data: bytes) -> tuple:
    """Each Relationship of a .rels part: its attributes as a dict when the part is plain, else the
    element defusedxml parsed (either answers .get("Target"))."""
    return _small_relationships(data) if len(data) <= 4096 else _relationships(data)


@functools.lru_cache(maxsize=256)   # a program writes the same small .rels into every workbook it saves
def _small_relationships(data: bytes) -> tuple:
    return _relationships(data)


def _relationships(data: bytes) -> tuple:
    """Each Relationship's attributes: a dict when the part is plain, else the element defusedxml parsed."""
    if PLAIN_RELS.fullmatch(data):
        found = [ATTRIBUTE.findall(tag) for tag in RELATIONSHIP.findall(data)]
        if all(len(dict(pairs)) == len(pairs) for pairs in found):  # an attribute twice: expat stops there
            return tuple({key.decode(): value.decode() for key, value in pairs} for pairs in found)
    return () if has_dtd(data) else tuple(e for e in xml_starts(data) if e.tag.endswith("Relationship"))


def part_of(folder: str, target: str) -> str:
    """The part a relationship's target names, from the folder of the part whose .rels it is."""
    target = target.replace("\\", "/")
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))


_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?name="([^"]*)"[^>]*?r:id="([^"]+)"')


def sheet_parts(read) -> dict[str, str]:
    """Each worksheet of an .xlsx by name -> its part, `read(name)` giving a part's bytes."""
    targets = {r.get("Id"): r.get("Target", "") for r in relationships(read("xl/_rels/workbook.xml.rels"))}
    return {unescape(name): part_of("xl", targets[rid.decode()]) for name, rid in _SHEET.findall(read("xl/workbook.xml"))
            if rid.decode() in targets}


def unescape(raw: bytes) -> str:
    """XML text or an attribute value (UTF-8 bytes) with its five entities replaced."""
    text = raw.decode("utf-8", "replace")
    for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(a, b)
    return text


# --- writing: a book xlsxwriter laid out, finished here -----------------------------------------

# Inline text as xlsxwriter writes it: Excel reads `_x0041_` as an escape, so a clerk's `_x0041_` is
# escaped itself; control characters (those XML can hold) as such escapes; & < > as entities.
_ESCAPE_LIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\x00-\x1f\ufffe\uffff]" r"|_x[0-9a-fA-F]{4}_|^\s|\s$")   # or edge spaces


def _plain(value: str) -> bool:
    """Whether `_SPECIAL` finds nothing in `value`, asked of the text's own methods first: they say
    yes for nearly every cell, in half the regex's time (a control character, U+FFFE/U+FFFF and any
    space but U+0020 are not printable)."""
    if (value.isprintable() and " " not in (value[:1], value[-1:]) and "&" not in value and "<" not in value
            and ">" not in value and "_x" not in value):
        return True
    return not _SPECIAL.search(value)


def inline(value: str) -> str:
    """The <is> of an inline-string cell holding `value` as `cell_text` keeps it (edge spaces too):
    text, never a formula."""
    if len(value) <= MAX_CELL_CHARS and _plain(value):
        return f"<is><t>{value}</t></is>"       # nearly every cell: nothing to change
    text = cell_text(value)
    text = _CONTROL.sub(lambda m: f"_x{ord(m[0]):04X}_", _ESCAPE_LIKE.sub(r"_x005F\1", text))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f"<is><t{space}>{escape(text)}</t></is>"


def shared_strings(texts: list[str], cells: int) -> bytes:
    """xl/sharedStrings.xml holding `texts`, named by `cells` cells."""
    items = "".join(f"<si>{inline(text)[4:-5]}</si>" for text in texts)   # <is><t>…</t></is>: its <t>
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" count="{cells}"'
            f' uniqueCount="{len(texts)}">{items}</sst>').encode()


def xf_numbers(formats: dict) -> dict[str, str]:
    """Each xlsxwriter Format's number in the book's cell formats, for cells written here. Taken now
    (xlsxwriter otherwise numbers formats as cells use them, and writes only those); xlsxwriter has no
    public way to ask, and this is the one place that uses its private one."""
    return {name: str(f._get_xf_index()) for name, f in formats.items()}


_STRINGS_TYPE = (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SPREADSHEET}.sharedStrings+xml"/>'
                 .encode())
_STRINGS_REL = f'<Relationship Id="rId{{}}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'


def finish(book: bytes, path: str, sheets: dict | None = None, strings=None,
           language: str = "zh-CN", threads: bool = False) -> None:
    """Write the book xlsxwriter made (`book`, its bytes) to `path`, with:
    - `sheets`: {"xl/worksheets/sheet2.xml": (rows, last cell)}: `rows`, pieces of <row> text, written
      as the sheet's <sheetData> (after any rows xlsxwriter wrote), its dimension up to `last cell`;
    - `strings()`: the sharedStrings part those rows' cells name (`shared_strings`), asked for once
      the rows are written (they may add to it as they are made);
    - the document's language in its properties (Office's proofing, and how the bureau's books are
      marked). With `threads`, the rows are deflated on a second thread (zlib lets go of the GIL)
      while the next piece is made; level 1: a fifth larger than the default, at half its time."""
    sheets = sheets or {}
    with zipfile.ZipFile(io.BytesIO(book)) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst, \
            ThreadPoolExecutor(1 if threads else None) as deflate:
        for info in src.infolist():
            data = src.read(info)
            if info.filename in sheets:
                _splice(dst, info, data.decode("utf-8"), *sheets[info.filename], deflate if threads else None)
                continue
            if info.filename == "[Content_Types].xml" and strings is not None:
                data = data.replace(b"</Types>", _STRINGS_TYPE + b"</Types>")
            elif info.filename == "xl/_rels/workbook.xml.rels" and strings is not None:
                rel = _STRINGS_REL.format(data.count(b"<Relationship ") + 1).encode()
                data = data.replace(b"</Relationships>", rel + b"</Relationships>")
            elif info.filename == "docProps/core.xml" and language:
                data = data.replace(b"</cp:coreProperties>", f"<dc:language>{language}</dc:language>"
                                    .encode() + b"</cp:coreProperties>")
            dst.writestr(info, data)
        if strings is not None:   # dated as xlsxwriter dates its parts
            dst.writestr(zipfile.ZipInfo("xl/sharedStrings.xml", date_time=(1980, 1, 1, 0, 0, 0)), strings(),
                         zipfile.ZIP_DEFLATED, 1)


def _splice(dst: zipfile.ZipFile, info: zipfile.ZipInfo, xml: str, rows, last: str, deflate) -> None:
    end = xml.index("</sheetData>") if "</sheetData>" in xml else None
    if end is None:   # xlsxwriter wrote no row: <sheetData/>
        start = xml.index("<sheetData/>")
        head, tail = xml[:start] + "<sheetData>", "</sheetData>" + xml[start + len("<sheetData/>"):]
    else:
        head, tail = xml[:end], xml[end:]
    head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>', head, count=1)
    with dst.open(info.filename, "w") as out:
        if deflate is None:
            out.write(head.encode())
            for piece in _pieces(rows):
                out.write(piece.encode())
            out.write(tail.encode())
            return
        pending = deque([deflate.submit(out.write, head.encode())])
        for piece in _pieces(rows):
            pending.append(deflate.submit(out.write, piece.encode()))
            if len(pending) > 2:
                pending.popleft().result()
        pending.append(deflate.submit(out.write, tail.encode()))
        for done in pending:
            done.result()


def _pieces(rows, size: int = 8 << 20):
    """The rows (text: a <row>, or several) joined into pieces of about `size` characters."""
    chunk, length = [], 0
    for row in rows:
        chunk.append(row)
        length += len(row)
        if length >= size:
            yield "".join(chunk)
            chunk, length = [], 0
    if chunk:
        yield "".join(chunk)
