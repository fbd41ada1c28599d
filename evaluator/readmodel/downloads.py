"""What the dashboard offers to download, made by the exports for the viewer's audience.

Nothing here formats a file: the year-end workbook is `export_run(..., audience=role)` on the
snapshot, the leadership summary and a report card are `write_summary` / `write_cards` of
evaluator.export with the context `export_run` builds for that audience (released runs only
for leadership and units, small survey cells blanked for both, a unit only its own card).
So a download has the content `evaluator export --audience ROLE` writes for the same run
(only the time it was made differs).

Takes file paths, not a connection: the exports open the snapshot read-only themselves, and
appeals are read from the app store beside the main DB (never the main DB itself).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import duckdb

from evaluator.appeals import appeals_for_export
from evaluator.export import export_run
from evaluator.export.cards import safe_name, write_cards
from evaluator.export.runinfo import resolve_run
from evaluator.export.summary import write_summary
from evaluator.export.tables import ExportContext
from evaluator.readmodel.labels import min_responses
from evaluator.readmodel.viewer import (
    Forbidden,
    Viewer,
    require_not_unit,
    require_run,
    require_unit,
)
from evaluator.runs import stored_scheme

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def year_end_workbook(snapshot: str | Path, db: str | Path | None, run_id: str, lang: str, *,
                      viewer: Viewer) -> bytes:
    """The year-end workbook of the run for the viewer's audience (a unit: the league table as
    units see it), with the appeals of the app store beside the main DB `db`."""
    with tempfile.TemporaryDirectory(prefix="evaluator-dl-") as tmp:
        result = export_run(
            snapshot, run_id, fmt="xlsx", out=Path(tmp) / "out", lang=lang, cards=False,
            summary=False, audience=viewer.role,
            unit=viewer.unit_id if viewer.role == "unit" else None, appeals_of=db,
        )
        book = next(f for f in result.files if f.suffix == ".xlsx" and f.parent == result.out_dir)
        return book.read_bytes()


def _context(con: duckdb.DuckDBPyConnection, db: str | Path | None, run_id: str, lang: str,
             viewer: Viewer) -> ExportContext:
    """The export context `export_run` builds for this viewer's audience."""
    run = resolve_run(con, run_id, published_only=not viewer.office)
    loaded = stored_scheme(run.scheme_yaml, run.run_id)
    appeals = appeals_for_export(con, db, run.run_id) if db is not None else None
    ctx = ExportContext(con, run, loaded.scheme if loaded else None, lang, appeals=appeals)
    if not viewer.office:  # leadership, and a unit on its own card (as `_export_unit`)
        ctx.min_responses = min_responses(con, run.run_id)
    return ctx


def leadership_summary(
    snapshot: str | Path, db: str | Path | None, run_id: str, lang: str, *, viewer: Viewer
) -> bytes:
    """The one-page leadership summary (HTML) in `lang`; not for a unit (it ranks every unit)."""
    require_not_unit(viewer)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        require_run(con, viewer, run_id)
        ctx = _context(con, db, run_id, lang, viewer)
        with tempfile.TemporaryDirectory(prefix="evaluator-dl-") as tmp:
            return write_summary(ctx, Path(tmp) / f"leadership_summary.{lang}.html").read_bytes()
    finally:
        con.close()


def report_card(
    snapshot: str | Path, db: str | Path | None, run_id: str, unit_id: str, lang: str, *,
    viewer: Viewer,
) -> bytes:
    """One unit's report card (HTML) in `lang`, as the viewer's audience export writes it."""
    require_unit(viewer, unit_id)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        require_run(con, viewer, run_id)
        ctx = _context(con, db, run_id, lang, viewer)
        if viewer.role == "unit" and ctx.appeals is not None:  # as `_export_unit`: its own only
            ctx.appeals = ctx.appeals.filter(ctx.appeals["unit_id"] == unit_id)
        with tempfile.TemporaryDirectory(prefix="evaluator-dl-") as tmp:
            files = write_cards(ctx, Path(tmp), only_unit=unit_id)
            if not files:
                raise Forbidden(f"unit {unit_id} was not scored in run {run_id} / 该单位不在本次评分中")
            return files[0].read_bytes()
    finally:
        con.close()


def card_name(unit_id: str, lang: str, suffix: str) -> str:
    """The file name a downloaded card gets (the export's own name for the unit)."""
    return f"report_card_{safe_name(unit_id)}.{lang}.{suffix}"


class PdfUnavailable(Forbidden):
    """PDF needs Chromium on the server; the message says so."""


def html_to_pdf(html: bytes, chromium: str | None = None, timeout: float = 60) -> bytes:
    """The HTML printed to PDF by headless Chromium (the cards' print CSS: A4, one card a page).

    Chromium is the renderer the cards are tested with; without it there is no PDF, and the
    error says how to get one.
    """
    exe = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise PdfUnavailable(
            "PDF needs Chromium on the server (apt-get install chromium); the HTML card prints "
            "from any browser / 生成 PDF 需要服务器安装 Chromium，HTML 报告卡可直接用浏览器打印"
        )
    with tempfile.TemporaryDirectory(prefix="evaluator-pdf-") as tmp:
        page, pdf = Path(tmp) / "card.html", Path(tmp) / "card.pdf"
        page.write_bytes(html)
        try:
            subprocess.run(
                [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                 f"--user-data-dir={tmp}/profile", f"--print-to-pdf={pdf}", page.as_uri()],
                capture_output=True, timeout=timeout, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable(f"Chromium ({exe}) could not print the card: {exc} / 未能生成 PDF") from None
        if not pdf.exists() or pdf.stat().st_size == 0:
            raise PdfUnavailable("Chromium did not write the PDF / 未能生成 PDF")
        return pdf.read_bytes()
