"""The dashboard in a real browser: Debian's Chromium driven by Playwright (never downloaded).

Starts `evaluator dashboard` on 127.0.0.1, loads every page in zh and en, picks units on the
compare page, scores while serving and sees the new run, and saves screenshots as artefacts in
artifacts/screenshots/.
"""

from __future__ import annotations

import duckdb
import pytest
from helpers.browser import SCHEME, evaluator, open_page, settle, shot
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGES = [  # url path, zh title, en title, text proving the data is there (zh, en)
    ("overview", "年度考核总览", "Year at a glance", ("进退变化", "Movers")),
    ("compare", "单位对比", "Compare units", ("分指标得分", "Indicator scores beside")),
    ("unit", "单位画像", "Unit profile", ("预警标记", "Flags")),
    (
        "scheme_health",
        "方案体检：形式主义审查",
        "Scheme health: the formalism audit",
        ("按申报权重与按有效权重的排名对比", "Ranking under declared vs effective"),
    ),
    ("data_quality", "数据质量", "Data quality", ("满意度漏斗图", "Satisfaction funnel plot")),
    (
        "sensitivity",
        "敏感性：排名有多可靠",
        "Sensitivity: how firm is each rank",
        ("--uncertainty", "--uncertainty"),
    ),
]


def test_every_page_in_both_languages(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    for slug, zh, en, (proof_zh, proof_en) in PAGES:
        path = "" if slug == "overview" else slug  # the default page lives at /
        open_page(page, f"{server.url}/{path}?lang=zh", zh)
        page.get_by_text(proof_zh).first.wait_for()
        assert page.get_by_text("未启用登录").first.is_visible()
        assert page.get_by_role("link", name="单位对比").first.is_visible()  # translated nav
        settle(page)
        shot(page, f"{slug}_zh")
        open_page(page, f"{server.url}/{path}?lang=en", en)
        assert page.get_by_role("link", name="Compare units").first.is_visible()
        page.get_by_text(proof_en).first.wait_for()
        settle(page)
        shot(page, f"{slug}_en")
    # the sidebar switch changes the language in place
    page.get_by_text("中文", exact=True).click()
    page.get_by_role("heading", name=PAGES[-1][1], exact=True).wait_for()


def test_compare_page_interaction(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    con = duckdb.connect(str(dashboard_db), read_only=True)
    run_id = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchall()[0][
        0
    ]
    names = [
        r[0]
        for r in con.execute(
            "SELECT unit_name FROM run_scores WHERE run_id = ? ORDER BY rank, unit_id LIMIT 5",
            [run_id],
        ).fetchall()
    ]
    con.close()
    open_page(page, f"{server.url}/compare?lang=en", "Compare units")
    summary = page.locator('[data-testid="stMarkdownContainer"] li')
    # the page draws its list item by item: wait for all three (a loaded CI machine saw one)
    expect(summary).to_have_count(3)
    assert names[0] in summary.first.inner_text()
    # add the fourth-ranked unit through the multiselect, as a user would
    box = page.locator('[data-testid="stMultiSelect"]').first
    box.click()
    page.keyboard.type(names[3])
    page.get_by_role("option", name=names[3]).first.click()
    page.keyboard.press("Escape")
    page.locator('[data-testid="stMarkdownContainer"] li').nth(3).wait_for()
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    assert names[3] in summary.nth(3).inner_text()
    # radar, indicator bars (expect retries: the previous run's elements leave the DOM late)
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2)
    shot(page, "compare_interaction_en")


def test_score_while_serving_shows_the_new_run(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    open_page(page, f"{server.url}/?lang=en", "Year at a glance")
    done = evaluator(
        "score",
        "--db",
        str(dashboard_db),
        "--scheme",
        str(SCHEME),
        "--period",
        "2026",
        "--top",
        "0",
    )
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(dashboard_db), read_only=True)
    newest = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchall()[0][
        0
    ]
    con.close()
    open_page(page, f"{server.url}/?lang=en", "Year at a glance")
    page.get_by_text(f"run {newest}").first.wait_for()
    shot(page, "overview_after_rescore_en")


def test_login_on_without_users_explains_how_to_add_one(serve, dashboard_db, page):
    server = serve(dashboard_db)
    open_page(page, f"{server.url}/?lang=en", "Sign-in needs a user")
    # code blocks are drawn by a lazily loaded component: wait for the last one
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("--no-auth")
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "--no-auth" in body and "users" in body
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    shot(page, "signin_en")


def test_language_and_run_survive_the_sidebar_menu(serve, dashboard_db, page):
    """Acceptance #1: the menu's links dropped ?lang=en (page in Chinese) and the picked run."""
    server = serve(dashboard_db, "--no-auth")
    con = duckdb.connect(str(dashboard_db), read_only=True)
    older = con.execute("SELECT run_id FROM runs ORDER BY created_at LIMIT 1").fetchall()[0][0]
    con.close()
    open_page(page, f"{server.url}/?lang=en", "Year at a glance")
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name="Compare units").click()
    page.get_by_role("heading", name="Compare units", exact=True).wait_for()
    assert "lang=en" in page.url
    # pick the older run in the sidebar, then go to the unit profile
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option").last.click()
    page.get_by_text(f"run {older}").first.wait_for()
    nav.get_by_role("link", name="Unit profile").click()
    page.get_by_role("heading", name="Unit profile", exact=True).wait_for()
    page.get_by_text(f"run {older}").first.wait_for()
    settle(page)
    assert "lang=en" in page.url and f"run={older}" in page.url
    # switching the language keeps the run
    page.get_by_text("中文", exact=True).click()
    page.get_by_role("heading", name="单位画像", exact=True).wait_for()
    page.get_by_text(f"运行 {older}").first.wait_for()


def test_overview_address_and_tables_as_tall_as_their_rows(serve, dashboard_db, page):
    """Acceptance #5: /overview said "Page not found"; short tables had trailing empty rows."""
    server = serve(dashboard_db, "--no-auth")
    page.goto(f"{server.url}/overview?lang=en")
    page.get_by_role("heading", name="Year at a glance", exact=True).wait_for()
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")
    assert page.get_by_text("Page not found").count() == 0
    assert "lang=en" in page.url
    con = duckdb.connect(str(dashboard_db), read_only=True)
    batches = con.execute("SELECT count(*) FROM load_batches").fetchall()[0][0]
    con.close()
    open_page(page, f"{server.url}/data_quality?lang=en", "Data quality")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    height = grid.bounding_box()["height"]
    assert height <= 35 * (batches + 1) + 12, (height, batches)  # no empty rows below the data
    assert height >= 35 * (batches + 1) - 12
