"""Reading what a PDF says and how it looks, for the tests of the printed outputs (poppler-utils)."""
from __future__ import annotations

import glob
import subprocess
from pathlib import Path

from pipeline.outputs.pdf import TIMEOUT, _tool


def pdf_text(pdf: Path, first: int | None = None, last: int | None = None, raw: bool = True) -> str:
    """The text of `pdf` (pages `first`..`last`, from 1) as `pdftotext` reads it; `raw` keeps the
    order in which the page draws its text (a table's cells one after another)."""
    pdftotext = _tool("pdftotext", "poppler-utils")
    cmd = [pdftotext, "-enc", "UTF-8"] + (["-raw"] if raw else [])
    cmd += (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    done = subprocess.run(cmd + [str(pdf), "-"], capture_output=True, timeout=60, check=True)
    return done.stdout.decode("utf-8")


def to_png(pdf: Path, out_dir: Path, dpi: int = 60) -> list[Path]:
    """Render every page of `pdf` to `out_dir/<stem>-<n>.png`; the pages in order."""
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / Path(pdf).stem
    subprocess.run([pdftoppm, "-r", str(dpi), "-png", str(pdf), str(prefix)],
                   capture_output=True, timeout=TIMEOUT, check=True)
    pages = out_dir.glob(f"{glob.escape(prefix.name)}-*.png")
    return sorted(pages, key=lambda p: int(p.stem.rsplit("-", 1)[1]))
