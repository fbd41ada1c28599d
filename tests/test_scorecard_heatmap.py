"""The heat map (issue 12) under AppTest: cells coloured by the scheme's grade bands, sortable,
filtered like the league table, refused to units.

Colours are read from the HTML table the server sends and compared with bands computed here
from the scheme file itself, not from the page's code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.browser import SCHEME
from helpers.dashboard import run_page
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from evaluator import readmodel as rm
from evaluator.grades_palette import grade_colour

CELL = r'<td(?: class="n")?( style="background:(#[0-9a-f]{6})")?>(.*?)</td>'


def heat(at) -> tuple[list[str], list[list[tuple[str | None, str]]]]:
    """The heat map's headers and rows, each cell as (background colour or None, text)."""
    body = next(h.proto.body for h in at.get("html") if 'class="heat"' in h.proto.body)
    headers = re.findall(r"<th>(.*?)</th>", body)
    rows = [
        [(m[1] or None, m[2]) for m in re.findall(CELL, r)]
        for r in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1])
    ]
    return headers, [[(c[0], c[1]) for c in row] for row in rows]


DOC = YAML(typ="safe").load(SCHEME.read_text(encoding="utf-8"))


def expected_colour(score: float | None) -> str:
    """The band colour of a 0–100 score under the demo scheme's grades (read from its YAML)."""
    doc = DOC
    grades = doc["grades"]
    lo, hi = doc.get("scale", {}).get("min", 0), doc.get("scale", {}).get("max", 100)
    if score is None:
        return "#ffffff"
    for n, g in enumerate(grades):
        floor = g.get("min_score")
        if floor is None or score >= (floor - lo) / (hi - lo) * 100 or n == len(grades) - 1:
            return grade_colour(n, len(grades), light=True)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("level", ["dimension", "indicator"])
def test_heatmap_colours_follow_the_grade_bands(monkeypatch, dash_db, snap, level):
    at = run_page(monkeypatch, dash_db, "heatmap", "en")
    if level == "indicator":
        at.radio(key="w_hm_level").set_value("indicator").run()
        assert not at.exception
    headers, rows = heat(at)
    run = rm.latest_run_id(snap)
    columns = rm.heatmap_columns(snap, run, "en", level)
    assert headers[:6] == ["Rank", "Unit", "Unit id", "Peer group", "Score", "Grade"]
    assert headers[6:] == columns["name"].to_list()
    assert len(rows) == snap.execute("SELECT count(*) FROM run_scores WHERE run_id = ?",
                                     [run]).fetchall()[0][0]
    source = "run_dimension_scores" if level == "dimension" else "run_indicator_scores"
    node = "dimension_id" if level == "dimension" else "indicator_id"
    stored = {
        (u, n): s
        for u, n, s in snap.execute(f"SELECT unit_id, {node}, score FROM {source} WHERE run_id = ?",
                                    [run]).fetchall()
    }
    checked = set()
    for row in rows:
        unit = row[2][1]
        for k, node_id in enumerate(columns["node_id"].to_list()):
            score = stored.get((unit, node_id))
            colour, text = row[6 + k]
            assert colour == expected_colour(score), (unit, node_id, score)
            if score is None:
                assert text == "—"
            else:  # one decimal, rounded (not cut)
                assert re.fullmatch(r"-?\d+\.\d", text) and abs(float(text) - score) <= 0.05 + 1e-9
            checked.add(colour)
    assert len(checked) >= 3  # the demo spans several bands: the test would see a wrong band


def test_heatmap_sorts_by_any_column_and_keeps_the_filters(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "overview", "en")
    run = rm.latest_run_id(snap)
    peer = rm.filter_options(snap, run)["peer_group"][0]
    at.multiselect(key="w_f_peers").set_value([peer]).run()
    at.switch_page("views/heatmap.py").run()
    assert not at.exception
    headers, rows = heat(at)
    in_peer = {r[0] for r in snap.execute(
        "SELECT unit_id FROM run_scores WHERE run_id = ? AND peer_group = ?", [run, peer]).fetchall()}
    assert {r[2][1] for r in rows} == in_peer
    at.selectbox(key="w_f_sort").set_value("dim__satisfaction").run()
    headers, rows = heat(at)
    k = headers.index("Citizen satisfaction")
    values = [float(r[k][1]) for r in rows if r[k][1] != "—"]
    assert values == sorted(values, reverse=True)
    at.radio(key="w_hm_level").set_value("indicator").run()
    first = rm.heatmap_columns(snap, run, "en", "indicator")["column"][0]
    at.selectbox(key="w_f_sort").set_value(first).run()
    name = rm.heatmap_columns(snap, run, "en", "indicator")["name"][0]
    headers, rows = heat(at)
    k = headers.index(name)
    values = [float(r[k][1]) for r in rows if r[k][1] != "—"]
    assert values == sorted(values, reverse=True) and len(values) > 5
    assert at.query_params["level"] == "indicator" and at.query_params["sort"] == first
    assert len({r[3][1] for r in rows}) == 1  # still one peer group
    at.selectbox(key="hm_open").set_value(rows[0][2][1]).run()  # drill-down: the unit's profile
    assert at.selectbox(key="profile_unit").value == rows[0][2][1]


def test_heatmap_in_chinese_and_refused_to_units(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "heatmap", "zh")
    assert at.title[0].value == "热力图：单位 × 维度或指标"
    assert "分数段（0–100）" in at.markdown[0].value
    assert "同类组" in heat(at)[0]
    run = rm.latest_run_id(snap)
    unit = rm.unit_choices(snap, run)["unit_id"][0]
    with pytest.raises(rm.Forbidden):
        rm.heatmap(snap, run, viewer=rm.Viewer("unit", unit))
    leadership = rm.heatmap(snap, run, viewer=rm.Viewer("leadership"))
    assert leadership.table.height == rm.heatmap(snap, run).table.height


def test_band_floors_scale_with_the_scheme(snap):
    bands = rm.score_bands(snap, rm.latest_run_id(snap))
    doc = DOC
    assert bands["grade"].to_list() == [g["code"] for g in doc["grades"]]
    floors = [g.get("min_score") for g in doc["grades"]]
    assert bands["floor"].to_list() == floors  # a 0–100 scale keeps its floors


@given(
    floors=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=5, unique=True),
    scores=st.lists(st.one_of(st.none(), st.floats(-10, 110, allow_nan=False)), max_size=30),
)
def test_band_of_is_the_first_band_reached(floors, scores):
    """Property: a score is in the first band (best first) whose floor it reaches, else the last."""
    import polars as pl

    floors = sorted(floors, reverse=True)
    bands = pl.DataFrame({"grade": [f"g{i}" for i in range(len(floors) + 1)],
                          "grade_name": "x", "floor": [*floors, None],
                          "grade_order": list(range(len(floors) + 1))})
    got = pl.DataFrame({"s": scores}, schema={"s": pl.Float64}).select(
        rm.band_of(pl.col("s"), bands).alias("b"))["b"].to_list()
    for score, band in zip(scores, got, strict=True):
        if score is None:
            assert band is None
        else:
            want = next((f"g{i}" for i, f in enumerate(floors) if score >= f), f"g{len(floors)}")
            assert band == want


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), max_size=30),
       st.integers(0, 3))
def test_fixed_decimals_match_printf(values, decimals):
    """The heat map's numbers: exactly `decimals` decimals, within half a unit of the last."""
    import sys

    import polars as pl

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
    from ui.heat_table import fixed

    got = pl.DataFrame({"v": values}, schema={"v": pl.Float64}).select(
        fixed(pl.col("v"), decimals).alias("t"))["t"].to_list()
    for v, text in zip(values, got, strict=True):
        if v is None:
            assert text == "—"
            continue
        assert re.fullmatch(r"-?\d+" + (rf"\.\d{{{decimals}}}" if decimals else ""), text), text
        assert abs(float(text) - v) <= 0.5 * 10 ** -decimals * (1 + 1e-9) + 1e-9


def test_heatmap_pages_a_long_table_and_the_download_keeps_every_row(monkeypatch, dash_db, snap):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "dashboards"))
    import ui.heat_table as heat_html  # the page reads its page size here at each run

    monkeypatch.setattr(heat_html, "PAGE_ROWS", 7)
    at = run_page(monkeypatch, dash_db, "heatmap", "en")
    run = rm.latest_run_id(snap)
    units = [r[0] for r in snap.execute(
        "SELECT unit_id FROM run_scores WHERE run_id = ? ORDER BY rank NULLS LAST, score DESC, "
        "unit_id", [run]).fetchall()]
    assert len(units) > 14
    _, rows = heat(at)
    assert [r[2][1] for r in rows] == units[:7]
    pager = at.selectbox(key="w_hm_page")
    assert pager.options[:2] == [f"Rows 1–7 of {len(units)}", f"Rows 8–14 of {len(units)}"]
    pager.set_value(7).run()
    assert not at.exception
    _, rows = heat(at)
    assert [r[2][1] for r in rows] == units[7:14]
    assert at.selectbox(key="hm_open").options[1:] == [
        next(o for o in at.selectbox(key="hm_open").options if f"({u})" in o) for u in units[7:14]]
