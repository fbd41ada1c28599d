"""Issue 12 in a real browser: filters in the address, years, the heat map's colours, drill-down,
downloads. Debian's Chromium driven by Playwright against `evaluator dashboard --no-auth`.

Tables are drawn on a canvas, so what a table holds is read from the websocket frames the
browser received (Streamlit's ForwardMsg protobuf; a table's rows are Arrow IPC bytes).
Screenshots of the new and changed pages in zh and en go to artifacts/screenshots/sc_*.png.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pytest
from helpers.browser import SHOTS, pick
from helpers.browser import after_rerun as settle
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from evaluator import readmodel as rm
from evaluator.export import export_run
from evaluator.grades_palette import grade_colour

pytestmark = pytest.mark.browser
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\+00:00|Z)?")


class Frames:
    """The tables the browser was sent, newest last (decoded from the websocket)."""

    def __init__(self, page) -> None:
        self.page = page
        self.tables: list[pa.Table] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: bytes | str) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        if element.WhichOneof("type") == "dataframe":
            data = element.dataframe.arrow_data.data
            self.tables.append(pa.ipc.open_stream(io.BytesIO(data)).read_all())

    def last(self, column: str, after: int = 0) -> pa.Table:
        """The newest table with `column` among those after the first `after` (waits for it:
        a cold first run can outlast the page's spinner)."""
        for _ in range(120):
            found = [t for t in self.tables[after:] if column in t.column_names]
            if found:
                return found[-1]
            self.page.wait_for_timeout(250)
        raise AssertionError(f"no table with {column!r}: {[t.column_names for t in self.tables]}")


def open_page(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).wait_for()
    settle(page)


def shot(page, name: str) -> None:
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 100, 12000)})
    settle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"sc_{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 2400})


def latest(db: Path) -> tuple[str, duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(db), read_only=True)
    run = con.execute("SELECT run_id FROM runs ORDER BY created_at DESC LIMIT 1").fetchall()[0][0]
    return run, con


def test_a_filter_narrows_the_table_survives_pages_and_is_in_the_address(serve, dashboard_db,
                                                                         page):
    server = serve(dashboard_db, "--no-auth")
    frames = Frames(page)
    run, con = latest(dashboard_db)
    good = {r[0] for r in con.execute(
        "SELECT unit_id FROM run_scores WHERE run_id = ? AND grade = 'good'", [run]).fetchall()}
    con.close()
    open_page(page, f"{server.url}/?lang=en", "Year at a glance")
    everyone = frames.last("Unit id").num_rows
    sent = len(frames.tables)
    pick(page, "Grade", "Good")
    page.wait_for_url(re.compile(r"grade=good"))
    assert set(frames.last("Unit id", after=sent).column("Unit id").to_pylist()) == good
    assert len(good) < everyone
    shot(page, "overview_filtered_en")
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_role("link", name="Compare units").click()
    page.get_by_role("heading", name="Compare units", exact=True).wait_for()
    settle(page)
    nav.get_by_role("link", name="Heat map").click()
    page.get_by_role("heading", name="Heat map: units × dimensions or indicators",
                     exact=True).wait_for()
    settle(page)
    assert "grade=good" in page.url
    rows = page.locator("table.heat tbody tr")
    rows.first.wait_for()  # the table comes after the spinner of a cold first run
    assert rows.count() == len(good)
    # a link with the filter opens the same view in a new tab (a fresh session)
    other = page.context.new_page()
    open_page(other, f"{server.url}/?lang=en&grade=good", "Year at a glance")
    other.get_by_text(f"Showing {len(good)} of", exact=False).first.wait_for()
    other.close()


def test_years_last_periods_score_and_rank_change_in_the_table(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    frames = Frames(page)
    run, con = latest(dashboard_db)
    previous = rm.previous_run_id(con, run)
    before = dict(con.execute("SELECT unit_id, rank FROM run_scores WHERE run_id = ?",
                              [previous]).fetchall())
    now = dict(con.execute("SELECT unit_id, rank FROM run_scores WHERE run_id = ?",
                           [run]).fetchall())
    con.close()
    open_page(page, f"{server.url}/?lang=zh", "年度考核总览")
    table = frames.last("单位编码")
    change = dict(zip(table.column("单位编码").to_pylist(),
                      table.column("名次变化（+ 为上升）").to_pylist(), strict=True))
    assert change == {u: before[u] - now[u] for u in now}
    page.get_by_text("进步最大（对比 2025）", exact=True).wait_for()
    shot(page, "overview_zh")


def test_heat_map_cells_are_coloured_by_grade_band(serve, dashboard_db, page):
    server = serve(dashboard_db, "--no-auth")
    run, con = latest(dashboard_db)
    scores = dict(((u, d), s) for u, d, s in con.execute(
        "SELECT unit_id, dimension_id, score FROM run_dimension_scores WHERE run_id = ? "
        "AND parent_id IS NULL", [run]).fetchall())
    dims = rm.top_dimensions(con, run, "en")["dimension_id"].to_list()
    bands = rm.score_bands(con, run)
    con.close()
    floors = bands["floor"].to_list()

    def colour(score: float) -> str:
        n = next((i for i, f in enumerate(floors) if f is not None and score >= f), len(floors) - 1)
        hexa = grade_colour(n, len(floors), light=True)
        r, g, b = (int(hexa[i:i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r}, {g}, {b})"

    for lang, title in (("en", "Heat map: units × dimensions or indicators"),
                        ("zh", "热力图：单位 × 维度或指标")):
        open_page(page, f"{server.url}/heatmap?lang={lang}", title)
        page.locator("table.heat tbody tr").first.wait_for()
        cells = page.eval_on_selector_all(
            "table.heat tbody tr",
            "rows => rows.map(r => [...r.cells].map(c => "
            "[c.innerText, getComputedStyle(c).backgroundColor]))")
        assert len(cells) > 50
        for row in cells:
            unit = row[2][0]
            for k, dim in enumerate(dims):
                assert row[6 + k][1] == colour(scores[unit, dim]), (unit, dim, row[6 + k])
        shot(page, f"heatmap_{lang}")
    page.get_by_text("Every indicator" if lang == "en" else "全部指标", exact=True).click()
    settle(page)
    page.locator("table.heat").wait_for()
    shot(page, "heatmap_indicators_zh")


def test_drill_down_a_row_opens_its_unit_and_an_indicator_its_raw_values(serve, dashboard_db,
                                                                         page):
    server = serve(dashboard_db, "--no-auth")
    frames = Frames(page)
    run, con = latest(dashboard_db)
    third = con.execute("SELECT unit_id FROM run_scores WHERE run_id = ? ORDER BY rank, unit_id "
                        "LIMIT 1 OFFSET 2", [run]).fetchall()[0][0]
    raw = rm.indicator_raw_values(con, run, third, "clinic_wait")
    con.close()
    open_page(page, f"{server.url}/?lang=en", "Year at a glance")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 * 3 + 17)  # the third row's selection marker
    page.get_by_role("heading", name="Unit profile", exact=True).wait_for()
    settle(page)
    assert f"unit={third}" in page.url
    page.get_by_text("3 of", exact=False).first.wait_for()
    sent = len(frames.tables)
    pick(page, "Show the indicators of", "Development and livelihoods")
    page.wait_for_url(lambda url: "dim=development" in url)  # the rerun writes the address
    settle(page)
    shown = frames.last("Effective weight", after=sent).column("Dimension").to_pylist()
    assert set(shown) == {"Development and livelihoods"}
    pick(page, "Open an indicator's raw values", "Average clinic waiting time")
    page.wait_for_url(lambda url: "ind=clinic_wait" in url)
    page.get_by_text("Behind the indicator: Average clinic waiting time").wait_for()
    values = frames.last("Row in the file")
    assert values.column("Raw value").to_pylist() == raw["value"].to_list()
    assert values.column("Row in the file").to_pylist() == raw["source_row"].to_list()
    shot(page, "unit_drill_en")


def test_downloads_are_the_audience_exports(serve, dashboard_db, page, tmp_path):
    server = serve(dashboard_db, "--no-auth")
    run, con = latest(dashboard_db)
    unit = con.execute("SELECT unit_id FROM run_scores WHERE run_id = ? ORDER BY unit_id LIMIT 1",
                       [run]).fetchall()[0][0]
    con.close()
    open_page(page, f"{server.url}/?lang=zh", "年度考核总览")
    with page.expect_download() as got:
        page.get_by_role("button", name="下载领导一页摘要（HTML，可打印）").click()
    summary = Path(got.value.path()).read_text(encoding="utf-8")
    assert got.value.suggested_filename == f"leadership_summary_{run}.zh.html"
    with page.expect_download() as got:
        page.get_by_role("button", name="下载年度结果工作簿（XLSX）").click()
    assert got.value.suggested_filename == f"results_{run}.zh.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()), read_only=True)
    export_run(dashboard_db, run, out=tmp_path / "zh", lang="zh", audience="office")
    ref_summary = (tmp_path / "zh" / "leadership_summary.zh.html").read_text(encoding="utf-8")
    assert STAMP.sub("", summary) == STAMP.sub("", ref_summary)
    ref_book = openpyxl.load_workbook(tmp_path / "zh" / "results.xlsx", read_only=True)
    assert book.sheetnames == ref_book.sheetnames
    first = book.sheetnames[0]
    assert [r for r in book[first].iter_rows(values_only=True)][:50] == \
        [r for r in ref_book[first].iter_rows(values_only=True)][:50]
    open_page(page, f"{server.url}/unit?lang=en&unit={unit}", "Unit profile")
    with page.expect_download() as got:
        page.get_by_role("button", name="Download this unit's report card (HTML)").click()
    assert got.value.suggested_filename == f"report_card_{unit}.en.html"
    card = Path(got.value.path()).read_text(encoding="utf-8")
    ref_card = (tmp_path / "zh" / "cards" / "en" / f"{unit}.html").read_text(encoding="utf-8")
    assert STAMP.sub("", card) == STAMP.sub("", ref_card)
    with page.expect_download(timeout=90_000) as got:
        page.get_by_role("button", name="Download the report card (PDF)").click()
    assert Path(got.value.path()).read_bytes().startswith(b"%PDF")
    shot(page, "unit_en")
    open_page(page, f"{server.url}/unit?lang=zh&unit={unit}", "单位画像")
    shot(page, "unit_zh")
