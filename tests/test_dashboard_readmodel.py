"""The dashboard's read model and snapshots, checked against the stored runs they reshape."""

from __future__ import annotations

import math
import os
import shutil
import stat
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator import readmodel as rm
from evaluator.lint import lint_file
from evaluator.snapshot import (
    SnapshotError,
    latest_snapshot,
    publish_from_connection,
    publish_snapshot,
    snapshot_path,
    snapshot_version,
)
from evaluator.store import connect

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def con(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("rm") / "evaluator.duckdb"
    shutil.copy(demo_db, db)
    c = duckdb.connect(str(publish_snapshot(db)), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def run(con) -> str:
    run_id = rm.latest_run_id(con)
    assert run_id is not None
    return run_id


def frame(con, sql: str, params: list) -> pl.DataFrame:
    return con.sql(sql, params=params).pl()


# --------------------------------------------------------------------------- runs and overview


def test_latest_and_previous_runs(con, run):
    info = rm.run_info(con, run)
    assert info is not None and info.period == "2026" and info.units == 120
    prev = rm.previous_run_id(con, run)
    assert prev is not None and rm.run_info(con, prev).period == "2025"
    assert rm.previous_run_id(con, prev) is None
    assert rm.run_info(con, "no-such-run") is None


def test_league_table_is_the_stored_ranking_with_flags_and_grade_names(con, run):
    league = rm.league_table(con, run, lang="zh")
    stored = frame(
        con, "SELECT unit_id, score, rank, grade FROM run_scores WHERE run_id = ?", [run]
    )
    assert league.height == stored.height
    assert league["rank"].is_sorted()
    joined = league.join(stored, on="unit_id", suffix="_s")
    assert (joined["score"] == joined["score_s"]).all() and (
        joined["rank"] == joined["rank_s"]
    ).all()
    assert set(league["grade_name"].drop_nulls()) <= {"优秀", "良好", "一般", "较差"}
    flagged = frame(con, "SELECT DISTINCT unit_id FROM run_flags WHERE run_id = ?", [run])
    assert set(league.filter(pl.col("flags").is_not_null())["unit_id"]) == set(flagged["unit_id"])


def test_league_filters_combine(con, run):
    opts = rm.filter_options(con, run)
    peer = opts["peer_group"][0]
    part = rm.league_table(con, run, peer_groups=[peer])
    assert part.height > 0 and set(part["peer_group"]) == {peer}
    assert rm.league_table(con, run, unit_types=["no-such-type"]).is_empty()
    one = part["unit_name"][0]
    found = rm.league_table(con, run, peer_groups=[peer], search=one[:2])
    assert one in found["unit_name"].to_list()
    assert set(found["peer_group"]) == {peer}
    by_id = rm.league_table(con, run, search=part["unit_id"][0])
    assert part["unit_id"][0] in by_id["unit_id"].to_list()


def test_grade_distribution_counts_every_unit_in_scheme_order(con, run):
    dist = rm.grade_distribution(con, run, lang="en")
    assert dist["grade"].to_list()[:4] == ["excellent", "good", "fair", "poor"]
    assert dist["units"].sum() == 120


def test_movers_are_score_changes_explained_by_contribution_changes(con, run):
    prev = rm.previous_run_id(con, run)
    moves = rm.movers(con, run, prev, lang="en", top=5)
    assert 0 < moves.height <= 10
    assert ((moves["change"] - (moves["score"] - moves["prev_score"])).abs() < 1e-9).all()
    ups = moves.filter(pl.col("direction") == "up")
    downs = moves.filter(pl.col("direction") == "down")
    assert (ups["change"] > 0).all() and (downs["change"] < 0).all()
    # the biggest riser really is the biggest rise
    both = frame(
        con,
        """SELECT c.score - p.score AS d FROM run_scores c JOIN run_scores p
                         USING (unit_id) WHERE c.run_id = ? AND p.run_id = ?""",
        [run, prev],
    )
    assert ups["change"].max() == pytest.approx(both["d"].max())
    # drivers name indicators whose contribution moved the same way
    assert ups["drivers"].str.contains(r"\(\+").all()
    assert downs.filter(pl.col("drivers") != "")["drivers"].str.contains(r"\(-").all()


# --------------------------------------------------------------------------- compare and profile


def test_indicator_comparison_peer_median(con, run):
    units = rm.unit_choices(con, run)["unit_id"].to_list()[:2]
    cmp = rm.indicator_comparison(con, run, units, lang="en")
    assert set(cmp["unit_id"]) == set(units)
    row = cmp.row(0, named=True)
    expected = frame(
        con,
        """SELECT median(i.score) AS m FROM run_indicator_scores i JOIN run_scores s
           ON s.run_id = i.run_id AND s.unit_id = i.unit_id
           WHERE i.run_id = ? AND i.indicator_id = ? AND s.peer_group IS NOT DISTINCT FROM ?""",
        [run, row["indicator_id"], row["peer_group"]],
    )["m"][0]
    assert row["peer_median"] == pytest.approx(expected)


def test_compare_summary_gaps_sum_to_zero_per_dimension(con, run):
    units = rm.unit_choices(con, run)["unit_id"].to_list()[:4]
    summary = rm.compare_summary(con, run, units)
    sums = summary.group_by("dimension_id").agg(pl.col("gap").sum().abs().alias("s"))
    assert (sums["s"] < 1e-9).all()
    assert summary.group_by("dimension_id").agg(pl.col("is_best").any())["is_best"].all()


def test_unit_indicators_add_up_to_the_base_score(con, run):
    unit = rm.unit_choices(con, run)["unit_id"][0]
    rows = rm.unit_indicators(con, run, unit, lang="zh")
    summary = rm.unit_summary(con, run, unit)
    assert summary is not None
    assert rows["contribution"].sum() == pytest.approx(summary["base_score"], abs=0.02)
    assert rows["indicator_name"].str.contains("满意度").any()
    trend = rm.unit_trend(con, run, unit)
    assert trend["period"].to_list() == ["2025", "2026"]


def test_survey_exclusions_by_reason(con, run):
    total = rm.survey_exclusions(con, run)
    assert total["reason"].to_list() == ["speeder", "straightline", "duplicate", "out_of_scale"]
    per_unit = frame(
        con,
        """SELECT unit_id, max(excluded_speeder) AS s FROM run_survey_quality
                             WHERE run_id = ? GROUP BY unit_id""",
        [run],
    )
    assert total.filter(pl.col("reason") == "speeder")["responses"][0] == per_unit["s"].sum()
    unit = per_unit["unit_id"][0]
    mine = rm.survey_exclusions(con, run, unit)
    assert (
        mine.filter(pl.col("reason") == "speeder")["responses"][0]
        == per_unit.filter(pl.col("unit_id") == unit)["s"][0]
    )


# --------------------------------------------------------------------------- scheme health, data


def test_scheme_health_agrees_with_the_linter(con, run):
    health = rm.scheme_health(con, run)
    summary = lint_file(ROOT / "indicators" / "demo_township.yaml").summary
    assert health.indicator_count == summary["indicator_count"]
    assert health.burden_hours_per_unit_year == pytest.approx(summary["burden_hours_per_unit_year"])
    assert health.reports_per_unit_year == summary["reports_per_unit_year"]
    assert health.trace_share_declared == pytest.approx(summary["trace_weight_share"])
    assert health.trace_share_effective == pytest.approx(summary["trace_weight_share_effective"])
    weights = rm.weights(con, run)
    assert weights["declared_weight"].sum() == pytest.approx(1.0)
    assert weights["effective_weight"].sum() == pytest.approx(1.0)
    liked = weights.filter(pl.col("indicator_id") == "posts_liked").row(0, named=True)
    assert liked["effective_weight"] == 0.0 < liked["declared_weight"]  # trace-only: zeroed


def test_scheme_health_names_indicators_in_the_readers_language(con, run):
    zh = rm.scheme_health(con, run, lang="zh").top_burdens
    en = rm.scheme_health(con, run, lang="en").top_burdens
    assert zh["indicator"].to_list() == en["indicator"].to_list()  # heaviest first, both
    hours = zh["hours"].to_list()
    assert hours == sorted(hours, reverse=True)
    names = dict(zip(zh["indicator"], zh["indicator_name"], strict=True))
    assert names["meetings_held"] == "召开专题会议次数"
    assert "Topical meetings held" in en["indicator_name"].to_list()


def test_lint_findings_in_chinese_and_english(con, run):
    """zh reads run_lint.message_zh, en the English message; rule names in the language."""
    zh = rm.lint_findings(con, run, lang="zh")
    en = rm.lint_findings(con, run, lang="en")
    assert zh.height == en.height > 0
    assert zh["message"].to_list() != en["message"].to_list()
    assert set(zh["rule_name"]) <= set(rm.lint_rule_names("zh")["rule_name"])


def test_declared_vs_effective_ranking(con, run):
    ranks = rm.declared_vs_effective_ranking(con, run)
    assert ranks.height == 120
    assert ((ranks["rank_declared"] - ranks["rank"]) == ranks["rank_gain"]).all()


def test_missing_pairs_are_exactly_the_rows_without_values(con, run):
    missing = rm.missing_pairs(con, run)
    stored = frame(
        con,
        """SELECT count(*) AS n FROM run_indicator_scores WHERE run_id = ?
                           AND (raw_value IS NULL OR imputed)""",
        [run],
    )["n"][0]
    absent = missing.filter(pl.col("status") == "absent").height
    assert missing.height - absent == stored
    assert set(missing["status"]) <= {"absent", "imputed", "no_value"}


def test_funnel_limits(con, run):
    f = rm.funnel(con, run, "sat_overall")
    assert f is not None and f.points.height > 100
    lim = f.limits
    assert ((lim["hi95"] + lim["lo95"]) / 2 - f.centre).abs().max() < 1e-9
    assert (lim["hi998"] > lim["hi95"]).all() and (lim["lo998"] < lim["lo95"]).all()
    assert (lim["hi95"].diff().drop_nulls() <= 0).all()  # narrows as n grows
    assert f.points["outside_998"].sum() <= f.points["outside_95"].sum()
    assert rm.funnel(con, run, "no_such_indicator") is None


@pytest.fixture(scope="module")
def blank():
    """An empty store (the real schema), reused by every example: each replaces its rows."""
    c = connect(":memory:")
    yield c
    c.close()


@given(n=st.floats(1, 10_000), sd=st.floats(0.1, 50), centre=st.floats(0, 100))
def test_funnel_half_width_formula(blank, n, sd, centre):
    """The 95% half-width is 1.96·sd/√n: doubling the sample shrinks it by √2 (two units: no
    overdispersion estimate, sampling-only limits; read through the run's own funnel query, as
    for a run stored before funnels were)."""
    frames = pl.DataFrame(
        {
            "unit_id": ["a", "b"],
            "unit_name": ["a", "b"],
            "effective_n": [n, 4 * n],
            "raw_index": [centre, centre],
            "se": [sd / math.sqrt(n), sd / math.sqrt(4 * n)],
        }
    )
    blank.execute("DELETE FROM run_survey_quality; DELETE FROM run_scores")
    blank.register("frames", frames)
    blank.execute("""INSERT INTO run_survey_quality BY NAME SELECT 'r' AS run_id, unit_id,
                     'q' AS indicator_id, 10 AS responses, effective_n, raw_index, se FROM frames""")
    blank.execute("""INSERT INTO run_scores (run_id, unit_id, unit_name)
                     SELECT 'r', unit_id, unit_name FROM frames""")
    f = rm.funnel(blank, "r", "q", steps=3)
    assert f is not None
    assert f.centre == pytest.approx(centre) and f.sd == pytest.approx(sd, rel=1e-6)
    assert not f.overdispersed and f.tau2 == 0
    half = (f.limits["hi95"] - f.centre).to_list()
    ns = f.limits["n"].to_list()
    for h, m in zip(half, ns, strict=True):
        assert h == pytest.approx(1.959964 * sd / math.sqrt(m), rel=1e-6)
    assert not f.points["outside_95"].any()


def test_rank_ranges_empty_without_uncertainty(con, run):
    assert rm.rank_ranges(con, run).is_empty()


def test_db_state_of_an_empty_and_a_foreign_db(tmp_path):
    db = tmp_path / "e.duckdb"
    connect(db).close()
    c = duckdb.connect(str(db), read_only=True)
    state = rm.db_state(c)
    assert state.has_schema and not state.has_data and state.runs == 0
    assert rm.latest_run_id(c) is None and rm.list_runs(c).is_empty()
    c.close()
    other = duckdb.connect()
    assert not rm.db_state(other).has_schema


# --------------------------------------------------------------------------- snapshots


def test_snapshot_is_a_read_only_consistent_copy(tmp_path, demo_db):
    db = tmp_path / "main.duckdb"
    shutil.copy(demo_db, db)
    assert latest_snapshot(db) is None
    snap = publish_snapshot(db)
    assert snap == snapshot_path(db) == tmp_path / "snapshots" / "main.duckdb"
    assert not os.stat(snap).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    # the data file and its parts, no temp files left; every file read-only
    assert sorted(p.name for p in snap.parent.iterdir()) == ["main.duckdb", "main.duckdb.parts"]
    parts = [p for p in (snap.parent / "main.duckdb.parts").rglob("*") if p.is_file()]
    assert parts and not [p for p in parts if ".tmp" in p.name]
    assert not [p for p in parts if p.suffix == ".parquet"
                and os.stat(p).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)]
    a = duckdb.connect(str(db), read_only=True)
    b = duckdb.connect(str(snap), read_only=True)
    for table in ("run_scores", "run_indicator_scores", "load_batches", "current_outcomes"):
        assert (
            a.execute(f"SELECT count(*) FROM {table}").fetchall()
            == b.execute(f"SELECT count(*) FROM {table}").fetchall()
        )
    a.close()
    b.close()


def test_a_new_snapshot_is_swapped_in_while_a_reader_holds_the_old(tmp_path, demo_db):
    db = tmp_path / "main.duckdb"
    shutil.copy(demo_db, db)
    snap = publish_snapshot(db)
    v1 = snapshot_version(snap)
    reader = duckdb.connect(str(snap), read_only=True)
    before = reader.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    writer = connect(db)  # the writer holds the main DB: a read-only publish must refuse …
    with pytest.raises(SnapshotError, match="Another process may be writing"):
        publish_snapshot(db)
    writer.execute(
        "INSERT INTO runs (run_id, created_at, period, scheme_id, scheme_hash, "
        "scheme_yaml) VALUES ('extra', now(), '2027', 'x', 'h', 'y')"
    )
    publish_from_connection(writer, db)  # … and the writer publishes through its connection
    writer.close()
    assert snapshot_version(snap) != v1
    # the raw data did not change, so the data file stayed; the reader that holds it reads the
    # published run list (each part file is swapped in whole) and keeps working
    assert reader.execute("SELECT count(*) FROM runs").fetchall()[0][0] == before + 1
    reader.close()
    fresh = duckdb.connect(str(snap), read_only=True)
    assert fresh.execute("SELECT count(*) FROM runs").fetchall()[0][0] == before + 1
    fresh.close()
    assert sorted(p.name for p in snap.parent.iterdir()) == ["main.duckdb", "main.duckdb.parts"]


def test_publishing_a_missing_db_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="no such database"):
        publish_snapshot(tmp_path / "nope.duckdb")
    assert not (tmp_path / "snapshots").exists() or not any((tmp_path / "snapshots").iterdir())
