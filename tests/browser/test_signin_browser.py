"""Sign-in in a real browser (Chromium via Playwright, `-m browser`): a deep link while signed out
shows the form (no "page not found"), a wrong password is refused, the right one opens the linked
page, and sign-out returns to the form. Reuses the server and browser fixtures of the dashboard's
browser tests."""

from __future__ import annotations

import pytest
from helpers.browser import open_page, shot

from evaluator.users import add_user

pytestmark = pytest.mark.browser

PW = "river-stone-42"


def test_sign_in_through_a_deep_link_and_sign_out(serve, dashboard_db, page):  # noqa: F811
    add_user(dashboard_db, "wang", PW, role="office", display_name="王科长")
    server = serve(dashboard_db)
    open_page(page, f"{server.url}/unit?lang=en", "Sign in")
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    assert page.get_by_role("link", name="Unit profile").count() == 0  # menu hidden
    shot(page, "signin_form_en")

    page.get_by_role("textbox", name="User name").fill("wang")
    page.get_by_role("textbox", name="Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong user name or password").wait_for()
    assert page.locator('[data-testid="stDataFrame"]').count() == 0

    page.get_by_role("textbox", name="User name").fill("wang")
    page.get_by_role("textbox", name="Password").fill(PW)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Unit profile", exact=True).wait_for()
    page.get_by_text("Signed in: 王科长 (assessment office)").wait_for()
    assert page.get_by_text("Page not found").count() == 0
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    shot(page, "signed_in_unit_en")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in", exact=True).wait_for()
    # the old page's tables go when the run ends (they may linger a moment as stale elements)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(state="detached", timeout=10_000)
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
