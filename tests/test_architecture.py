"""The shape of the code (docs/design.md): stages as folders, imports only downward, no circle, the
check workers light."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pipeline"
# Each stage may import its own modules and those of the stages before it, never one after it.
LAYERS = ("core", "schemas", "store", "read", "check", "figures", "outputs", "jobs", "demo", "cli")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The pipeline modules `name` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pipeline.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("pipeline"):
            for alias in node.names:   # `from pipeline.outputs import pdf` names a module
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known and m != name and not (name.startswith(m + ".") or m == "pipeline")}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1] if len(parts) > 2 or parts[1] in LAYERS else "cli")


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def test_each_stage_imports_only_the_stages_before_it():
    upward = sorted(f"{a} -> {b}" for a, deps in graph().items() for b in deps if layer(b) > layer(a))
    assert upward == []


def test_no_import_circle():
    edges, circles, state = graph(), [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_the_check_workers_load_no_pandas_numpy_or_openpyxl(tmp_path):
    """A worker that has checked a real form (through the CLI's imports, as `python -m pipeline`
    starts them) holds none of the heavy libraries: a worker starts in a fraction of a second."""
    from pipeline.demo.samples import write_sample
    form = write_sample(tmp_path / "侯寨乡_2016年9月.xlsx", "侯寨乡", "2016-09", {("机械", 3): (1, 4, 2)}, "canonical")
    got = subprocess.run([sys.executable, str(ROOT / "tests" / "workerprobe.py"), str(form)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert got.returncode == 0, got.stderr
    status, heavy = json.loads(got.stdout.strip().splitlines()[-1])
    assert status == "accepted"
    assert heavy == []
