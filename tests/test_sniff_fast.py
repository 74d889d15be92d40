"""sniff's fast road (own zip directory reader, regexes for plain XML) gives the careful road's verdicts."""
from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import pipeline.core.ooxml as O
import pipeline.read.sniff as S
from pipeline.core.settings import load_settings

from conftest import CORPUS, needs_corpus

ROOT = Path(__file__).parents[1]
LIMITS = load_settings(ROOT / "reference").limits
NEVER = re.compile(rb"(?!)")


def careful(monkeypatch):
    """Close every fast road: zipfile reads the directory, defusedxml every XML part."""
    monkeypatch.setattr(S, "plain_directory", lambda data: None)
    monkeypatch.setattr(O, "PLAIN_RELS", NEVER)
    monkeypatch.setattr(S, "PLAIN_ROOT", NEVER)
    monkeypatch.setattr(O, "_small_relationships", O._relationships)   # nothing kept from the fast road
    monkeypatch.setattr(S, "_small_root_tag", S._read_root_tag)


def outcome(data_or_path, name: str, limits=LIMITS):
    try:
        return S.sniff(data_or_path, name, limits)
    except Exception as e:  # noqa: BLE001 - a crash must be the same crash on both roads
        return type(e).__name__


def both_roads(data: bytes, name: str, limits=LIMITS):
    fast = outcome(data, name, limits)
    with pytest.MonkeyPatch.context() as mp:
        careful(mp)
        slow = outcome(data, name, limits)
    return fast, slow


def generated_workbooks() -> dict[str, bytes]:
    books = {}
    for sheets in (1, 3):
        wb = openpyxl.Workbook()
        for i in range(sheets - 1):
            wb.create_sheet(f"{i + 8}月")
        for ws in wb.worksheets:
            ws["A1"], ws["B5"] = "工贸企业安全生产标准化月度报表", "当月完成（家）"
            for r in range(6, 14):
                ws.cell(r, 1, "冶金")
                ws.cell(r, 2, r)
        out = io.BytesIO()
        wb.save(out)
        books[f"openpyxl_{sheets}.xlsx"] = out.getvalue()
    base = books["openpyxl_1.xlsx"]
    books["stored.xlsx"] = _rezip(base, zipfile.ZIP_STORED)
    books["commented.xlsx"] = _rezip(base, zipfile.ZIP_DEFLATED, comment=b"saved by WPS")  # zipfile's business
    books["strict.xlsx"] = _rewrite(base, "xl/workbook.xml", lambda x: x.replace(
        b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", S.STRICT_NS.encode()))
    books["dtd_in_styles.xlsx"] = _rewrite(base, "xl/styles.xml", lambda x: b"<!DOCTYPE s [<!ENTITY e 'x'>]>" + x)
    books["dtd_stored.xlsx"] = _rezip(books["dtd_in_styles.xlsx"], zipfile.ZIP_STORED)
    books["encrypted_flag.xlsx"] = _flip_flags(base)
    books["truncated.xlsx"] = base[: len(base) - 30]
    books["prefixed.xlsx"] = b"PK\x03\x04" + b"\0" * 100 + base  # offsets off by 104: zipfile's business
    books["trailing.xlsx"] = base + b"\0" * 100                     # end record not last: zipfile's business
    return books


def _rezip(data: bytes, method: int, comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", method) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.comment = comment
    return out.getvalue()


def _rewrite(data: bytes, member: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, change(body) if info.filename == member else body)
    return out.getvalue()


def _flip_flags(data: bytes) -> bytes:
    """Set the 'encrypted' bit of the first central directory entry (its offset is in the end record)."""
    at = int.from_bytes(data[-6:-2], "little")
    b = bytearray(data)
    b[at + 8] |= 1
    return bytes(b)


GENERATED = generated_workbooks()
EXPECTED = {  # kind, finding code, strict OOXML
    "openpyxl_1.xlsx": ("xlsx", None, False), "openpyxl_3.xlsx": ("xlsx", None, False),
    "stored.xlsx": ("xlsx", None, False), "commented.xlsx": ("xlsx", None, False),
    "strict.xlsx": ("xlsx", None, True), "dtd_in_styles.xlsx": ("xlsx", "UNREADABLE", False),
    "dtd_stored.xlsx": ("xlsx", "UNREADABLE", False),
    "encrypted_flag.xlsx": (None, "ENCRYPTED", False), "truncated.xlsx": (None, "UNREADABLE", False),
    "prefixed.xlsx": ("xlsx", None, False), "trailing.xlsx": ("xlsx", None, False),
}


# --- the road does not change the verdict ----------------------------------------------------

@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_workbooks_same_verdict_by_bytes_path_and_careful_road(name, tmp_path):
    data = GENERATED[name]
    path = tmp_path / name
    path.write_bytes(data)
    fast, slow = both_roads(data, name)
    assert fast == slow == outcome(path, name)
    assert (fast.kind, fast.finding and fast.finding.code, fast.strict_ooxml) == EXPECTED[name]


def test_the_ordinary_workbook_takes_the_fast_road():
    data = GENERATED["openpyxl_1.xlsx"]
    members = O.plain_directory(data)
    assert [m.filename for m in members] == zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert S.sniff(data, "a.xlsx", LIMITS) == S.Sniffed("xlsx")
    for unusual in ("commented.xlsx", "prefixed.xlsx", "trailing.xlsx"):
        assert O.plain_directory(GENERATED[unusual]) is None


@pytest.mark.parametrize("name", ["openpyxl_1.xlsx", "stored.xlsx"])
def test_a_member_is_inflated_as_zipfile_reads_it_and_a_changed_byte_is_refused_as_zipfile_refuses_it(name):
    """How the marked copy reads a clerk's parts: the bytes zipfile gives; a part whose bytes changed
    after it was zipped is refused by both."""
    data = GENERATED[name]
    members = [m for m in O.plain_directory(data) if not m.is_dir()]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {m.filename: O.inflated(data, m) for m in members} == {n: z.read(n) for n in z.namelist()}
    for m in members:
        at = O.member_start(data, m.header_offset) + m.compress_size // 2
        changed = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]
        with pytest.raises((zipfile.BadZipFile, zlib.error)):
            O.inflated(changed, m)
        with zipfile.ZipFile(io.BytesIO(changed)) as z, pytest.raises((zipfile.BadZipFile, zlib.error)):
            z.read(m.filename)



def test_a_member_that_inflates_past_its_declared_size_is_refused_without_inflating_it_all():
    """A part declared as 100 bytes whose stream holds 50 MB: refused, and never inflated in full (the
    marked copy reads parts in a worker with no memory cap). zipfile stops at the declared size too."""
    stream = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = stream.compress(b"\0" * 50_000_000) + stream.flush()
    data = _zip_with_declared_size(body, 100)
    member, = O.plain_directory(data)
    assert member.file_size == 100 and member.compress_size == len(body)
    calls = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args):
            self.inner = real(*args)

        def decompress(self, raw, max_length=0):
            out = self.inner.decompress(raw, max_length)
            calls.append(len(out))
            return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(O.zlib, "decompressobj", Counting)
        with pytest.raises(zipfile.BadZipFile):
            O.inflated(data, member)
    assert calls == [101]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert len(z.read("xl/worksheets/sheet1.xml")) == 100


def _zip_with_declared_size(body: bytes, declared: int) -> bytes:
    """One deflated member, "xl/worksheets/sheet1.xml", whose headers declare `declared` bytes."""
    name, crc = b"xl/worksheets/sheet1.xml", zlib.crc32(b"\0" * declared)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), declared, len(name), 0) + name
    entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body), declared, len(name),
                        0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(entry), len(local) + len(body), 0)
    return local + body + entry + end

def corpus_files():
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in ("README.md", "MANIFEST.tsv"))


@needs_corpus
def test_every_corpus_file_same_verdict_by_bytes_path_and_careful_road():
    small = LIMITS | {"cells": 1000, "member_bytes": 50_000, "uncompressed_bytes": 200_000}
    differ = []
    for path in corpus_files():
        data = path.read_bytes()
        by_path = outcome(path, path.name)
        fast, slow = both_roads(data, path.name)
        fast_small, slow_small = both_roads(data, path.name, small)
        if not (by_path == fast == slow and fast_small == slow_small):
            differ.append(path.relative_to(CORPUS).as_posix())
    assert differ == []
    assert len(corpus_files()) == 574


# --- the zip directory: plain means exactly what zipfile lists -----------------------------------

@hsettings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(GENERATED)),
       st.lists(st.tuples(st.integers(1, 400), st.integers(0, 255)), min_size=1, max_size=4),
       st.integers(0, 40))
def test_mutated_directories_are_read_as_zipfile_reads_them_or_left_to_it(name, edits, cut):
    b = bytearray(GENERATED[name])
    for back, value in edits:  # the directory and end record sit in the last few hundred bytes
        b[-min(back, len(b))] = value
    data = bytes(b[: len(b) - cut] if cut > 30 else b)
    members = O.plain_directory(data)
    if members is not None:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        assert [tuple(m) for m in members] == [(i.filename, i.flag_bits, i.compress_type, i.CRC, i.compress_size,
                                                i.file_size, i.header_offset) for i in infos]
    fast, slow = both_roads(data, name)
    assert fast == slow


# --- plain XML: the regexes read what expat reads -------------------------------------------------

DECLARATIONS = ["", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n', '<?xml version="1.0"?>',
                '<?xml version="1.1"?>', "<?xml version='1.0'?>", '<?xml version="1.0" encoding="UTF-16"?>',
                " ", '\ufeff<?xml version="1.0"?>', "<!-- c -->", '<!DOCTYPE x [<!ENTITY e "&#60;">]>']
VALUES = ["http://schemas.openxmlformats.org/spreadsheetml/2006/main", S.STRICT_NS, "", "a}b", "a{b", "x y",
          "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/2000/xmlns/", "&amp;", "&e;", "a>b",
          "a\tb", "中", "x15 xr", "'", "&#x7d;"]
ROOT_NAMES = ["workbook", "x:workbook", "mc:workbook", "xml:workbook", "xmlns:workbook", "Workbook", "fooworkbook",
              "1:workbook", "x:y:workbook", "workbook:x"]
ROOT_ATTRIBUTES = ["xmlns", "xmlns:x", "xmlns:r", "xmlns:mc", "mc:Ignorable", "conformance", "xmlns:xml",
                   "xmlns:xmlns", "xmlns:Xml1", "r:id", "x:id", "xml:space", "xmlns:", "xmlns:1a", "id", "a:b:c"]
SPACES = [" ", "\n", "\t", "  ", "\x0c"]


@st.composite
def root_tags(draw):
    attributes = draw(st.lists(st.tuples(st.sampled_from(ROOT_ATTRIBUTES), st.sampled_from(VALUES),
                                         st.sampled_from(SPACES), st.sampled_from(['"', '"', "'"])), max_size=5))
    text = draw(st.sampled_from(DECLARATIONS)) + draw(st.sampled_from(["", "\n", " \t"]))
    text += "<" + draw(st.sampled_from(ROOT_NAMES))
    for name, value, space, quote in attributes:
        text += f"{space}{name}={quote}{value}{quote}"
    text += draw(st.sampled_from([">", "/>", " >", "", ">" + "<a>&undefined;</a>", " / >"]))
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16"])))


def careful_root(head: bytes):
    root = next(O.xml_starts(head), None)
    return None if root is None else root.tag


@hsettings(max_examples=1000, deadline=None)
@given(root_tags())
def test_root_tags_read_as_expat_reads_them(head):
    assert S._root_tag(head) == careful_root(head)


@pytest.mark.parametrize("head", [
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main" xmlns:r="r" xmlns:mc="m" mc:Ignorable="x15" xmlns:x15="x"><sheets/></workbook>',
    b'<x:workbook xmlns:x="' + S.STRICT_NS.encode() + b'" conformance="strict"/>',
    b'<workbook xmlns="">', b"<workbook>",
])
def test_ordinary_root_tags_take_the_fast_road(head):
    assert S.PLAIN_ROOT.match(head)
    assert S._root_tag(head) == careful_root(head) is not None


PLAIN_VALUES = ["rId1", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
                "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument", "xl/workbook.xml",
                "/xl/workbook.xml", "xl\\workbook.xml", "External", "", "a'b"]
ODD = ["&amp;", "&e;", "<!-- x -->", "中", ">", "<", "\n", "\t", "'", '"', " ", "}", 'Id="x" ', 'Foo="x" ',
       'r:Id="x" ', "ns0:", "<Relationship/>", "</Relationships>", "\x00", "x"]


@st.composite
def rels_parts(draw):
    """A plain part, and often one odd token put anywhere in it."""
    text = draw(st.sampled_from(DECLARATIONS[:3])) + draw(st.sampled_from(["", "\n"]))
    text += '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    for attributes in draw(st.lists(st.lists(st.tuples(st.sampled_from(["Id", "Type", "Target", "TargetMode"]),
                                                       st.sampled_from(PLAIN_VALUES)),
                                             min_size=1, max_size=4, unique_by=lambda a: a[0]), max_size=4)):
        text += draw(st.sampled_from(["", "\n"])) + "<Relationship"
        text += "".join(f"{draw(st.sampled_from(SPACES[:3]))}{name}=\"{value}\"" for name, value in attributes)
        text += draw(st.sampled_from(["/>", " />"]))
    text += "</Relationships>" + draw(st.sampled_from(["", "\r\n"]))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
    return text.encode()


def attributes_of(found):
    return [dict(e) if isinstance(e, dict) else dict(e.attrib) for e in found]


@hsettings(max_examples=1000, deadline=None)
@given(rels_parts())
def test_relationships_read_as_expat_reads_them(data):
    fast = attributes_of(O._relationships(data))
    with pytest.MonkeyPatch.context() as mp:
        careful(mp)
        assert fast == attributes_of(O._relationships(data))


def test_excel_s_package_relationships_take_the_fast_road():
    rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="http://schemas.'
            b'openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxml'
            b'formats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    assert O.PLAIN_RELS.fullmatch(rels)
    assert [r["Target"] for r in O._relationships(rels)] == ["docProps/app.xml", "xl/workbook.xml"]
