"""Issue 9 in a real browser: what only Chromium shows (run stability across real interactions,
hover labels, the table's real height, a row click, cut-off labels, outside requests).

Debian's Chromium driven by Playwright against `evaluator dashboard`; screenshots of the changed
pages in zh and en go to artifacts/screenshots/ux_*.png.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import duckdb
import pytest
from helpers.browser import SCHEME, SHOTS, evaluator
from helpers.browser import after_rerun as settle

pytestmark = pytest.mark.browser

RUN = re.compile(r"(?:运行|run) (\d{8}T\d{6}-[0-9a-f]{8})")


def open_page(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).wait_for()
    settle(page)


def shown_run(page) -> str:
    page.locator('[data-testid="stCaptionContainer"]', has_text=RUN).first.wait_for()
    text = page.locator('[data-testid="stMain"]').inner_text()
    found = RUN.search(text)
    assert found is not None, text[:1500]
    return found.group(1)


def shown_choice(page, label: str) -> str:
    """What a select box shows as chosen (the text of its input, not of its label)."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label)
    return str(box.locator("input").first.input_value())


def hover(page, mark) -> None:
    """Move the mouse onto a plotly mark (its drag layer takes the events, as for a person)."""
    mark.scroll_into_view_if_needed()
    box = mark.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport is made as tall
    as the content first; skeletons of a running script are waited out."""
    page.locator('[data-testid="stSkeleton"]').first.wait_for(state="detached")
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 100, 12000)})
    settle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"ux_{name}.png"), full_page=True)


def test_the_run_stays_put_through_real_interactions(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    open_page(page, f"{server.url}/?lang=zh", "年度考核总览")
    first = shown_run(page)
    done = evaluator("score", "--db", str(dashboard_db), "--scheme", str(SCHEME), "--top", "0")
    assert done.returncode == 0, done.stderr
    # typing in the search box: the first interaction used to move the session to another run
    page.get_by_label("按名称或编码搜索").fill("乡")
    page.keyboard.press("Enter")
    settle(page)
    assert shown_run(page) == first
    page.get_by_text("有更新的运行").first.wait_for()
    # switching the language
    page.get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Year at a glance", exact=True).wait_for()
    settle(page)
    assert shown_run(page) == first
    # adding a unit on Compare keeps the run and the units already picked
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Compare units").click()
    page.get_by_role("heading", name="Compare units", exact=True).wait_for()
    settle(page)
    summary = page.locator('[data-testid="stMarkdownContainer"] li')
    before = [summary.nth(i).inner_text().split(" is ")[0] for i in range(summary.count())]
    assert len(before) == 3
    page.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option").nth(0).click()
    page.keyboard.press("Escape")
    summary.nth(3).wait_for()
    settle(page)
    assert shown_run(page) == first
    after = [summary.nth(i).inner_text().split(" is ")[0] for i in range(summary.count())]
    assert after[:3] == before and len(after) == 4
    shot(page, "compare_after_adding_en")


def test_no_request_leaves_the_server(serve, dashboard_db, page):
    """Every page asked fonts.gstatic.com for a favicon, which fails on an intranet."""
    server = serve(dashboard_db, "--no-auth")
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url)
            if urlparse(r.url).scheme in ("http", "https", "ws", "wss")
            and urlparse(r.url).hostname not in ("127.0.0.1", "localhost") else None)
    for path, title in (("", "年度考核总览"), ("unit", "单位画像"), ("data_quality", "数据质量")):
        open_page(page, f"{server.url}/{path}?lang=zh", title)
    assert outside == []


def test_hover_labels_say_what_the_mark_is(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    open_page(page, f"{server.url}/?lang=zh", "年度考核总览")
    hover(page, page.locator('[data-testid="stPlotlyChart"]').first.locator("g.point path").first)
    label = page.locator('[data-testid="stPlotlyChart"]').first.locator(".hovertext").first
    label.wait_for()
    assert re.search(r"：\d+ 个单位", label.text_content()), label.text_content()
    open_page(page, f"{server.url}/unit?lang=en", "Unit profile")
    contrib = page.locator('[data-testid="stPlotlyChart"]').first
    bars = contrib.locator("g.point path")
    top = contrib.bounding_box()["y"] + 80  # below the chart's tool bar, which takes the mouse
    boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
    widest = max((i for i, b in enumerate(boxes) if b["y"] > top), key=lambda i: boxes[i]["width"])
    hover(page, bars.nth(widest))
    contrib.locator(".hovertext").first.wait_for()
    text = contrib.locator(".hovertext").first.text_content()
    assert "contributes" in text and "points" in text and "effective weight" in text, text


def test_the_league_table_shows_its_bottom_and_a_row_opens_the_profile(serve, dashboard_db,
                                                                       page):
    server = serve(dashboard_db, "--no-auth")
    con = duckdb.connect(str(dashboard_db), read_only=True)
    run_id = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchall()[0][0]
    units = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ?", [run_id]).fetchall()[0][0]
    second = con.execute("SELECT unit_id FROM run_scores WHERE run_id = ? ORDER BY rank, unit_id "
                         "LIMIT 1 OFFSET 1", [run_id]).fetchall()[0][0]
    con.close()
    open_page(page, f"{server.url}/?lang=en", "Year at a glance")
    grid = page.locator('[data-testid="stDataFrame"]').first
    box = grid.bounding_box()
    assert box["height"] >= 35 * (units + 1) - 12, box  # every row, no 11-row scroll box
    shot(page, "overview_en")
    # click the second row's selection marker (left edge of the row)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 * 2 + 17)
    page.get_by_role("heading", name="Unit profile", exact=True).wait_for()
    settle(page)
    assert f"unit={second}" in page.url
    page.get_by_text(f"2 of {units}", exact=True).first.wait_for()  # that unit's rank metric


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kpi_labels_and_values_are_not_cut_off_and_screenshots(serve, dashboard_db, page, lang):
    server = serve(dashboard_db, "--no-auth")
    pages = [("", "年度考核总览", "Year at a glance"), ("compare", "单位对比", "Compare units"),
             ("unit", "单位画像", "Unit profile"),
             ("scheme_health", "方案体检：形式主义审查", "Scheme health: the formalism audit"),
             ("data_quality", "数据质量", "Data quality")]
    for path, zh, en in pages:
        open_page(page, f"{server.url}/{path}?lang={lang}", zh if lang == "zh" else en)
        cut = page.eval_on_selector_all(
            '[data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div, '
            '[data-testid="stMetricValue"] div',
            "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)")
        assert cut == [], (path, cut)
        shot(page, f"{path or 'overview'}_{lang}")


def test_a_picked_indicator_is_named_in_the_new_language_after_a_switch(serve, dashboard_db,
                                                                         page):
    """The funnel's indicator box kept showing the name it was first drawn with (English here)
    after the reader switched to Chinese: the widget is now seeded from the remembered choice."""
    from evaluator import readmodel as rm
    from evaluator.snapshot import latest_snapshot

    server = serve(dashboard_db, "--no-auth")
    snapshot = latest_snapshot(dashboard_db)
    assert snapshot is not None
    with duckdb.connect(str(snapshot), read_only=True) as con:
        run = rm.latest_run_id(con)
        first = {lang: rm.satisfaction_indicators(con, run, lang=lang)["indicator_name"][0]
                 for lang in ("en", "zh")}
    open_page(page, f"{server.url}/data_quality?lang=en", "Data quality")
    assert shown_choice(page, "Satisfaction indicator") == first["en"]
    page.get_by_text("中文", exact=True).click()
    page.get_by_role("heading", name="数据质量", exact=True).wait_for()
    settle(page)
    assert shown_choice(page, "满意度指标") == first["zh"]
