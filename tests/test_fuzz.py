"""Fuzzing: mutated workbooks (bytes, zip members, XML) always get a verdict, never an exception."""
import io
import os
import zipfile

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipeline.check.check import check_files
from pipeline.core.findings import CODES

from conftest import NOW, form_cells, write_book

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')


def base_workbook(tmp_path_factory=None) -> bytes:
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        return write_book(Path(d) / "f.xlsx", form_cells()).read_bytes()


BASE = base_workbook()
MEMBERS = zipfile.ZipFile(io.BytesIO(BASE)).namelist()


def flip_bytes(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for pos, value in edits:
        b[pos % len(b)] = value
    return bytes(b)


def rewrite_member(data: bytes, member: str, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info.filename, change(content) if info.filename == member else content)
    return out.getvalue()


mutation = st.one_of(
    st.lists(st.tuples(st.integers(0, len(BASE)), st.integers(0, 255)), min_size=1, max_size=20)
    .map(lambda edits: flip_bytes(BASE, edits)),
    st.integers(0, len(BASE)).map(lambda n: BASE[:n]),
    st.tuples(st.sampled_from(MEMBERS), st.integers(0, 5000), st.integers(0, 200), st.binary(max_size=40))
    .map(lambda t: rewrite_member(BASE, t[0], lambda c: c[:t[1]] + t[3] + c[t[1] + t[2]:])),
    st.sampled_from(MEMBERS).map(lambda m: rewrite_member(BASE, m, lambda c: BILLION_LAUGHS + c.split(b"?>", 1)[-1])),
    st.tuples(st.sampled_from([b"<v>", b"<f>", b"<c ", b"<row ", b'r="', b"<sheetData>"]), st.binary(max_size=12))
    .map(lambda t: rewrite_member(BASE, "xl/worksheets/sheet1.xml", lambda c: c.replace(t[0], t[0] + t[1], 3))),
)


@hsettings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 60)), deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_workbooks_always_get_a_verdict(tmp_path, units, settings, batch):
    paths = []
    for k, data in enumerate(batch):
        p = tmp_path / f"侯寨乡_2016年9月_{k}.xlsx"
        p.write_bytes(data)
        paths.append((p, p.name))
    results = check_files(paths, units, settings, now=NOW)
    assert len(results) == len(batch)
    for r in results:
        assert r.submissions
        for s in r.submissions:
            assert s.status in ("accepted", "rejected")
            assert all(f.code in CODES and f.message for f in s.findings)
            if s.status == "accepted":
                assert len(s.rows) == 24
