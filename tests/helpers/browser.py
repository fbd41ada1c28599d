"""Browser test helpers: the evaluator command, Chromium's settings, page waits and screenshots."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[2]


SCHEME = ROOT / "indicators" / "demo_township.yaml"


def evaluator(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evaluator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )



CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


SHOTS = ROOT / "artifacts" / "screenshots"


ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def open_page(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).wait_for()
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    assert page.get_by_text("Page not found").count() == 0


CHARTS_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
    .every(chart => chart.querySelector('.main-svg') !== null)"""


def wait_for_charts(page) -> None:
    """Every chart on the page has drawn, asked of the DOM as it is now: a count taken first
    went stale when a rerun replaced the charts on a loaded machine, and waited for one gone."""
    page.wait_for_function(CHARTS_DRAWN)


def settle(page) -> None:
    """Wait until the script run is over and every chart has drawn."""
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    wait_for_charts(page)


def after_rerun(page) -> None:
    """Wait out a rerun that an interaction started: the elements of the previous script run
    leave the DOM some time after the status widget first hides."""
    page.wait_for_load_state("networkidle")
    settle(page)
    page.wait_for_timeout(800)
    settle(page)


def pick(page, label: str, option: str, attempts: int = 3) -> None:
    """Choose `option` in the select box or multiselect labelled `label`. A rerun still under
    way redraws the box and closes its open list (seen in CI on a loaded machine), so the list
    is opened again when the option does not show."""
    for attempt in range(1, attempts + 1):
        page.get_by_label(label, exact=True).first.click()
        choice = page.get_by_role("option", name=option, exact=True).first
        try:
            choice.click(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.keyboard.press("Escape")
            after_rerun(page)
    page.keyboard.press("Escape")
    after_rerun(page)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

