"""The scheme editor once through the real UI: `evaluator dashboard --schemes DIR` in Chromium.

Edit a weight, add an indicator, see the error, fix it, preview what would change, save a new
version. Screenshots go to artifacts/screenshots/ (docs/img/ holds the ones the docs show).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.browser import ROOT, SHOTS

from evaluator.scheme import load_scheme
from evaluator.scheme_versions import list_versions

pytestmark = pytest.mark.browser


def _select(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True).first
    box.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _shows(page, label: str, value: str) -> None:
    """Wait for the rerun after a pick: the field shows the picked row's value."""
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.get_by_label(label).first).to_have_value(value, timeout=60_000)


def _number(page, label: str, value: str, nth: int = 0) -> None:
    field = page.get_by_label(label).nth(nth)
    field.fill(value)
    field.press("Enter")


def _wait_text(page, text: str) -> None:
    page.get_by_text(text).first.wait_for()


def test_editor_workflow_in_chromium(browser, serve, dashboard_db: Path, tmp_path: Path) -> None:
    schemes = tmp_path / "schemes"
    schemes.mkdir()
    shutil.copy(ROOT / "indicators/demo_township.yaml", schemes / "demo_township.yaml")
    server = serve(dashboard_db, "--no-auth", "--schemes", str(schemes))
    ctx = browser.new_context(viewport={"width": 1500, "height": 1300}, locale="en-US")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{server.url}/scheme_editor?lang=en")
        _wait_text(page, "The draft is valid: 16 indicators.")
        page.screenshot(path=str(SHOTS / "editor-open.png"), full_page=True)

        # edit a weight (the first indicator, income growth, is preselected)
        _number(page, "Weight (points)", "20")
        page.get_by_role("button", name="Apply").click()
        _wait_text(page, "add up to 38, not total_points 30")
        page.screenshot(path=str(SHOTS / "editor-error.png"), full_page=True)
        _select(page, "Indicator", "school_dropout")
        _shows(page, "Weight (points)", "9.00")
        _number(page, "Weight (points)", "1")
        page.get_by_role("button", name="Apply").click()
        _wait_text(page, "The draft is valid: 16 indicators.")

        # add an indicator without a measure: the error names its row and cell; then fix it
        page.get_by_label("Id (letters, digits, _)").fill("road_quality")
        page.get_by_label("name (Chinese)").fill("农村公路优良率")
        page.get_by_label("name (English)").fill("Rural roads in good condition")
        _number(page, "Weight (points)", "0", nth=1)
        page.get_by_role("button", name="Add", exact=True).click()
        _wait_text(page, "required: fill this cell")
        _select(page, "Indicator", "road_quality")
        _shows(page, "Weight (points)", "0.00")
        page.get_by_label("measure").first.fill("income_growth_pct")
        page.get_by_label("measure").first.press("Enter")
        page.get_by_role("button", name="Apply").click()
        _wait_text(page, "The draft is valid: 17 indicators.")

        # what would change, against the stored run
        page.get_by_role("tab", name="What would change").click()
        page.get_by_role("button", name="Score the draft").click()
        _wait_text(page, "Units changing rank")
        page.screenshot(path=str(SHOTS / "editor-preview.png"), full_page=True)

        # save as a new version
        page.get_by_role("tab", name="Save and versions").click()
        page.get_by_label("Note").fill("more weight on income; rural roads")
        page.get_by_role("button", name="Save as a new version").click()
        _wait_text(page, "Saved:")
        page.screenshot(path=str(SHOTS / "editor-saved.png"), full_page=True)
    finally:
        ctx.close()
    saved = schemes / "demo_township-v2026.2.yaml"
    scheme = load_scheme(saved).scheme
    assert scheme.indicator("income_growth").weight == 20
    assert scheme.indicator("road_quality").source.measure == "income_growth_pct"  # type: ignore[union-attr]
    [version] = list_versions(dashboard_db)
    assert version.note == "more weight on income; rural roads"
