"""Who may report for a unit by e-mail: the optional `邮箱` column of `reference/units.csv` (docs/mail.md).

Each unit lists the addresses it reports from, `;`-separated: a whole address (`hz@example.cn`) or
a domain (`@houzhai.gov.cn`, any address there). Reminders go to the whole addresses. A form for a
unit that lists addresses, sent from one it does not list, gets SENDER_NOT_REGISTERED (a warning:
the form still counts).
"""
from __future__ import annotations

import csv
import email.utils
from pathlib import Path

from pipeline.core.findings import Finding, finding

COLUMN = "邮箱"


def load_senders(reference: Path) -> dict[str, tuple[str, ...]]:
    """unit -> its addresses and domains, lower-cased; units with none are left out."""
    path = Path(reference) / "units.csv"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if COLUMN not in (reader.fieldnames or ()):
            return {}
        out = {}
        for row in reader:
            listed = tuple(a.strip().lower() for a in (row.get(COLUMN) or "").replace("；", ";").split(";") if a.strip())
            if listed and (row.get("单位") or "").strip():
                out[row["单位"].strip()] = listed
    return out


def is_registered(address: str, listed: tuple[str, ...]) -> bool:
    address = address.lower()
    domain = "@" + address.rpartition("@")[2]
    return any(address == entry or (entry.startswith("@") and domain == entry) for entry in listed)


def mailable(listed: tuple[str, ...]) -> list[str]:
    """The whole addresses of a unit's list (a domain cannot be written to)."""
    return [a for a in listed if not a.startswith("@") and "@" in a]


def sender_finding(unit: str | None, address: str | None, senders: dict) -> Finding | None:
    """SENDER_NOT_REGISTERED for a form of `unit` sent from `address`, when the unit lists others."""
    listed = senders.get(unit) if unit else None
    if not listed or not address or is_registered(address, listed):
        return None
    return finding("SENDER_NOT_REGISTERED", None, value=address, expected="；".join(listed), unit=unit)


def address_of(header_value: str) -> str | None:
    """The first address of a From / Reply-To header's text, lower-cased; None when there is none."""
    for _name, addr in email.utils.getaddresses([header_value or ""]):
        if "@" in addr:
            return addr.strip().lower()
    return None
