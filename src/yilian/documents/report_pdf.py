"""A signed report as PDF, by headless Chromium's print-to-pdf: it lays out Chinese with the system's CJK fonts
(Debian's fonts-noto-cjk, which reportlab cannot embed) and embeds the glyphs it uses, so the file reads the same
on any phone. One small module so the report can be sent to a county PACS the same way (issue 10)."""

from __future__ import annotations

import asyncio
import html
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RENDER_TIMEOUT_SECONDS = 60.0


class PdfRenderError(RuntimeError):
    """Chromium is missing, failed, or took too long."""


@dataclass(frozen=True)
class ReportSection:
    heading: str  # e.g. "final v2 · signed by 王磊 · 2026-12-07 09:14"
    findings: str
    impression: str


@dataclass(frozen=True)
class ReportDocument:
    title: str
    facts: Sequence[tuple[str, str]]  # (label, value) lines under the title: patient, hospital, study
    sections: Sequence[ReportSection]
    footer: str  # e.g. "for reference, not for diagnosis"


def report_html(doc: ReportDocument, words: Mapping[str, str]) -> str:
    """The report as a self-contained HTML page (every value escaped). `words`: the labels `findings` and
    `impression` in the reader's language."""
    e = html.escape
    facts = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in doc.facts)
    sections = "".join(
        f"<section><h2>{e(s.heading)}</h2><h3>{e(words['findings'])}</h3><p>{e(s.findings)}</p>"
        f"<h3>{e(words['impression'])}</h3><p>{e(s.impression)}</p></section>"
        for s in doc.sections
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        "@page{size:A4;margin:18mm}body{font-family:'Noto Sans CJK SC','Noto Sans CJK',sans-serif;font-size:11pt;"
        "color:#111}h1{font-size:18pt;margin:0 0 8pt}h2{font-size:12pt;border-top:1px solid #999;padding-top:6pt}"
        "h3{font-size:11pt;margin:6pt 0 2pt}p{white-space:pre-wrap;margin:0 0 6pt}th{text-align:left;"
        "padding-right:12pt;font-weight:normal;color:#555}footer{margin-top:18pt;font-size:9pt;color:#555}"
        f"</style></head><body><h1>{e(doc.title)}</h1><table>{facts}</table>{sections}"
        f"<footer>{e(doc.footer)}</footer></body></html>"
    )


async def render_pdf(page_html: str, chromium: str) -> bytes:
    """Print an HTML page to PDF with headless Chromium (its own throwaway profile, so calls never share one)."""
    with tempfile.TemporaryDirectory(prefix="yilian-pdf-") as tmp:
        source, target = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        source.write_text(page_html, encoding="utf-8")
        args = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
            f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={target}", source.as_uri(),
        ]  # fmt: skip
        try:
            process = await asyncio.create_subprocess_exec(
                chromium, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
        except OSError as exc:
            raise PdfRenderError(f"cannot start Chromium at {chromium}: {exc}") from exc
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), RENDER_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            process.kill()
            await process.wait()
            raise PdfRenderError("Chromium took too long to print the report") from exc
        if process.returncode != 0 or not target.exists():
            raise PdfRenderError(f"Chromium failed ({process.returncode}): {stderr.decode(errors='replace')[-300:]}")
        return target.read_bytes()
