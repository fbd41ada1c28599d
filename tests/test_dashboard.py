"""Dashboard pages under streamlit's AppTest, on real runs (demo data → ingest → score_run).

Every page in zh and en, the empty and run-less databases, the sign-in page, and the page content
checked against the stored run (not just "no exception").
"""

from __future__ import annotations

import re
import shutil
import string

import duckdb
import polars as pl
import pytest
from helpers.dashboard import PAGES, ROOT, run_page, texts
from streamlit.testing.v1 import AppTest

from evaluator import readmodel as rm
from evaluator.snapshot import publish_snapshot
from evaluator.store import connect

# --------------------------------------------------------------------------- every page, zh and en


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_in_both_languages(monkeypatch, dash_db, page, lang):
    at = run_page(monkeypatch, dash_db, page, lang)
    _, zh, en = PAGES[page]
    assert at.title[0].value == (zh if lang == "zh" else en)
    assert at.sidebar.radio(key="w_lang").value == lang
    banner = at.warning[0].value
    assert ("未启用登录" in banner) if lang == "zh" else ("Login is off" in banner)


def test_language_switch_turns_the_page_english(monkeypatch, dash_db):
    at = run_page(monkeypatch, dash_db, "overview", "zh")
    assert at.title[0].value == "年度考核总览"
    at.sidebar.radio(key="w_lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Year at a glance"
    assert "League table" in [s.value for s in at.subheader]


def test_overview_league_table_matches_the_run(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "overview", "en")
    run_id = rm.latest_run_id(snap)
    units = snap.execute("SELECT count(*) FROM run_scores WHERE run_id = ?", [run_id]).fetchall()[
        0
    ][0]
    table = at.dataframe[0].value
    assert len(table) == units
    assert list(table["Rank"])[:3] == sorted(table["Rank"])[:3]
    best = snap.execute(
        "SELECT unit_name FROM run_scores WHERE run_id = ? ORDER BY rank, unit_id LIMIT 1", [run_id]
    ).fetchall()[0][0]
    assert table["Unit"].iloc[0] == best
    # the demo plants show-off units: their flag is shown, translated
    assert table["Flags"].fillna("").str.contains("High paperwork, weak results").any()
    # movers against 2025 are listed with the indicators behind them
    body = texts(at)
    assert "Biggest rises" in body and "Mainly:" in body


def test_overview_filters_and_search(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "overview", "en")
    run_id = rm.latest_run_id(snap)
    peer = rm.filter_options(snap, run_id)["peer_group"][0]
    at.multiselect(key="w_f_peers").set_value([peer]).run()
    in_group = snap.execute(
        "SELECT count(*) FROM run_scores WHERE run_id = ? AND peer_group = ?", [run_id, peer]
    ).fetchall()[0][0]
    assert len(at.dataframe[0].value) == in_group
    name = snap.execute(
        "SELECT unit_name FROM run_scores WHERE run_id = ? AND peer_group = ? "
        "ORDER BY unit_id LIMIT 1",
        [run_id, peer],
    ).fetchall()[0][0]
    at.text_input(key="w_f_search").set_value(name).run()
    assert name in list(at.dataframe[0].value["Unit"])
    assert len(at.dataframe[0].value) < in_group


def test_compare_page_draws_radar_bars_and_a_summary_per_unit(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "compare", "en")
    chosen = at.multiselect(key="w_cmp_units").value
    assert len(chosen) == 3
    assert len(at.get("plotly_chart")) == 2
    names = dict(
        snap.execute(
            "SELECT unit_id, unit_name FROM run_scores WHERE run_id = ?", [rm.latest_run_id(snap)]
        ).fetchall()
    )
    summary = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert [re.match(r"- \*\*(.+?)\*\*", s).group(1) for s in summary] == [names[u] for u in chosen]
    at.multiselect(key="w_cmp_units").set_value(chosen[:1]).run()
    assert "Pick at least two units." in texts(at)
    assert not at.get("plotly_chart")


def test_unit_profile_explains_the_score_down_to_raw_values(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "unit", "en")
    run_id = rm.latest_run_id(snap)
    unit = at.selectbox(key="profile_unit").value
    rows = snap.execute(
        "SELECT sum(contribution), count(*) FROM run_indicator_scores "
        "WHERE run_id = ? AND unit_id = ?",
        [run_id, unit],
    ).fetchall()[0]
    table = at.dataframe[0].value
    assert len(table) == rows[1]
    assert table["Contribution"].sum() == pytest.approx(rows[0], abs=0.01)  # shown to 4 dp
    assert {"Raw value", "Scoring rule", "Effective weight"} <= set(table.columns)
    score = snap.execute(
        "SELECT score FROM run_scores WHERE run_id = ? AND unit_id = ?", [run_id, unit]
    ).fetchall()[0][0]
    assert at.metric[0].value == f"{score:.2f}"
    # satisfaction with interval and n, and exclusions by reason
    assert any("95% interval" in df.value.columns for df in at.dataframe)
    assert any("Reason" in df.value.columns for df in at.dataframe)


def test_unit_profile_shows_a_flagged_unit_flags(monkeypatch, dash_db, snap):
    """Flags with their whole evidence sentence (it was cut off in a narrow cell), zh half only."""
    run_id = rm.latest_run_id(snap)
    unit, zh, en = snap.execute(
        "SELECT unit_id, evidence_zh, evidence FROM run_flags WHERE run_id = ? AND flag = 'show_off' "
        "ORDER BY unit_id LIMIT 1",
        [run_id],
    ).fetchall()[0]
    at = run_page(monkeypatch, dash_db, "unit", "zh")
    at.selectbox(key="profile_unit").set_value(unit).run()
    lines = [m.value for m in at.markdown if "重留痕轻成效" in m.value]
    assert lines == [f"- **重留痕轻成效**：{zh}"]
    assert en not in texts(at)
    at.sidebar.radio(key="w_lang").set_value("en").run()
    assert f"- **High paperwork, weak results**: {en}" in [m.value for m in at.markdown]


def test_scheme_health_shows_the_linters_figures(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "scheme", "en")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Indicators"] == "16"
    assert metrics["Burden (h/year)"] == "11.5"
    assert metrics["Trace weight"] == "8% → 6%"
    findings = at.dataframe[0].value
    assert "Likes on official posts" in list(findings["Indicator"])
    assert len(at.get("plotly_chart")) == 2  # weights and the declared-vs-effective ranking


def test_data_quality_lists_batches_and_draws_the_funnel(monkeypatch, dash_db, snap):
    at = run_page(monkeypatch, dash_db, "quality", "en")
    batches = snap.execute("SELECT count(*) FROM load_batches").fetchall()[0][0]
    assert len(at.dataframe[0].value) == batches
    assert "99.8%" in texts(at)
    assert len(at.get("plotly_chart")) == 3  # exclusions, satisfaction and excluded-share funnels


def test_sensitivity_without_uncertainty_says_how_to_compute_it(monkeypatch, dash_db):
    at = run_page(monkeypatch, dash_db, "sensitivity", "en")
    assert "--uncertainty" in texts(at)
    at = run_page(monkeypatch, dash_db, "sensitivity", "zh")
    assert "本次运行没有计算不确定性" in texts(at)


# --------------------------------------------------------------------------- empty states


@pytest.mark.parametrize("page", ["overview", "compare", "sensitivity"])
def test_no_snapshot_gives_a_helpful_page(monkeypatch, tmp_path, page):
    at = run_page(monkeypatch, tmp_path / "missing.duckdb", page, "en")
    assert "Nothing to show yet" in texts(at)
    assert "evaluator demo" in texts(at)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_empty_database_gives_a_helpful_page(monkeypatch, tmp_path, lang):
    db = tmp_path / "empty.duckdb"
    connect(db).close()
    publish_snapshot(db)
    for page in PAGES:
        at = run_page(monkeypatch, db, page, lang)
        assert ("数据库是空的" if lang == "zh" else "The database is empty") in texts(at)


def test_data_without_runs_says_how_to_score(monkeypatch, tmp_path, demo_build):
    from evaluator.ingest import ingest_file

    db = tmp_path / "loaded.duckdb"
    con = connect(db)
    ingest_file(con, "units", demo_build.files.path("units"), db_path=db)
    con.close()
    publish_snapshot(db)
    at = run_page(monkeypatch, db, "overview", "en")
    body = texts(at)
    assert "no scoring run yet" in body and "evaluator score" in body
    assert "120 units" in body
    # acceptance #5: a generic scheme (the data may be streets, not townships), singular nouns
    assert "--scheme YOUR_SCHEME.yaml" in body and "demo_township" not in body
    assert "(1 load batch)" in body and "load batches" not in body
    # the data quality page shows what was loaded without a run: batches and coverage
    at = run_page(monkeypatch, db, "quality", "zh")
    assert "数据已导入，但还没有计分结果" in texts(at)
    batches = at.dataframe[0].value
    assert list(batches["类型"]) == ["单位"] and list(batches["行数"]) == [120]
    assert "已导入数据的覆盖情况（尚无考核运行）" in [s.value for s in at.subheader]


def test_a_foreign_database_is_explained(monkeypatch, tmp_path):
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    publish_snapshot(db)
    at = run_page(monkeypatch, db, "overview", "en")
    assert "not an evaluator database" in texts(at)


# --------------------------------------------------------------------------- sign-in seam


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_with_login_on_and_no_users_the_app_says_how_to_add_one(monkeypatch, dash_db, lang):
    at = run_page(monkeypatch, dash_db, None, lang, no_auth=False)
    assert at.title[0].value == ("需要配置登录用户" if lang == "zh" else "Sign-in needs a user")
    assert "--no-auth" in texts(at) and "users" in texts(at)
    assert not at.dataframe  # no results leak past the gate


def test_pages_enforce_the_gate_even_when_run_alone(monkeypatch, dash_db):
    at = run_page(monkeypatch, dash_db, "overview", "en", no_auth=False)
    assert at.title[0].value == "Sign-in needs a user"
    assert not at.dataframe


# --------------------------------------------------------------------------- labels


def test_every_label_has_both_languages_with_the_same_placeholders():
    import sys

    sys.path.insert(0, str(ROOT / "dashboards"))
    from ui.i18n import L

    fields = string.Formatter()
    for key, (zh, en) in L.items():
        assert zh.strip() and en.strip(), key
        names = [{f for _, f, _, _ in fields.parse(s) if f} for s in (zh, en)]
        assert names[0] == names[1], key


def test_every_label_key_used_by_the_pages_exists():
    import sys

    sys.path.insert(0, str(ROOT / "dashboards"))
    from ui.i18n import L

    used: set[str] = set()
    for path in (ROOT / "dashboards").rglob("*.py"):
        if path.name == "i18n.py":  # defines the labels (its docstring shows `t("key")`)
            continue
        used |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", path.read_text(encoding="utf-8")))
        used |= set(re.findall(r"\(\s*\"[^\"]+\",\s*\"(page_[a-z]+)\"", path.read_text("utf-8")))
    missing = used - set(L)
    assert not missing
    assert len(used) > 80


def test_readmodel_frames_are_polars(snap):
    run_id = rm.latest_run_id(snap)
    assert isinstance(rm.league_table(snap, run_id), pl.DataFrame)


@pytest.mark.slow
def test_rank_intervals_when_the_run_computed_them(monkeypatch, tmp_path, demo_db):
    """Sensitivity and the overview's interval column, on a real `--uncertainty` run."""
    from evaluator.scheme import load_scheme
    from evaluator.scoring import score_run

    db = tmp_path / "u.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    run_id = score_run(con, load_scheme(ROOT / "indicators" / "demo_township.yaml"), "2026",
                       uncertainty=True)
    n = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ? AND rank_low IS NOT NULL",
                    [run_id]).fetchall()[0][0]
    units = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ?", [run_id]).fetchall()[0][0]
    con.close()
    # every scored unit gets its interval: a run without them is a regression, not a skip
    assert n == units > 0, "score --uncertainty stored no rank intervals"
    publish_snapshot(db)
    at = run_page(monkeypatch, db, "sensitivity", "en")
    assert "Rank intervals" in [s.value for s in at.subheader]
    assert len(at.dataframe[0].value) == n
    at = run_page(monkeypatch, db, "overview", "en")
    assert "Rank interval" in at.dataframe[0].value.columns
    assert "not reliably different" in texts(at)


# --------------------------------------------------------------------------- state across pages


def test_language_and_run_survive_page_navigation(monkeypatch, dash_db, snap):
    """Acceptance #1: /?lang=en → Compare units stayed Chinese; a picked older run was dropped."""
    at = run_page(monkeypatch, dash_db, "overview", "zh")
    at.sidebar.radio(key="w_lang").set_value("en").run()
    at.switch_page(PAGES["compare"][0]).run()
    assert not at.exception
    assert at.title[0].value == "Compare units"
    assert at.query_params["lang"] in ("en", ["en"])  # the URL says so too after navigation
    older = snap.execute(
        "SELECT run_id FROM runs ORDER BY created_at LIMIT 1"
    ).fetchall()[0][0]
    at.sidebar.selectbox(key="w_run").set_value(older).run()
    at.switch_page(PAGES["unit"][0]).run()
    assert not at.exception
    assert at.title[0].value == "Unit profile"
    assert older in " ".join(c.value for c in at.caption)
    assert at.query_params["run"] in (older, [older])


# --------------------------------------------------------------------------- Chinese pages in Chinese


def _ascii_ids(values) -> list[str]:
    """Values that look like raw codes (snake_case ids), which a Chinese page must not show."""
    return [v for v in values if isinstance(v, str) and re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", v)]


def test_scheme_health_in_chinese_has_chinese_findings_rules_and_names(monkeypatch, dash_db, snap):
    """Acceptance #2: English findings, rule ids and indicator ids on the Chinese page."""
    at = run_page(monkeypatch, dash_db, "scheme", "zh")
    run_id = rm.latest_run_id(snap)
    stored = snap.execute(
        "SELECT message_zh FROM run_lint WHERE run_id = ? AND message_zh IS NOT NULL", [run_id]
    ).fetchall()
    assert stored
    findings = at.dataframe[0].value
    assert set(findings["说明"]) == {m for (m,) in stored}
    assert "仅留痕指标" in set(findings["检查规则"])
    assert not _ascii_ids(findings["检查规则"]) and not _ascii_ids(findings["指标名称"])
    assert "政务号文章点赞数" in set(findings["指标名称"])
    burdens = next(d.value for d in at.dataframe if list(d.value.columns) == ["指标名称", "小时/年"])
    assert "召开专题会议次数" in set(burdens["指标名称"]) and not _ascii_ids(burdens["指标名称"])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_codes_are_labels_in_both_languages(monkeypatch, dash_db, lang):
    """Scoring rules, batch kinds, evidence classes and flags are labels, never raw ids."""
    at = run_page(monkeypatch, dash_db, "unit", lang)
    table = at.dataframe[0].value
    rule, evidence = ("计分规则", "证据类型") if lang == "zh" else ("Scoring rule", "Evidence")
    assert not _ascii_ids(table[rule]) and "min_max" not in set(table[rule])
    assert ("极差标准化" if lang == "zh" else "Min–max") in set(table[rule])
    assert ("成效" if lang == "zh" else "Outcome") in set(table[evidence])
    at = run_page(monkeypatch, dash_db, "quality", lang)
    kinds = set(at.dataframe[0].value["类型" if lang == "zh" else "Kind"])
    assert kinds & ({"单位", "问卷答案"} if lang == "zh" else {"Units", "Survey answers"})
    if lang == "zh":
        assert not kinds & {"units", "outcomes", "surveys"}


def test_an_empty_table_says_so_in_the_readers_language(monkeypatch, dash_db):
    """Streamlit's grid says "empty" (English) for zero rows; the page says it in Chinese."""
    at = run_page(monkeypatch, dash_db, "overview", "zh")
    at.text_input(key="w_f_search").set_value("zzzz不存在").run()
    assert "没有符合条件的记录。" in texts(at)
    assert not at.dataframe


# --------------------------------------------------------------------------- compare charts


def _figures(at: AppTest) -> list[dict]:
    import json

    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_compare_charts_one_colour_per_unit_and_readable_labels(monkeypatch, dash_db, lang):
    """Acceptance #3: a unit's colour differed between radar and bars; labels were cut off or
    collided with the legend."""
    at = run_page(monkeypatch, dash_db, "compare", lang)
    chosen = at.multiselect(key="w_cmp_units").value
    at.multiselect(key="w_cmp_units").set_value([chosen[2], chosen[0], chosen[1]]).run()
    radar, bars = _figures(at)
    radar_colour = {tr["name"]: tr["line"]["color"] for tr in radar["data"]}
    bar_colour = {tr["name"]: tr["marker"]["color"] for tr in bars["data"] if tr["type"] == "bar"}
    assert len(radar_colour) == 3 and radar_colour == bar_colour
    assert len(set(radar_colour.values())) == 3
    # radar labels: wrapped, never longer than a short line, nothing lost
    for line in (part for tr in radar["data"] for lab in tr["theta"] for part in lab.split("<br>")):
        assert len(line) <= (8 if lang == "zh" else 16), line
    # the legend sits above the bars, away from the rotated indicator names below them
    legend = bars["layout"]["legend"]
    assert legend["y"] >= 1 and legend["yanchor"] == "bottom"
    assert bars["layout"]["xaxis"]["automargin"] is True


def test_unit_profile_numbers_are_rounded_for_people(monkeypatch, dash_db, snap):
    """Acceptance #5: weights as percentages, indicator scores and effective n to 1 decimal."""
    import json

    at = run_page(monkeypatch, dash_db, "unit", "en")
    table = at.dataframe[0]
    assert table.value["Effective weight"].sum() == pytest.approx(100, abs=0.01)
    config = json.loads(table.proto.columns)
    assert config["Effective weight"]["type_config"]["format"] == "%.1f%%"
    assert config["Indicator score"]["type_config"]["format"] == "%.1f"
    sat = next(d for d in at.dataframe if "Effective sample size" in d.value.columns)
    assert json.loads(sat.proto.columns)["Effective sample size"]["type_config"]["format"] == "%.1f"


def test_the_rank_scatter_shows_units_that_did_not_move():
    """RdBu is near-white at a gain of 0: without an outline a run whose trace policy moved no one
    drew an empty chart (only the diagonal)."""
    import sys

    sys.path.insert(0, str(ROOT / "dashboards"))
    from ui.charts import rank_scatter

    still = pl.DataFrame({"unit_name": ["甲", "乙"], "rank": [1, 2], "rank_declared": [1, 2],
                          "rank_gain": [0, 0]})
    marker = rank_scatter(still).data[1].marker
    assert marker.line.width and marker.line.color not in (None, "white", "#fff", "#ffffff")
