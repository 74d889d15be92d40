"""What a received file is, and whether it may be parsed, decided before anything is parsed in full.

A file is judged by its bytes, never by its name (docs/form.md §2): an Excel 97 file named `.xlsx` is
"xls". Sizes come from `stat` and from the zip central directory; of each zip member at most a few
KB are inflated (`inflated` reads whole members, for the marked copy of a file sniff has let
through). The declared uncompressed sizes are what Python's zipfile enforces while reading (it stops
at `file_size` and fails the CRC beyond it), so they are a real bound for openpyxl, not only a claim;
a member whose compressed size exceeds its declared size is rejected as a lie.

Ordinary files take a fast road that reaches the same verdict: the central directory is read with
`struct` when it is plain (else by zipfile), and a plain `.rels` part or workbook start tag is read with
regexes over bytes, which cannot expand entities (else by defusedxml). "Plain" is a narrow grammar that
expat reads the same way; anything outside it takes the careful road.

Cells are judged by real content: the uncompressed size of the sheet parts (a cell takes at least
~16 bytes of sheet XML). A declared `<dimension>` is only quoted in the message: calamine's
issue_174.xlsx declares the whole sheet around 49,000 real cells and must be read.
"""
from __future__ import annotations

import functools
import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import olefile

from pipeline.core.findings import Finding, finding
from pipeline.core.ooxml import (
    ATTRIBUTE,
    CHARACTER,
    DECLARATION,
    VALUE,
    has_dtd,
    member_start,
    peek,
    plain_directory,
    relationships,
    xml_starts,
)

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
BIFF_BOFS = {0x0009, 0x0209, 0x0409, 0x0809}  # raw BIFF2-4 files (not in a CFB); xlrd reads them
FILEPASS, EOF_RECORD = 0x002F, 0x000A
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"

MAX_MEMBERS = 10_000
MAX_RATIO = 200          # inflated/compressed, for members over RATIO_FLOOR bytes
RATIO_FLOOR = 1_000_000
PEEK_BYTES = 16_384      # inflated from the start of a member, at most
BYTES_PER_CELL = {"xlsx": 16, "xlsb": 8, "ods": 16}
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, struct.error, IndexError,
              NotImplementedError, UnicodeDecodeError, zlib.error, KeyError)
CFB_ERRORS = (OSError, ValueError, IndexError, struct.error, EOFError, KeyError, TypeError, OverflowError)

PREFIX = rb"(?![xX][mM][lL])[A-Za-z_][\w.-]*"  # expat reserves xml and xmlns: leave all xml* to it
PLAIN_ROOT = re.compile(  # only namespace declarations (a prefix bound to a URI, not unbound) and two attributes
    DECLARATION + rb"<(?:(" + PREFIX + rb"):)?workbook((?:[ \t\r\n]+(?:xmlns:" + PREFIX + rb'="' + CHARACTER
    + rb'+"|(?:xmlns|mc:Ignorable|conformance)=' + VALUE + rb"))*)[ \t\r\n]*/?>")
RESERVED_NS = {b"http://www.w3.org/XML/1998/namespace", b"http://www.w3.org/2000/xmlns/"}


@dataclass(frozen=True)
class Sniffed:
    kind: str | None            # "xlsx" (also xlsm/xltx), "xlsb", "xls", "ods"; None: not a spreadsheet
    finding: Finding | None = None
    strict_ooxml: bool = False


def sniff(data_or_path: bytes | Path, name: str, limits: dict) -> Sniffed:
    """Pass the bytes when the caller has them already; a Path is read whole once it passed `stat`."""
    in_memory = isinstance(data_or_path, (bytes, bytearray, memoryview))
    size = len(data_or_path) if in_memory else Path(data_or_path).stat().st_size
    if size > limits["file_bytes"]:
        return Sniffed(None, finding("TOO_LARGE", file=name, detail=f"有 {human(size)}",
                                     limit=human(limits["file_bytes"])))
    if size == 0:
        return _unreadable(name, "文件为空（0 字节）")
    data = bytes(data_or_path) if in_memory else Path(data_or_path).read_bytes()
    if data.startswith(ZIP_MAGICS):
        return _zip(data, name, limits)
    if data.startswith(CFB_MAGIC):
        return _cfb(io.BytesIO(data), name)
    head = data[:512]
    if len(head) >= 4 and struct.unpack("<HH", head[:4])[0] in BIFF_BOFS and head[2] in (4, 6, 8, 16):
        return Sniffed("xls")
    return _unreadable(name, _what_else(head))


def human(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} 字节"


def _unreadable(name: str, detail: str, kind: str | None = None) -> Sniffed:
    return Sniffed(kind, finding("UNREADABLE", file=name, detail=detail))


def _what_else(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n\x00").lower().replace(b"\x00", b"")
    if text.startswith(b"%pdf"):
        return "是 PDF 文件，不是电子表格"
    if text.startswith((b"rar!", b"7z\xbc\xaf", b"\x1f\x8b")):
        return "是压缩包（rar/7z/gz），不是电子表格"
    if text.startswith(b"{\\rtf"):
        return "是 RTF 文档，不是电子表格"
    if text.startswith(b"<"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in text:
            return "是 Excel 2003 XML 表格，请另存为 .xlsx"
        if re.search(rb"<(html|table|head|body|meta|!doctype html)", text):
            return "是网页（HTML）文件改了扩展名，不是电子表格"
        return "是 XML 文本，不是电子表格"
    for encoding in ("utf-8", "gb18030"):
        try:
            decoded = head.decode(encoding)
        except UnicodeDecodeError:
            continue
        if all(c.isprintable() or c in "\t\r\n" for c in decoded[:-1]):
            return "是纯文本（如 CSV）文件改了扩展名，不是电子表格"
    return "文件格式无法识别，不是 Excel 或 WPS 表格"


# --- zip: xlsx / xlsm / xltx / xlsb / ods ------------------------------------------------------

class _Zip(NamedTuple):
    data: bytes
    archive: zipfile.ZipFile | None  # opened only when the directory is not plain; it inflates bzip2/lzma

    def peek(self, info, cap: int = PEEK_BYTES) -> bytes:
        return peek(self.data, info, cap, self.archive)


def _zip(data: bytes, name: str, limits: dict) -> Sniffed:
    try:
        members = plain_directory(data)
        if members is not None:
            return _zip_members(_Zip(data, None), members, name, limits)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _zip_members(_Zip(data, archive), archive.infolist(), name, limits)
    except ZIP_ERRORS:
        return _unreadable(name, "压缩包结构损坏或文件不完整（可能下载或拷贝时被截断）")


def _zip_members(z: _Zip, infos: list, name: str, limits: dict) -> Sniffed:
    infos = [i for i in infos if not i.is_dir()]
    too_large = _too_large(infos, name, limits)
    if too_large:
        return too_large
    if not infos:
        return _unreadable(name, "压缩包是空的")
    if any(i.flag_bits & 0x1 for i in infos):
        return Sniffed(None, finding("ENCRYPTED", file=name))
    names = {i.filename.replace("\\", "/").lower(): i for i in infos}
    if "mimetype" in names or "content.xml" in names:
        return _ods(z, names, name)
    return _ooxml(z, names, name, limits)


def _too_large(infos, name: str, limits: dict) -> Sniffed | None:
    def reject(detail, limit):
        return Sniffed(None, finding("TOO_LARGE", file=name, detail=detail, limit=limit))
    if len(infos) > MAX_MEMBERS:
        return reject(f"含 {len(infos)} 个压缩成员", f"{MAX_MEMBERS} 个")
    total = sum(i.file_size for i in infos)
    if total > limits["uncompressed_bytes"]:
        return reject(f"解压后约 {human(total)}", human(limits["uncompressed_bytes"]))
    for i in infos:
        if i.file_size > limits["member_bytes"]:
            return reject(f"中的“{i.filename}”解压后约 {human(i.file_size)}", human(limits["member_bytes"]))
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            return reject(f"中的“{i.filename}”压缩比约 {i.file_size // max(i.compress_size, 1)} 倍，疑似压缩炸弹",
                          f"{MAX_RATIO} 倍")
        # deflate never grows data by more than ~0.1 %: a bigger compressed size means the
        # declared size is a lie, and the declared size is what the readers trust
        if i.compress_type == zipfile.ZIP_DEFLATED and i.compress_size > i.file_size * 1.01 + 1024:
            return Sniffed(None, finding("UNREADABLE", file=name,
                                         detail=f"压缩成员“{i.filename}”声明的大小与内容不符"))
    return None


def _stored_plainly(z: _Zip, info) -> bool:
    """A stored member whose local header is sound and whose first 2 KB hold no "!": `_peek` would
    give those bytes and `has_dtd` say no, without the copy."""
    if info.compress_type != zipfile.ZIP_STORED:
        return False
    start = member_start(z.data, info.header_offset)
    return start is not None and z.data.find(b"!", start, start + min(2048, info.compress_size)) < 0


def _ods(z: _Zip, names: dict, name: str) -> Sniffed:
    mime = z.peek(names["mimetype"], 200).strip() if "mimetype" in names else b""
    manifest = names.get("meta-inf/manifest.xml")
    manifest_xml = z.peek(manifest, 1_000_000) if manifest else b""
    if has_dtd(manifest_xml):
        return _unreadable(name, "清单文件含有 DTD 或实体定义（疑似 XML 炸弹）", "ods")
    if not mime:
        for element in xml_starts(manifest_xml):
            if element.tag.endswith("file-entry") and any(v == "/" for v in element.attrib.values()):
                mime = next((v for k, v in element.attrib.items() if k.endswith("media-type")), "").encode()
                break
    if not mime.startswith(ODS_MIME):
        what = mime.decode("ascii", "replace") or "未知"
        return _unreadable(name, f"是 OpenDocument 文件（{what}），不是电子表格")
    if any(e.tag.endswith("encryption-data") for e in xml_starts(manifest_xml)):
        return Sniffed("ods", finding("ENCRYPTED", file=name))
    content = names.get("content.xml")
    if content is None:
        return _unreadable(name, "OpenDocument 表格中缺少 content.xml", "ods")
    return Sniffed("ods")


def _ooxml(z: _Zip, names: dict, name: str, limits: dict) -> Sniffed:
    target = _office_document(z, names)
    if target is None:
        if any(n.startswith(("word/", "ppt/")) for n in names):
            return _unreadable(name, "是 Word 或 PowerPoint 文件，不是电子表格")
        return _unreadable(name, "压缩包中没有工作簿（xl/workbook.xml），不是 Excel 文件")
    kind = "xlsb" if target.endswith(".bin") else "xlsx"
    strict = False
    if kind == "xlsx":
        head = z.peek(names[target])
        if has_dtd(head):
            return _unreadable(name, "工作簿含有 DTD 或实体定义（疑似 XML 炸弹）", kind)
        root = _root_tag(head)
        if root is None or not root.endswith("workbook"):
            return _unreadable(name, "主文档不是工作簿（可能是 Word 或 PowerPoint 文件）")
        strict = root.startswith("{" + STRICT_NS + "}")
        if sum(i.file_size for i in names.values()) // BYTES_PER_CELL[kind] <= limits["cells"]:
            # Too small to hold more cells than allowed: no need to find the sheets; only make sure
            # no XML part declares a DTD (the usual case, and ~3x cheaper).
            for lowered, part in names.items():
                if lowered.endswith((".xml", ".rels")) and not _stored_plainly(z, part) \
                        and has_dtd(z.peek(part, 2048)):
                    return Sniffed(kind, finding("UNREADABLE", file=name,
                                                 detail=f"“{part.filename}”含有 DTD 或实体定义（疑似 XML 炸弹）"), strict)
            return Sniffed(kind, None, strict)
    sheets = _sheets(z, names, target)
    for part in [names.get(posixpath.join(posixpath.dirname(target), "sharedstrings.xml"))] + sheets:
        if part is not None and kind == "xlsx" and has_dtd(z.peek(part, 2048)):
            return Sniffed(kind, finding("UNREADABLE", file=name,
                                         detail=f"“{part.filename}”含有 DTD 或实体定义（疑似 XML 炸弹）"), strict)
    size = sum(i.file_size for i in sheets)
    cells = sum(_cells(z, i, kind) for i in sheets)
    if cells > limits["cells"]:
        declared = [_dimension(z, i) for i in sheets] if kind == "xlsx" else []
        hint = "，声明范围 " + "、".join(d for d in declared if d) if any(declared) else ""
        detail = f"的工作表解压后约 {human(size)}，估计约 {cells:,} 个单元格{hint}"
        return Sniffed(kind, finding("TOO_LARGE", file=name, detail=detail,
                                     limit=f"{limits['cells']:,} 个单元格"), strict)
    return Sniffed(kind, None, strict)


def _office_document(z: _Zip, names: dict) -> str | None:
    """The main part named by _rels/.rels (strict OOXML uses other relationship URIs)."""
    for element in _rels(z, names, "_rels/.rels"):
        if element.get("Type", "").endswith("/officeDocument"):
            target = element.get("Target", "").replace("\\", "/").lstrip("/").lower()
            if target in names:
                return target
    for fallback in ("xl/workbook.xml", "xl/workbook.bin"):
        if fallback in names:
            return fallback
    return None


def _rels(z: _Zip, names: dict, part: str) -> tuple:
    info = names.get(part)
    return relationships(z.peek(info, 256_000) if info else b"")


def _root_tag(head: bytes) -> str | None:
    return _small_root_tag(head) if len(head) <= 4096 else _read_root_tag(head)


@functools.lru_cache(maxsize=256)   # and often the same workbook part
def _small_root_tag(head: bytes) -> str | None:
    return _read_root_tag(head)


def _read_root_tag(head: bytes) -> str | None:
    """The root element's tag as ElementTree spells it ("{namespace}workbook"); None if it does not parse.

    Only the start tag decides (expat reports it before reading on). A plain one, declaring namespaces
    in a way expat accepts, is read here; anything else goes to defusedxml."""
    plain = PLAIN_ROOT.match(head)
    if plain:
        pairs = ATTRIBUTE.findall(plain[2])
        attributes = dict(pairs)
        declared = {name[6:]: uri for name, uri in pairs if name.startswith(b"xmlns")}  # b"": the default
        prefix = plain[1] or b""
        if (len(attributes) == len(pairs) and RESERVED_NS.isdisjoint(declared.values())
                and (not prefix or prefix in declared) and (b"mc:Ignorable" not in attributes or b"mc" in declared)):
            uri = declared.get(prefix, b"").decode()
            return "{" + uri + "}workbook" if uri else "workbook"
    root = next(xml_starts(head), None)
    return None if root is None else root.tag


def _sheets(z: _Zip, names: dict, workbook: str) -> list:
    folder, base = posixpath.split(workbook)
    found = []
    for element in _rels(z, names, posixpath.join(folder, "_rels", base + ".rels")):
        if element.get("Type", "").endswith("/worksheet"):
            target = element.get("Target", "").replace("\\", "/").lower()
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            if path in names:
                found.append(names[path])
    if not found:  # relationships missing or broken: count what sits where sheets usually are
        prefix = posixpath.join(folder, "worksheets/")
        found = [i for n, i in names.items() if n.startswith(prefix) and n.endswith((".xml", ".bin"))]
    return found


def _cells(z: _Zip, info, kind: str) -> int:
    """Cells a sheet part can hold: its size over the bytes per cell seen in its first rows.

    The floor keeps a sheet of tiny cells from hiding behind a few big ones at its start."""
    per_cell = BYTES_PER_CELL[kind]
    if kind == "xlsx" and info.file_size > PEEK_BYTES:
        sample = z.peek(info)
        start = sample.find(b"<sheetData")
        seen = len(re.findall(rb"<(?:\w+:)?c[\s>/]", sample[start:])) if start >= 0 else 0
        if seen >= 16:
            per_cell = max(per_cell, (len(sample) - start) // seen)
    return info.file_size // per_cell


def _dimension(z: _Zip, info) -> str | None:
    for element in xml_starts(z.peek(info)):
        if element.tag.endswith("}dimension"):
            return element.get("ref")
        if element.tag.endswith("}sheetData"):
            return None
    return None


# --- CFB (OLE2): xls, or encrypted OOXML -------------------------------------------------------

def _cfb(f, name: str) -> Sniffed:
    try:
        ole = olefile.OleFileIO(f)
    except CFB_ERRORS:  # olefile's own OleFileError is an OSError
        return _unreadable(name, "OLE 复合文件结构损坏")
    with ole:
        try:
            streams = {"/".join(p).lower(): "/".join(p) for p in ole.listdir(streams=True, storages=False)}
            if "encryptedpackage" in streams or "encryptioninfo" in streams:
                return Sniffed(None, finding("ENCRYPTED", file=name))
            book = streams.get("workbook") or streams.get("book")
            if book is None:
                if "worddocument" in streams or "powerpoint document" in streams:
                    return _unreadable(name, "是 Word 或 PowerPoint 文件，不是电子表格")
                return _unreadable(name, "OLE 复合文件中没有工作簿数据（不是 Excel 97-2003 文件）")
            data = ole.openstream(book).read(PEEK_BYTES)
        except CFB_ERRORS:
            return _unreadable(name, "OLE 复合文件结构损坏", "xls")
    if not data:
        return _unreadable(name, "工作簿数据为空", "xls")
    if _filepass(data):
        return Sniffed("xls", finding("ENCRYPTED", file=name))
    return Sniffed("xls")


def _filepass(biff: bytes, max_records: int = 64) -> bool:
    """FILEPASS follows BOF among the first records of the workbook globals (before BOUNDSHEET)."""
    offset = 0
    for _ in range(max_records):
        if offset + 4 > len(biff):
            return False
        kind, length = struct.unpack_from("<HH", biff, offset)
        if kind == FILEPASS:
            return True
        if kind == EOF_RECORD:
            return False
        offset += 4 + length
    return False
