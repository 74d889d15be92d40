"""PDF (and page images) from our .docx/.xlsx outputs, with LibreOffice headless.

LibreOffice exits 0 and draws boxes when a font is missing, so every conversion is checked with
`pdffonts`: a PDF without an embedded Noto CJK font is an error, not an output. Each call runs
soffice with its own throw-away profile (parallel calls would otherwise fight over one) and with
`templates/fonts.conf` as its fontconfig file, which maps the office font names (仿宋_GB2312,
方正小标宋简体, 黑体, 楷体 ...) to Noto CJK for that process only.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from pipeline.core.settings import TEMPLATES
from pipeline.store.files import atomic

FONTS_CONF = TEMPLATES / "fonts.conf"
TIMEOUT = 120
# Writer's PDF export leaves out by default the blank page that a section starting on an even page
# puts in: the 通报's 版记 page would then print on an odd page.
WRITER_PDF = 'pdf:writer_pdf_Export:{"IsSkipEmptyPages":{"type":"boolean","value":"false"}}'


class ConversionError(RuntimeError):
    """LibreOffice or poppler is missing, failed, or produced a PDF without CJK fonts."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConversionError(f"找不到 {name}：请安装 {package}（make system）后重试。")
    return path


def to_pdf(src: Path, out_dir: Path, timeout: float = TIMEOUT) -> Path:
    """Convert `src` to `out_dir/<stem>.pdf` and return that path."""
    soffice = _tool("soffice", "libreoffice-writer-nogui / libreoffice-calc-nogui")
    src = Path(src).resolve()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
    with tempfile.TemporaryDirectory(prefix="soffice-") as tmp:
        profile, work = Path(tmp) / "profile", Path(tmp) / "out"
        cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", WRITER_PDF if src.suffix.lower() == ".docx" else "pdf",
               "--outdir", str(work), str(src)]
        # soffice is a wrapper script: on timeout kill its whole process group, not just the wrapper.
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise ConversionError(f"LibreOffice 转换 {src.name} 超过 {timeout:g} 秒未完成") from exc
        produced = work / f"{src.stem}.pdf"
        if proc.returncode != 0 or not produced.exists():
            raise ConversionError(f"LibreOffice 未能把 {src.name} 转为 PDF（退出码 {proc.returncode}）："
                                  f"{(err or out).strip()[-500:]}")
        target = atomic(out_dir / produced.name, lambda tmp: shutil.move(produced, tmp))
    if not any("CJK" in name for name in pdf_fonts(target, embedded_only=True)):
        raise ConversionError(f"{target.name} 中没有嵌入中文字体（Noto CJK），汉字会显示为方框。"
                              "请安装 fonts-noto-cjk（make system）后重试。")
    return target


def pdf_fonts(pdf: Path, embedded_only: bool = False) -> list[str]:
    """Font names in `pdf` as `pdffonts` lists them (subset prefix `ABCDEF+` removed)."""
    pdffonts = _tool("pdffonts", "poppler-utils")
    done = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    names = []
    # Rows follow a header and a dashed rule; the type column may contain spaces, so the
    # flags are read from the right: ... emb sub uni object-number generation.
    for line in done.stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) < 7:
            continue
        if embedded_only and parts[-5] != "yes":
            continue
        names.append(parts[0].split("+", 1)[-1])
    return names


def page_count(pdf: Path) -> int:
    pdfinfo = _tool("pdfinfo", "poppler-utils")
    done = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", done.stdout, re.MULTILINE)[1])


