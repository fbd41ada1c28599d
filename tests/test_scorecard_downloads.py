"""Downloads (issue 12): what each role downloads from the dashboard is what the export for its
audience writes (`export_run(..., audience=ROLE)`), compared cell by cell and line by line.

Only the time a file was made may differ. The buttons themselves are checked under AppTest;
the browser test clicks them (tests/browser/test_scorecard_browser.py).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import openpyxl
import pytest
from helpers.dashboard import run_page

from evaluator import readmodel as rm
from evaluator.export import export_run
from evaluator.readmodel import downloads as dl

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\+00:00|Z)?")


def snapshot(db: Path) -> Path:
    return db.parent / "snapshots" / db.name


def sheets(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: [tuple(STAMP.sub("", str(v)) if isinstance(v, str) else v for v in row)
                       for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def text(data: bytes | str) -> str:
    return STAMP.sub("", data.decode("utf-8") if isinstance(data, bytes) else data)


@pytest.fixture(scope="module")
def run_and_units(dash_db):
    with duckdb.connect(str(snapshot(dash_db)), read_only=True) as con:
        run = rm.latest_run_id(con)
        units = rm.unit_choices(con, run)["unit_id"].to_list()
    return run, units


@pytest.mark.slow
@pytest.mark.parametrize("role", ["office", "leadership", "unit"])
def test_workbook_is_the_audience_export(dash_db, run_and_units, tmp_path, role):
    run, units = run_and_units
    unit = units[3] if role == "unit" else None
    viewer = rm.Viewer(role, unit)
    got = sheets(dl.year_end_workbook(snapshot(dash_db), dash_db, run, "zh", viewer=viewer))
    ref = export_run(dash_db, run, out=tmp_path, lang="zh", cards=False, summary=False,
                     audience=role, unit=unit)
    book = next(f for f in ref.files if f.suffix == ".xlsx")
    assert got == sheets(book.read_bytes())
    if role == "unit":  # the league table as units see it: no other unit's detail
        assert list(got) == ["排名表"] and len(got["排名表"][0]) == 5
    else:
        assert len(got) > 5


@pytest.mark.parametrize("role", ["office", "leadership"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_is_the_audience_export(dash_db, run_and_units, tmp_path, role, lang):
    run, _ = run_and_units
    got = dl.leadership_summary(snapshot(dash_db), dash_db, run, lang, viewer=rm.Viewer(role))
    ref = export_run(dash_db, run, out=tmp_path, lang=lang, cards=False, audience=role)
    page = next(f for f in ref.files if f.name == f"leadership_summary.{lang}.html")
    assert text(got) == text(page.read_text(encoding="utf-8"))
    assert ("领导" in text(got)) if lang == "zh" else ("leadership" in text(got).lower())


def test_units_get_no_summary_and_only_their_own_card(dash_db, run_and_units):
    run, units = run_and_units
    me = rm.Viewer("unit", units[0])
    with pytest.raises(rm.Forbidden):
        dl.leadership_summary(snapshot(dash_db), dash_db, run, "zh", viewer=me)
    with pytest.raises(rm.Forbidden):
        dl.report_card(snapshot(dash_db), dash_db, run, units[1], "zh", viewer=me)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["unit", "leadership", "office"])
def test_card_is_the_audience_exports_card(dash_db, run_and_units, tmp_path, role):
    run, units = run_and_units
    unit = units[5]
    viewer = rm.Viewer(role, unit if role == "unit" else None)
    for lang in ("zh", "en"):
        got = dl.report_card(snapshot(dash_db), dash_db, run, unit, lang, viewer=viewer)
        out = tmp_path / lang
        ref = export_run(dash_db, run, out=out, lang=lang, summary=False, audience=role,
                         unit=unit if role == "unit" else None)
        card = next(f for f in ref.files if f.parent.name == lang and f.stem == unit)
        assert text(got) == text(card.read_text(encoding="utf-8"))


@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("pdftotext") is None,
                    reason="needs Chromium and poppler-utils")
def test_card_pdf_is_the_card_printed(dash_db, run_and_units, tmp_path):
    run, units = run_and_units
    html = dl.report_card(snapshot(dash_db), dash_db, run, units[2], "zh",
                          viewer=rm.Viewer("unit", units[2]))
    pdf = dl.html_to_pdf(html)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "card.pdf").write_bytes(pdf)
    words = subprocess.run(["pdftotext", str(tmp_path / "card.pdf"), "-"], capture_output=True,
                           text=True, check=True).stdout
    name = re.search(r"<b>(.+?)</b> \(", html.decode()).group(1)
    assert name in words and "年度考核结果通知单" in words


def test_pdf_without_chromium_says_how(tmp_path):
    with pytest.raises(dl.PdfUnavailable, match="Chromium"):
        dl.html_to_pdf(b"<p>x</p>", chromium=str(tmp_path / "no-such-chromium"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_buttons_where_readers_look(monkeypatch, dash_db, lang):
    at = run_page(monkeypatch, dash_db, "overview", lang)
    labels = [d.proto.label for d in at.get("download_button")]
    want = (["下载年度结果工作簿（XLSX）", "下载领导一页摘要（HTML，可打印）", "下载所示行（XLSX）"]
            if lang == "zh" else ["Download the year-end workbook (XLSX)",
                                  "Download the one-page leadership summary (HTML, printable)",
                                  "Download the rows shown (XLSX)"])
    assert labels == want
    at = run_page(monkeypatch, dash_db, "unit", lang)
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels[:2] == (["下载本单位考核结果通知单（HTML）", "下载通知单（PDF）"] if lang == "zh"
                          else ["Download this unit's report card (HTML)",
                                "Download the report card (PDF)"])
    assert all(d.proto.deferred_file_id for d in at.get("download_button"))  # made on click


def test_table_xlsx_holds_the_rows_shown(monkeypatch, dash_db):
    """The XLSX of a table is the table as shown: translated headers, the filtered rows."""
    import sys

    at = run_page(monkeypatch, dash_db, "overview", "zh")
    at.multiselect(key="w_f_grades").set_value(["good"]).run()
    shown = at.dataframe[0].value
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
    import polars as pl
    from ui.tables import xlsx_bytes

    data = xlsx_bytes(pl.from_pandas(shown))
    rows = sheets(data)["rows"]
    assert list(rows[0]) == list(shown.columns)
    assert [r[2] for r in rows[1:]] == list(shown["单位编码"])
    assert len(rows) - 1 == len(shown) < 120


def test_the_downloaded_workbook_carries_the_appeals(demo_db, tmp_path):
    """The dashboard exports from its snapshot; the appeals live in the app store beside the main
    DB, so the download must read them there (its appeals sheet was always empty)."""
    from evaluator.appeals import file_appeal
    from evaluator.appstore import connect_app
    from evaluator.snapshot import publish_snapshot

    db = tmp_path / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    with duckdb.connect(str(db), read_only=True) as data:
        run = rm.latest_run_id(data)
        unit = rm.unit_choices(data, run)["unit_id"][0]
        indicator = rm.unit_indicators(data, run, unit)["indicator_id"][0]
        app = connect_app(db)
        try:
            file_appeal(data, app, run_id=run, unit_id=unit, indicator_id=indicator,
                        reason="口径有误 wrong base year", filed_by="clerk")
        finally:
            app.close()
    publish_snapshot(db)
    got = sheets(dl.year_end_workbook(snapshot(db), db, run, "en", viewer=rm.OFFICE))
    rows = got["appeals"]
    assert len(rows) == 2 and "wrong base year" in " ".join(str(v) for v in rows[1])
    ref = export_run(db, run, out=tmp_path / "ref", lang="en", cards=False, summary=False)
    assert got == sheets(next(f for f in ref.files if f.suffix == ".xlsx").read_bytes())
