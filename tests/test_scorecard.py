"""Scorecard features (issue 12) under AppTest on real runs: filters and sort, years, drill-down.

The demo DB has 2025 and 2026 runs of one scheme; every figure is checked against the stored
run tables, never against the page's own numbers.
"""

from __future__ import annotations

import duckdb
import pytest
from helpers.dashboard import run_page, texts

from evaluator import readmodel as rm

# --------------------------------------------------------------------------- filters and sorting


def _units(snap, sql: str, params: list) -> set[str]:
    return {r[0] for r in snap.execute(sql, params).fetchall()}


def test_each_filter_narrows_the_league_table_to_the_stored_rows(snap):
    run = rm.latest_run_id(snap)
    options = rm.filter_options(snap, run)
    assert options["flag"] and options["parent_id"] and options["grade"]
    parent = options["parent_id"][0]
    flag = options["flag"][0]
    grade = options["grade"][1]
    got = rm.league_table(snap, run, parents=[parent])["unit_id"].to_list()
    assert set(got) == _units(
        snap, "SELECT s.unit_id FROM run_scores s JOIN current_units u USING (unit_id) "
        "WHERE s.run_id = ? AND u.parent_id = ?", [run, parent])
    got = rm.league_table(snap, run, flags=[flag])["unit_id"].to_list()
    assert set(got) == _units(
        snap, "SELECT unit_id FROM run_flags WHERE run_id = ? AND flag = ?", [run, flag])
    got = rm.league_table(snap, run, grades=[grade])["unit_id"].to_list()
    assert set(got) == _units(
        snap, "SELECT unit_id FROM run_scores WHERE run_id = ? AND grade = ?", [run, grade])
    both = rm.league_table(snap, run, grades=[grade], parents=[parent])["unit_id"].to_list()
    assert set(both) == set(got) & set(rm.league_table(snap, run, parents=[parent])["unit_id"])


@pytest.mark.parametrize("sort", ["score_change", "rank_change", "dim__governance", "score"])
def test_sort_by_any_dimension_or_change(snap, sort):
    run = rm.latest_run_id(snap)
    table = rm.league_table(snap, run, sort=sort)
    values = table[sort].drop_nulls().to_list()
    assert values == sorted(values, reverse=True) and len(values) > 10
    if sort == "dim__governance":
        stored = snap.execute(
            "SELECT unit_id, score FROM run_dimension_scores WHERE run_id = ? "
            "AND dimension_id = 'governance'", [run]).fetchall()
        assert dict(zip(table["unit_id"], table[sort], strict=True)) == pytest.approx(dict(stored))


def test_a_unit_viewer_gets_no_other_units_flags_or_dimensions(snap):
    run = rm.latest_run_id(snap)
    unit = rm.unit_choices(snap, run)["unit_id"][0]
    viewer = rm.Viewer("unit", unit)
    # unpublished runs are refused; the demo's runs are published
    table = rm.league_table(snap, run, viewer=viewer, flags=["show_off"], sort="dim__governance")
    assert list(table.columns) == list(rm.UNIT_LEAGUE_COLUMNS)
    assert table.height == rm.league_table(snap, run).height  # the flag filter is not applied
    assert rm.filter_options(snap, run, viewer=viewer)["flag"] == []


def test_filters_narrow_the_page_survive_navigation_and_sit_in_the_url(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "overview", "en")
    run = rm.latest_run_id(snap)
    total = len(at.dataframe[0].value)
    at.multiselect(key="w_f_grades").set_value(["good"]).run()
    at.selectbox(key="w_f_sort").set_value("dim__development").run()
    table = at.dataframe[0].value
    good = _units(snap, "SELECT unit_id FROM run_scores WHERE run_id = ? AND grade = 'good'", [run])
    assert set(table["Unit id"]) == good and len(table) < total
    dev = table["Development and livelihoods"].tolist()
    assert dev == sorted(dev, reverse=True)
    assert at.query_params["grade"] == "good" and at.query_params["sort"] == "dim__development"
    at.switch_page("views/unit.py").run()
    at.switch_page("views/overview.py").run()
    assert not at.exception
    assert set(at.dataframe[0].value["Unit id"]) == good
    assert at.multiselect(key="w_f_grades").value == ["good"]
    assert at.query_params["grade"] == "good"


def test_a_link_with_filters_opens_the_filtered_table(monkeypatch, dash_db, snap):
    run = rm.latest_run_id(snap)
    parent = rm.filter_options(snap, run)["parent_id"][1]
    monkeypatch.setenv("EVALUATOR_DB", str(dash_db))
    monkeypatch.setenv("EVALUATOR_NO_AUTH", "1")
    from helpers.dashboard import APP
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"lang": "zh", "parent": parent, "flag": "nonsense", "sort": "bogus"})
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["单位编码"]) == _units(
        snap, "SELECT s.unit_id FROM run_scores s JOIN current_units u USING (unit_id) "
        "WHERE s.run_id = ? AND u.parent_id = ?", [run, parent])
    assert at.multiselect(key="w_f_flags").value == []  # an unknown value is ignored
    assert at.selectbox(key="w_f_sort").value == "rank"


# --------------------------------------------------------------------------- years


def test_league_table_carries_last_periods_score_and_rank(snap):
    run = rm.latest_run_id(snap)
    previous = rm.previous_run_id(snap, run)
    assert previous is not None
    table = rm.league_table(snap, run)
    before = dict(snap.execute("SELECT unit_id, rank FROM run_scores WHERE run_id = ?",
                               [previous]).fetchall())
    for r in table.head(20).to_dicts():
        assert r["prev_rank"] == before[r["unit_id"]]
        assert r["rank_change"] == before[r["unit_id"]] - r["rank"]
        assert r["score_change"] == pytest.approx(r["score"] - r["prev_score"])
    assert rm.previous_period(snap, run) == "2025"


def test_overview_shows_best_beside_most_improved(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "overview", "en")
    run = rm.latest_run_id(snap)
    body = texts(at)
    assert "**Best**" in body and "**Most improved (against 2025)**" in body
    rows = snap.execute(
        "SELECT c.unit_name, c.score - p.score FROM run_scores c JOIN run_scores p "
        "ON p.unit_id = c.unit_id AND p.run_id = ? WHERE c.run_id = ? ORDER BY 2 DESC LIMIT 1",
        [rm.previous_run_id(snap, run), run]).fetchall()
    links = [p.proto.label for p in at.get("page_link")]
    top = next(n for n, label in enumerate(links) if label.startswith(rows[0][0]) and "points" in label)
    assert f"{rows[0][1]:+.1f} points" in links[top]
    best = snap.execute("SELECT unit_name FROM run_scores WHERE run_id = ? ORDER BY rank LIMIT 1",
                        [run]).fetchall()[0][0]
    assert any(label.startswith(best) and label.endswith(tuple("0123456789")) for label in links)


def test_league_table_columns_in_chinese(monkeypatch, dash_db):
    at = run_page(monkeypatch, dash_db, "overview", "zh")
    columns = list(at.dataframe[0].value.columns)
    assert {"上期得分", "名次变化（+ 为上升）", "上级单位"} <= set(columns)
    assert "发展与民生" in columns or any("发展" in c for c in columns)  # a dimension, by name


@pytest.fixture(scope="module")
def versions_db(demo_db, tmp_path_factory):
    """The demo DB with 2025 scored again under scheme version 2026.2 (the same scheme id)."""
    import shutil

    from helpers.browser import SCHEME

    from evaluator.scheme import load_scheme
    from evaluator.scoring import score_run
    from evaluator.snapshot import publish_snapshot
    from evaluator.store import connect

    folder = tmp_path_factory.mktemp("versions")
    db = folder / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    newer = folder / "scheme.yaml"
    newer.write_text(SCHEME.read_text(encoding="utf-8").replace('version: "2026.1"',
                                                                 'version: "2026.2"'),
                     encoding="utf-8")
    con = connect(db)
    score_run(con, load_scheme(newer), "2025", publish_snapshot=False)
    con.execute("UPDATE runs SET published = TRUE")
    con.close()
    publish_snapshot(db)
    return db


def test_trend_has_every_period_and_notes_a_scheme_version_change(monkeypatch, versions_db):
    import duckdb

    with duckdb.connect(str(versions_db), read_only=True) as con:
        run = con.execute("SELECT run_id FROM runs WHERE period = '2026'").fetchall()[0][0]
        unit = rm.unit_choices(con, run)["unit_id"][0]
        trend = rm.unit_trend(con, run, unit)
        periods = [r[0] for r in con.execute("SELECT DISTINCT period FROM runs ORDER BY 1").fetchall()]
    assert trend["period"].to_list() == periods == ["2025", "2026"]
    assert trend["scheme_version"].to_list() == ["2026.2", "2026.1"]  # 2025's latest run is v2026.2
    assert trend["version_changed"].to_list() == [False, True]
    at = run_page(monkeypatch, versions_db, "unit", "en")
    assert "From 2026 scored under scheme version 2026.1 (before: 2026.2)" in texts(at)
    import json

    trend_fig = next(f for f in (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
                     if f["layout"].get("xaxis", {}).get("type") == "category")
    assert any("2026.1" in a["text"] for a in trend_fig["layout"]["annotations"])
    at = run_page(monkeypatch, versions_db, "unit", "zh")
    assert "自 2026 起按方案版本 2026.1 评分" in texts(at)


# --------------------------------------------------------------------------- drill-down


def test_a_dimension_opens_its_indicators_and_an_indicator_its_raw_values(monkeypatch, dash_db,
                                                                          snap):
    run = rm.latest_run_id(snap)
    unit = rm.unit_choices(snap, run)["unit_id"][4]
    at = run_page(monkeypatch, dash_db, "unit", "en")
    at.selectbox(key="profile_unit").set_value(unit).run()
    at.selectbox(key="w_unit_dim").set_value("governance").run()
    table = at.dataframe[0].value
    stored = {r[0] for r in snap.execute(
        "SELECT indicator_id FROM run_indicator_scores WHERE run_id = ? AND unit_id = ? "
        "AND dimension_id = 'governance'", [run, unit]).fetchall()}
    assert len(table) == len(stored) and set(table["Dimension"]) == {"Governance and safety"}
    assert at.query_params["dim"] == "governance"
    measure_ind = next(i for i in stored if rm.indicator_source(snap, run, i)["kind"] == "measure")
    at.selectbox(key="w_unit_ind").set_value(measure_ind).run()
    assert not at.exception
    raw = at.dataframe[1].value
    measure = rm.indicator_source(snap, run, measure_ind)["measure"]
    rows = snap.execute(
        "SELECT period, value, source_row FROM current_outcomes WHERE unit_id = ? AND measure = ? "
        "AND year = 2026 ORDER BY period", [unit, measure]).fetchall()
    assert list(raw["Period"]) == [r[0] for r in rows]
    assert list(raw["Raw value"]) == pytest.approx([r[1] for r in rows])
    assert list(raw["Row in the file"]) == [r[2] for r in rows]
    # the raw values roll up to the raw value the indicator was scored on
    scored = snap.execute("SELECT raw_value FROM run_indicator_scores WHERE run_id = ? AND "
                          "unit_id = ? AND indicator_id = ?", [run, unit, measure_ind]).fetchall()
    rollup = rm.indicator_source(snap, run, measure_ind)["rollup"]
    values = [r[1] for r in rows]
    expected = {"mean": sum(values) / len(values), "last": values[-1], "sum": sum(values)}
    if rollup in expected and scored[0][0] is not None:
        assert scored[0][0] == pytest.approx(expected[rollup])


def test_leadership_gets_the_raw_values_but_no_funnel(monkeypatch, gate_db):
    """The funnel shows every unit's unsuppressed index, so only the office, who may see small
    cells, gets it in the drill-down; leadership still sees where a survey indicator comes from."""
    from helpers.users import PW, sign_in

    from evaluator import users

    with duckdb.connect(str(gate_db.parent / "snapshots" / gate_db.name), read_only=True) as con:
        run = rm.latest_run_id(con)
        unit = rm.unit_choices(con, run)["unit_id"][0]
        survey = next(i for i in rm.unit_indicators(con, run, unit)["indicator_id"]
                      if rm.indicator_source(con, run, i)["kind"] == "survey")
    users.add_user(gate_db, "chief", PW, role="leadership")
    at = run_page(monkeypatch, gate_db, "unit", "en", no_auth=False)
    at = sign_in(at, "chief", PW)
    at.selectbox(key="profile_unit").set_value(unit).run()
    before = len(at.get("plotly_chart"))
    at.selectbox(key="w_unit_ind").set_value(survey).run()
    assert not at.exception
    assert "From the survey questions" in texts(at)
    assert len(at.get("plotly_chart")) == before  # no funnel


def test_the_funnel_in_the_drill_down(monkeypatch, dash_db, snap):
    run = rm.latest_run_id(snap)
    unit = rm.unit_choices(snap, run)["unit_id"][0]
    survey = next(i for i in rm.unit_indicators(snap, run, unit)["indicator_id"]
                  if rm.indicator_source(snap, run, i)["kind"] == "survey")
    at = run_page(monkeypatch, dash_db, "unit", "en")
    at.selectbox(key="profile_unit").set_value(unit).run()
    charts_before = len(at.get("plotly_chart"))
    at.selectbox(key="w_unit_ind").set_value(survey).run()
    assert not at.exception
    import json

    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figures) == charts_before + 1
    funnel = next(f for f in figures if any(t.get("name") == "This unit" for t in f["data"]))
    mine = next(t for t in funnel["data"] if t.get("name") == "This unit")
    index = snap.execute("SELECT raw_index FROM run_survey_quality WHERE run_id = ? AND "
                         "unit_id = ? AND indicator_id = ?", [run, unit, survey]).fetchall()[0][0]
    assert mine["y"] == pytest.approx([index])
