"""Docs that cannot drift: generated from the code, and checked against it."""
import tomllib

from pipeline.cli.parser import cli_markdown
from pipeline.core.findings import CODES, catalogue_markdown
from pipeline.core.settings import SETTINGS, settings_markdown

from conftest import REFERENCE, ROOT

DOCS = ROOT / "docs"


def test_findings_catalogue_is_generated_from_the_code_list():
    assert (DOCS / "findings.md").read_text(encoding="utf-8") == catalogue_markdown()
    for code in CODES:
        assert f"`{code}`" in catalogue_markdown()


def test_every_code_of_the_spec_exists():
    spec = {"UNREADABLE", "ENCRYPTED", "TOO_LARGE", "NO_FORM", "NO_UNIT", "UNKNOWN_UNIT", "NO_PERIOD",
            "FUTURE_PERIOD", "UNIT_CONFLICT", "PERIOD_CONFLICT", "MISSING_INDUSTRY", "UNKNOWN_INDUSTRY",
            "DUPLICATE_INDUSTRY", "MISSING_COLUMN", "NOT_A_NUMBER", "NOT_INTEGER", "NEGATIVE",
            "FORMULA_NOT_CACHED", "TOTAL_MISMATCH", "CUMULATIVE_LT_MONTH", "TOTAL_MISSING",
            "UNIT_FROM_FILENAME", "PERIOD_FROM_FILENAME", "EMPTY_REPORT", "CUMULATIVE_GAP",
            "CUMULATIVE_DECREASE", "LATE", "SAME_AS_OTHER_UNIT", "DUPLICATE_FILE"}
    spec |= {"REG_BAD_CODE", "REG_DUPLICATE", "REG_UNKNOWN_UNIT", "REG_BAD_INDUSTRY", "REG_BAD_VALUE",   # docs/register.md
             "REG_MISSING", "REG_BAD_DATE", "REG_NO_CERT_NUMBER", "REG_UNKNOWN_ENTERPRISE", "RECONCILE_MISMATCH",
             "REG_NO_TABLE"}   # the register as a whole unusable (no header, a required column missing)
    ambiguity = {"TWO_PERIODS", "AMBIGUOUS_COLUMN", "SECOND_FORM", "TEXT_NUMBER"}   # never a reading chosen
    mail = {"SENDER_NOT_REGISTERED"}   # docs/mail.md
    closing = {"PERIOD_CLOSED", "OUTLIER"}   # closed quarters, implausible figures
    resent = {"RESENT_UNCHANGED"}   # a counted month sent again unchanged is not counted (nor late) again
    assert set(CODES) == spec | ambiguity | mail | closing | resent


def test_settings_are_documented_and_the_shipped_file_uses_only_known_ones():
    assert (DOCS / "settings.md").read_text(encoding="utf-8") == settings_markdown()
    shipped = tomllib.loads((REFERENCE / "settings.toml").read_text(encoding="utf-8"))
    for section, keys in shipped.items():
        assert section in SETTINGS
        if section != "targets":
            assert set(keys) <= set(SETTINGS[section]), section


def test_cli_doc_is_current():
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_markdown()


def test_readme_starts_with_the_two_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert head.index("make demo") < head.index("make test")
