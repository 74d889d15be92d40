"""sniff: what a file is and whether it may be parsed, decided before anything is parsed in full."""
from __future__ import annotations

import csv
import io
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from pipeline.core.settings import load_settings
from pipeline.read.sniff import sniff

from conftest import CORPUS, needs_corpus

ROOT = Path(__file__).parents[1]
LIMITS = load_settings(ROOT / "reference").limits
NAME = "侯寨乡-2016年9月.xlsx"


def verdict(data_or_path, name=NAME, limits=LIMITS):
    s = sniff(data_or_path, name, limits)
    return s.kind, s.finding.code if s.finding else None


def xlsx_bytes() -> bytes:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "工贸企业安全生产标准化月度报表"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


# --- by magic, not by name ---------------------------------------------------------------------

def test_an_xlsx_is_xlsx_whatever_its_name():
    assert verdict(xlsx_bytes(), "报表.xls") == ("xlsx", None)


def test_an_excel_97_file_named_xlsx_is_xls(tmp_path):
    import xlwt  # the 'demo' extra, which make setup installs
    book = xlwt.Workbook()
    book.add_sheet("月度报表").write(0, 0, "冶金")
    path = tmp_path / "侯寨乡.xlsx"
    book.save(str(path))
    assert verdict(path, path.name) == ("xls", None)


@pytest.mark.parametrize("data, words", [
    (b"", "文件为空"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "HTML"),
    ("行业,一级\n冶金,1\n".encode("gbk"), "纯文本"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>', "Excel 2003 XML"),
    (b"%PDF-1.4 ...", "PDF"),
])
def test_other_things_named_xls_are_unreadable_with_a_reason(data, words):
    s = sniff(data, "报表.xls", LIMITS)
    assert (s.kind, s.finding.code) == (None, "UNREADABLE")
    assert words in s.finding.message


def test_a_truncated_xlsx_is_unreadable():
    data = xlsx_bytes()
    s = sniff(data[: len(data) // 2], NAME, LIMITS)
    assert s.finding.code == "UNREADABLE" and "截断" in s.finding.message


def test_a_zip_without_a_workbook_is_unreadable():
    assert verdict(zip_of({"word/document.xml": b"<w:document/>"})) == (None, "UNREADABLE")


def test_ods_by_mimetype():
    data = zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
    assert verdict(data, "报表.xlsx") == ("ods", None)


def test_an_ods_with_encryption_data_in_its_manifest_is_encrypted():
    manifest = (b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
                b'<manifest:encryption-data manifest:checksum-type="SHA1/1K"/></manifest:file-entry>'
                b'</manifest:manifest>')
    data = zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"\x00\x01",
                   "META-INF/manifest.xml": manifest})
    assert verdict(data, "报表.ods") == ("ods", "ENCRYPTED")


# --- limits ------------------------------------------------------------------------------------

def test_a_file_over_the_byte_limit_is_too_large_before_it_is_read(tmp_path):
    path = tmp_path / "big.xlsx"
    with path.open("wb") as f:
        f.truncate(LIMITS["file_bytes"] + 1)  # sparse: nothing to read, only stat
    s = sniff(path, path.name, LIMITS)
    assert s.finding.code == "TOO_LARGE" and "20 MB" in s.finding.message


def test_too_many_members_or_too_much_inflated_is_too_large():
    many = zip_of({f"xl/media/{i}.bin": b"" for i in range(10_001)} | {"xl/workbook.xml": b"<workbook/>"})
    assert verdict(many)[1] == "TOO_LARGE"
    member = {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b" " * 2_000_000}
    assert verdict(zip_of(member), limits=LIMITS | {"member_bytes": 1_000_000})[1] == "TOO_LARGE"
    assert verdict(zip_of(member), limits=LIMITS | {"uncompressed_bytes": 1_500_000})[1] == "TOO_LARGE"


def test_a_sheet_with_more_cells_than_the_limit_is_too_large():
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<dimension ref="A1:J30000"/><sheetData>'
             + b"".join(b'<row r="%d">' % r + b'<c t="n"><v>1</v></c>' * 10 + b"</row>" for r in range(1, 30_001))
             + b"</sheetData></worksheet>")
    data = zip_of({"xl/workbook.xml": b'<workbook xmlns="x"/>', "xl/worksheets/sheet1.xml": sheet})
    assert verdict(data) == ("xlsx", None)
    s = sniff(data, NAME, LIMITS | {"cells": 100_000})
    assert s.finding.code == "TOO_LARGE" and "A1:J30000" in s.finding.message


def test_a_declared_dimension_alone_never_rejects_a_sheet_its_cells_fit():
    """A1:XFD1048576 declared (17 billion cells) around 60,000 real ones: judged by what the sheet holds."""
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<dimension ref="A1:XFD1048576"/><sheetData>'
             + b"".join(b'<row r="%d">' % r + b'<c t="n"><v>1</v></c>' * 10 + b"</row>" for r in range(1, 6_001))
             + b"</sheetData></worksheet>")
    data = zip_of({"xl/workbook.xml": b'<workbook xmlns="x"/>', "xl/worksheets/sheet1.xml": sheet})
    assert len(sheet) // 16 > 75_000   # too big to pass on its size alone: its cells are counted
    assert verdict(data, limits=LIMITS | {"cells": 75_000}) == ("xlsx", None)
    s = sniff(data, NAME, LIMITS | {"cells": 50_000})
    assert s.finding.code == "TOO_LARGE" and "声明范围 A1:XFD1048576" in s.finding.message
    estimate = int(re.search(r"估计约 ([\d,]+) 个单元格", s.finding.message)[1].replace(",", ""))
    assert 60_000 <= estimate <= 66_000   # the cells it holds, not the 17 billion it declares


@needs_corpus
def test_a_declared_dimension_alone_never_rejects():
    # declares A1:XFD1048576 (17 billion cells) around ~49,000 real ones
    assert verdict(CORPUS / "tafia__calamine" / "issue_174.xlsx") == ("xlsx", None)


def test_xml_with_a_dtd_is_unreadable():
    bomb = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><sst>&lol;</sst>'
    data = zip_of({"xl/workbook.xml": b'<workbook xmlns="x"/>', "xl/sharedStrings.xml": bomb})
    assert verdict(data) == ("xlsx", "UNREADABLE")


def test_strict_ooxml_is_flagged():
    strict = b'<workbook xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"><sheets/></workbook>'
    s = sniff(zip_of({"xl/workbook.xml": strict}), NAME, LIMITS)
    assert (s.kind, s.finding, s.strict_ooxml) == ("xlsx", None, True)
    assert sniff(xlsx_bytes(), NAME, LIMITS).strict_ooxml is False


# --- the acceptance: a 1.5 GB sheet in 1.5 MB -------------------------------------------

def _bomb_xlsx(path: Path, inflated: int = 1_500_000_000) -> None:
    """A valid zip whose sheet inflates to 1.5 GB, written in ~2 s.

    One 1 MiB chunk of sheet XML is deflated once with a full flush (no references across it) and
    its compressed bytes repeated; only the CRC has to be run over the whole 1.5 GB."""
    row = b"<row>" + b"<c><v>1</v></c>" * 64 + b"</row>"
    chunk = row + b" " * (2**20 - len(row))
    head = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<dimension ref="A1:XFD1048576"/><sheetData>')
    tail = b"</sheetData></worksheet>"
    repeats = inflated // len(chunk)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    last = deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + repeats * len(chunk) + len(tail)
    csize = len(first) + repeats * len(block) + len(last)

    small = {
        "[Content_Types].xml": b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                       b'<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org/'
                       b'officeDocument/2006/relationships/officeDocument"/></Relationships>',
        "xl/workbook.xml": b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                           b'<sheets><sheet name="S" sheetId="1"/></sheets></workbook>',
    }
    central = []
    with path.open("wb") as f:
        for name, data in small.items():  # stored
            offset, encoded = f.tell(), name.encode()
            f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, zlib.crc32(data), len(data),
                                len(data), len(encoded), 0) + encoded + data)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0x21, zlib.crc32(data),
                                       len(data), len(data), len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        offset, encoded = f.tell(), b"xl/worksheets/sheet1.xml"
        extra = struct.pack("<HHQQ", 1, 16, size, csize)  # zip64: the sizes do not fit 32 bits
        f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                            len(encoded), len(extra)) + encoded + extra)
        f.write(first)
        for _ in range(repeats):
            f.write(block)
        f.write(last)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(encoded), len(extra), 0, 0, 0, 0, offset) + encoded + extra)
        start = f.tell()
        directory = b"".join(central)
        f.write(directory)
        f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(directory), start, 0))


MEASURE = """
import json, resource, sys, zlib
from pathlib import Path
inflated = [0]
real_decompressobj, real_decompress = zlib.decompressobj, zlib.decompress

class Counting:
    def __init__(self, *args):
        self.inner = real_decompressobj(*args)
    def decompress(self, raw, max_length=0):
        out = self.inner.decompress(raw, max_length)
        inflated[0] += len(out)
        return out
    def flush(self, *args):
        out = self.inner.flush(*args)
        inflated[0] += len(out)
        return out
    def __getattr__(self, name):
        return getattr(self.inner, name)

def counting_decompress(*args, **kwargs):
    out = real_decompress(*args, **kwargs)
    inflated[0] += len(out)
    return out

zlib.decompressobj, zlib.decompress = Counting, counting_decompress
from pipeline.core.settings import load_settings
from pipeline.read.sniff import sniff
limits = load_settings(Path("reference")).limits
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = sniff(Path(sys.argv[1]), "bomb.xlsx", limits)
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"code": s.finding and s.finding.code, "message": s.finding and s.finding.message,
                  "inflated": inflated[0], "grew_mb": grew / 1024}, ensure_ascii=False))
"""


def test_a_1_5_gb_sheet_in_1_5_mb_is_too_large_without_being_inflated(tmp_path):
    import json
    path = tmp_path / "bomb.xlsx"
    _bomb_xlsx(path)
    assert path.stat().st_size < 2_000_000
    with zipfile.ZipFile(path) as z:  # a real zip: the stdlib reads its directory and starts inflating it
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 1_400_000_000
        assert z.open("xl/worksheets/sheet1.xml").read(100).startswith(b"<worksheet")
    # a fresh process, so that its peak RSS is the sniff's own and every byte it inflates is counted
    run = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    result = json.loads(run.stdout)
    assert result["code"] == "TOO_LARGE"
    assert "1.5 GB" in result["message"] and "200 MB" in result["message"]
    assert result["inflated"] < 2**20   # judged by the zip directory's sizes: not a megabyte of the sheet read
    assert result["grew_mb"] < 200


# --- the foreign corpus --------------------------------------------------------------------------

def corpus_rows():
    if not CORPUS.is_dir():
        return []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.slow
@needs_corpus
def test_every_corpus_file_is_sniffed_and_never_raises():
    from collections import Counter
    summary = Counter()
    for row in corpus_rows():
        s = sniff(CORPUS / row["file"], Path(row["file"]).name, LIMITS)
        summary[(s.kind or "-", s.finding.code if s.finding else "ok")] += 1
    print("\nkind   verdict     files")
    for (kind, code), n in sorted(summary.items()):
        print(f"{kind:6} {code:11} {n:5}")
    assert sum(summary.values()) == 574


ENCRYPTED_IN_CORPUS = [r["file"] for r in corpus_rows()
                       if "encrypted" in r["note"] or "password-protected" in r["note"]]


@needs_corpus
@pytest.mark.parametrize("file", ENCRYPTED_IN_CORPUS)
def test_known_encrypted_corpus_files_are_encrypted(file):
    assert verdict(CORPUS / file, Path(file).name)[1] == "ENCRYPTED"


@needs_corpus
@pytest.mark.parametrize("file, expected", [
    ("tafia__calamine/strict_iso_paths.xlsx", ("xlsx", None)),
    ("apache__poi/poc-xmlbomb.xlsx", ("xlsx", "UNREADABLE")),
    ("dimastbk__python-calamine/empty_file.xlsx", (None, "UNREADABLE")),
    ("tafia__calamine/too_small.xls", (None, "UNREADABLE")),
    ("theorchard__openpyxl/null_archive.xlsx", (None, "UNREADABLE")),
    ("apache__poi/testEXCEL_4.xls", ("xls", None)),          # raw BIFF4: xlrd reads it, calamine does not
    ("SheetJS__test_files/wtf_path.xlsx", ("xlsx", None)),   # workbook at wtf/workbook.xml
    ("tafia__calamine/issue_530.xlsx", ("xlsx", None)),      # member names with backslashes
    ("SheetJS__test_files/apachepoi_workbookProtection_not_protected.xlsx.xlsb", ("xlsb", None)),
    ("apache__poi/workbookProtection-workbook_password-2013.xlsx", ("xlsx", None)),  # protection is no password
])
def test_corpus_files_of_note(file, expected):
    assert verdict(CORPUS / file, Path(file).name) == expected


def test_a_zip_member_with_an_empty_name_is_unreadable_not_a_crash():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("xl/workbook.xml"), b"<workbook/>")
    data = out.getvalue().replace(b"xl/workbook.xml", b"\0l/workbook.xml")   # zipfile cuts the name at NUL
    assert verdict(data) == (None, "UNREADABLE")


def test_an_xml_part_in_an_unknown_encoding_is_judged_not_a_crash():
    rels = (b'<?xml version="1.0" encoding="xUTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"></Relationships>')
    data = zip_of({"_rels/.rels": rels, "xl/workbook.xml": b"<workbook/>"})
    assert verdict(data)[1] in ("UNREADABLE", None)   # a verdict, whatever it is, not an exception
