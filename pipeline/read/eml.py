"""Saved e-mails (.eml): who sent them, when, and the spreadsheets attached (docs/runs.md, Intake).

Attachment names arrive as RFC 2047 encoded words (GBK, GB2312, UTF-8), RFC 2231 parameters
(`filename*=GB18030''...`) or raw 8-bit GBK/UTF-8 bytes from older Chinese mail clients; the
stdlib's `policy.default` handles the first two, and the raw bytes are recovered here. Names are
returned as sent: callers pass them through `safety.safe_name` before using them as file names.
"""
from __future__ import annotations

import email
import email.errors
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from pathlib import PurePosixPath

from pipeline.core.settings import defaults
from pipeline.read.sniff import CFB_MAGIC, ZIP_MAGICS, sniff

SHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
OTHER_OFFICE = {".doc", ".docx", ".ppt", ".pptx", ".odt", ".odp", ".msg", ".pdf", ".zip", ".rar", ".7z"}
SUFFIX_FOR_KIND = {"xlsx": ".xlsx", "xlsb": ".xlsb", "xls": ".xls", "ods": ".ods"}
# Chinese clients label GBK text "gb2312"; GB18030 decodes both, and more
CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
                   "euc-cn": "gb18030", "hz-gb-2312": "hz"}
# what the stdlib parser raises on malformed headers and payloads instead of registering a defect
PARSE_ERRORS = (email.errors.MessageError, ValueError, LookupError, IndexError, TypeError,
                AttributeError, UnicodeError)


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    subject: str
    sender: str
    date: datetime | None
    attachments: tuple[Attachment, ...]
    reason: str | None = None         # why no workbook was taken from it, said in its receipt
    others: tuple[Attachment, ...] = ()   # those attachments (情况说明.docx, a scanned letter): archived, listed
    body: str = ""                    # the message's own text (plain text, else its HTML's text), trimmed


def is_mail(name: str) -> bool:
    """A saved e-mail, by its name: intake, check and their tests decide it the same way."""
    return name.lower().endswith(".eml")


NO_WORKBOOK = "邮件中没有 Excel 或 WPS 表格附件"


def read_eml(data: bytes, limits: dict | None = None) -> Mail:
    """An e-mail's sender, date, subject, text and attachments: the workbooks among them judged as
    sniff judges any file (within `limits`, the settings' [limits])."""
    try:
        message = email.message_from_bytes(data, policy=policy.default)
        subject = _header_text(message, "subject")
        sender = _header_text(message, "from")
        date = _date(message)
    except PARSE_ERRORS as error:
        return Mail("", "", None, (), reason=f"邮件无法解析（{type(error).__name__}）")
    attachments, others, texts, problems = [], [], [], []
    _collect(message, attachments, others, texts, problems, limits or defaults("limits"))
    reason = None
    if not attachments:
        reason = "；".join(problems) if problems else NO_WORKBOOK
    return Mail(subject, sender, date, tuple(attachments), reason, tuple(others), _body(texts))


BODY_CHARS = 2000   # of an e-mail's text kept beside its forms


def _body(texts: list[tuple[str, str]]) -> str:
    """The message's text: its first plain-text part, else its first HTML part without the tags;
    blank lines and quoted replies dropped, at most BODY_CHARS."""
    plain = [t for kind, t in texts if kind == "plain"] or [re.sub(r"<[^>]*>", " ", t) for kind, t in texts]
    if not plain:
        return ""
    import html
    lines = [" ".join(line.split()) for line in html.unescape(plain[0]).splitlines()]
    text = "\n".join(line for line in lines if line and not line.startswith(">"))
    return text[:BODY_CHARS]


def _collect(message: EmailMessage, attachments: list, others: list, texts: list, problems: list, limits: dict) -> None:
    for part in message.walk():  # walk() also enters forwarded messages (message/rfc822)
        try:
            if part.is_multipart():
                continue
            data = part.get_payload(decode=True)
            name = _filename(part)
            if name is None and part.get_content_maintype() == "text" and part.get_content_subtype() in ("plain", "html"):
                texts.append((part.get_content_subtype(), _text_of(part, data)))
                continue
            if not data or (name is None and part.get_content_maintype() == "text"):
                continue
            kind = _spreadsheet_kind(name or "", data, limits)
            if kind is None:
                if name:
                    others.append(Attachment(name, data))
                continue
            if not name:
                name = f"附件{len(attachments) + 1}{SUFFIX_FOR_KIND.get(kind, '')}"
            attachments.append(Attachment(name, data))
        except PARSE_ERRORS as error:
            problems.append(f"一个附件无法解析（{type(error).__name__}）")


def _text_of(part: EmailMessage, data: bytes | None) -> str:
    """A text part's text, GBK labelled gb2312 read as GB18030, a wrong label read as best it can."""
    if not data:
        return ""
    charset = (part.get_content_charset() or "utf-8").lower()
    for candidate in (CHARSET_ALIASES.get(charset, charset), "utf-8", "gb18030"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def _spreadsheet_kind(name: str, data: bytes, limits: dict) -> str | None:
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix in SHEET_SUFFIXES:
        return suffix[1:]
    if suffix in OTHER_OFFICE or not data.startswith((CFB_MAGIC,) + ZIP_MAGICS):
        return None
    sniffed = sniff(data, name or "附件", {**limits, "file_bytes": len(data)})
    if sniffed.kind:
        return sniffed.kind
    if sniffed.finding is not None and sniffed.finding.code in ("ENCRYPTED", "TOO_LARGE"):
        return "unknown"
    return None


def _filename(part: EmailMessage) -> str | None:
    name = part.get_filename()
    if name and "\ufffd" not in name and "=?" not in name:
        return name.strip()
    # raw 8-bit bytes, or a charset label that lies (GBK text labelled gb2312): decode it ourselves
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header)
        if raw is None:
            continue
        legacy = Message()
        legacy[header] = _decode_8bit(raw)
        value = legacy.get_param(param, header=header)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, text as latin-1)
            charset = CHARSET_ALIASES.get((value[0] or "utf-8").lower(), value[0] or "utf-8")
            try:
                return bytes(value[2], "raw-unicode-escape").decode(charset).strip()
            except (LookupError, UnicodeError):
                return bytes(value[2], "raw-unicode-escape").decode("gb18030", "replace").strip()
        if value:
            return _decode_words(email.utils.unquote(value)).strip()
    return name.strip() if name else None


def _header_text(message: EmailMessage, header: str) -> str:
    raw = _raw_header(message, header)
    if raw is None:
        return ""
    try:
        text = str(message[header])
    except PARSE_ERRORS:
        text = "\ufffd"
    if "\ufffd" in text or "=?" in text:
        text = _decode_words(_decode_8bit(raw))
    return " ".join(text.split())


def _date(message: EmailMessage) -> datetime | None:
    raw = _raw_header(message, "date")
    if raw is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(_decode_8bit(raw).strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # "-0000": UTC, zone unknown


def _raw_header(message: EmailMessage, header: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == header:
            return str(value)
    return None


def _decode_8bit(raw: str) -> str:
    """Header text as parsed from bytes keeps unknown bytes as surrogates: decode them as UTF-8 or GBK."""
    data = raw.encode("ascii", "surrogateescape")
    for charset in ("utf-8", "gb18030"):
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def _decode_words(text: str) -> str:
    """RFC 2047 encoded words, with GB2312/GBK labels read as GB18030 (clients mislabel GBK text)."""
    text = re.sub(r"(\?=)\s+(=\?)", r"\1\2", text)  # whitespace between encoded words is not text
    out = []
    for chunk, charset in decode_header(text):
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        if charset is None:  # decode_header's encoding of the text between encoded words
            out.append(chunk.decode("raw-unicode-escape"))
            continue
        charset = CHARSET_ALIASES.get(charset.lower(), charset)
        try:
            out.append(chunk.decode(charset))
        except (LookupError, UnicodeDecodeError):
            out.append(chunk.decode("gb18030", "replace"))
    return "".join(out)
