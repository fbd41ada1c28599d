"""A report card rendered in a real browser (Debian Chromium via Playwright), screenshot saved."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from helpers.exports import ROOT, Built, copy_demo

from evaluator.export import export_run

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium")


def _lines(built: Built, run: str, unit: str) -> int:
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        return int(
            con.execute(
                "SELECT count(*) FROM run_indicator_scores WHERE run_id = ? AND unit_id = ?",
                [run, unit],
            ).fetchall()[0][0]
        )
    finally:
        con.close()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser installs it)")
def test_report_card_renders_in_chromium(demo_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    built: Built = copy_demo(demo_build, tmp_path / "db")
    demo, heavy = tmp_path / "demo", tmp_path / "heavy"
    export_run(built.db, built.runs["demo_2026"], fmt="csv", out=demo)
    export_run(built.db, built.runs["heavy_2026"], fmt="csv", out=heavy, summary=False)
    unit = built.units["unit_id"][0]
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            for lang in ("zh", "en"):
                page.goto((demo / "cards" / lang / f"{unit}.html").as_uri())
                assert page.locator("#lint-warning").count() == 0
                rows = page.locator("#indicators tbody tr").count()
                assert rows == _lines(built, built.runs["demo_2026"], unit)
                assert page.locator("svg polygon").count() == 6  # 4 rings, peer median, unit
                box = page.locator("svg").first.bounding_box()
                assert box is not None and box["width"] > 250 and box["height"] > 180
                page.screenshot(path=str(artifacts / f"report_card_{lang}.png"), full_page=True)
                pdf = page.pdf(format="A4")  # printable: Chromium lays it out on A4
                assert pdf[:4] == b"%PDF"
                # one A4 page (a second page held the footer alone), the grade badge on one line
                assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1, lang
                badge = page.locator(".kpi .grade").bounding_box()
                assert badge is not None and badge["height"] < 30  # "Excellen / t" was two lines
                chart = page.locator("svg").first.bounding_box()
                assert chart is not None
                for text in page.locator("svg").first.locator("text").all():
                    t = text.bounding_box()  # radar labels were cut at the chart's edge
                    assert t is not None and chart["x"] - 1 <= t["x"]
                    assert t["x"] + t["width"] <= chart["x"] + chart["width"] + 1
            page.goto((heavy / "cards" / "zh" / f"{unit}.html").as_uri())
            assert page.locator("#lint-warning").is_visible()
            assert "形式主义问题" in page.locator("#lint-warning").inner_text()
            page.screenshot(path=str(artifacts / "report_card_lint_zh.png"), full_page=True)
            page.goto((demo / "leadership_summary.en.html").as_uri())
            assert page.locator("#grades tr").count() == 4
            assert page.locator("#movers tr").count() > 2
            page.screenshot(path=str(artifacts / "leadership_summary_en.png"), full_page=True)
        finally:
            browser.close()


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make browser installs it)")
def test_leadership_summary_prints_on_one_a4_page(demo_build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    built: Built = copy_demo(demo_build, tmp_path / "db")
    outs = []
    for run in ("demo_2026", "heavy_2026"):  # heavy: the lint banner takes room too
        export_run(built.db, built.runs[run], fmt="csv", out=tmp_path / run, cards=False)
        outs += [tmp_path / run / f"leadership_summary.{lang}.html" for lang in ("zh", "en")]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            for path in outs:
                page.goto(path.as_uri())
                page.emulate_media(media="print")
                assert pdf_pages(page.pdf(prefer_css_page_size=True)) == 1, path
                assert pdf_pages(page.pdf(format="Letter")) == 1, path
                names = page.locator("#showoff td.name")
                for i in range(names.count()):  # a unit name is one line, never one per character
                    lines = names.nth(i).evaluate(
                        "td => { const r = document.createRange(); r.selectNodeContents(td);"
                        " return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }"
                    )
                    assert lines == 1, (path, names.nth(i).inner_text())
        finally:
            browser.close()
