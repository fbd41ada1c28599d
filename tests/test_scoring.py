"""Scoring engine: aggregation, contributions, adjustments, grades, ranks, runs (hand-worked).

On a real database through `evaluator.store.connect`, rows inserted into the raw tables and a
real scheme (helpers in tests/helpers/scoring.py, shared with the other scoring test files).
"""

from __future__ import annotations

import json
import math
from typing import Any

import duckdb
import polars as pl
import pytest
from helpers.scoring import (
    _batch,
    add_events,
    add_units,
    add_values,
    approx,
    col,
    dimension,
    indicator,
    make_scheme,
    one,
    run,
)

from evaluator.scheme.loader import LoadedScheme
from evaluator.scoring import ScoringError, score_run

# ----------------------------------------------------------------------------- aggregation


def two_dims(agg_root: str = "arithmetic", agg_dim: str = "arithmetic", **top: Any) -> LoadedScheme:
    """d1 (weight 3): a (w 1), b (w 3); d2 (weight 1): c. All `direct`."""
    return make_scheme([
        dimension("d1", [indicator("a", weight=1), indicator("b", weight=3)], weight=3,
                  aggregation=agg_dim),
        dimension("d2", [indicator("c")], weight=1),
    ], aggregation=agg_root, **top)


def test_weighted_arithmetic_by_hand(con) -> None:
    add_units(con, 1)
    add_values(con, "a", {"u01": 40})
    add_values(con, "b", {"u01": 80})
    add_values(con, "c", {"u01": 10})
    run_id, scores, inds = run(con, two_dims())
    # d1 = (1·40 + 3·80)/4 = 70; total = (3·70 + 1·10)/4 = 55
    assert approx(col(scores, "base_score"), [55.0])
    assert col(scores, "score") == [55.0]
    dims = con.sql("SELECT dimension_id, score FROM run_dimension_scores WHERE run_id = ? "
                   "ORDER BY dimension_id", params=[run_id]).pl()
    assert approx(dims["score"].to_list(), [70.0, 10.0])
    # contributions: a 0.75·0.25·40 = 7.5, b 0.75·0.75·80 = 45, c 0.25·10 = 2.5 → sum 55
    assert approx(col(inds, "contribution"), [7.5, 45.0, 2.5])
    assert approx(col(inds, "weight"), [0.1875, 0.5625, 0.25])
    assert approx(col(inds, "local_weight"), [0.25, 0.75, 1.0])


def test_weighted_geometric_by_hand_and_log_share_contributions(con) -> None:
    add_units(con, 1)
    add_values(con, "a", {"u01": 40})
    add_values(con, "b", {"u01": 80})
    add_values(con, "c", {"u01": 10})
    run_id, scores, inds = run(con, two_dims(agg_root="geometric", agg_dim="geometric"))
    d1 = math.exp(0.25 * math.log(40) + 0.75 * math.log(80))
    total = math.exp(0.75 * math.log(d1) + 0.25 * math.log(10))
    assert approx(col(scores, "base_score"), [total], 1e-9)
    contrib = col(inds, "contribution")
    assert abs(sum(contrib) - total) < 1e-9  # log shares add up to the total
    # c's share at the root is 0.25·ln 10 / ln total
    assert abs(contrib[2] - total * 0.25 * math.log(10) / math.log(total)) < 1e-9


def test_geometric_with_a_zero_child_is_zero(con) -> None:
    add_units(con, 1)
    for m, v in (("a", 0), ("b", 80), ("c", 50)):
        add_values(con, m, {"u01": v})
    _, scores, inds = run(con, two_dims(agg_dim="geometric"))
    # d1 = 0, total = 0.75·0 + 0.25·50
    assert approx(col(scores, "base_score"), [12.5])
    assert abs(sum(col(inds, "contribution")) - 12.5) < 1e-9


def test_missing_child_reweights_within_its_parent(con) -> None:
    add_units(con, 2)
    add_values(con, "a", {"u01": 40, "u02": 40})
    add_values(con, "b", {"u01": 80})  # u02 has no b
    add_values(con, "c", {"u01": 10, "u02": 10})
    _, scores, inds = run(con, two_dims())
    # u02: d1 = a alone = 40; total = (3·40 + 10)/4 = 32.5
    assert approx(col(scores, "base_score"), [55.0, 32.5])
    u02 = inds.filter(pl.col("unit_id") == "u02")
    assert col(u02, "local_weight") == [1.0, 0.0, 1.0]
    assert col(u02, "contribution")[1] is None and col(u02, "flags")[1] == "missing"
    assert approx(col(scores, "coverage"), [1.0, 1 - 0.5625])


def test_scale_mapping_and_contributions_on_scheme_scale(con) -> None:
    add_units(con, 1)
    for m, v in (("a", 40), ("b", 80), ("c", 10)):
        add_values(con, m, {"u01": v})
    _, scores, inds = run(con, two_dims(scale={"min": 0, "max": 10, "decimals": 1}))
    assert approx(col(scores, "base_score"), [5.5]) and col(scores, "score") == [5.5]
    assert abs(sum(col(inds, "contribution")) - 5.5) < 1e-9


def test_trace_only_indicator_gets_no_weight_and_declared_score_is_kept(con) -> None:
    loaded = make_scheme([
        dimension("d", [indicator("o", weight=1),
                        indicator("t", evidence="trace", weight=1)]),
    ])
    add_units(con, 2)
    add_values(con, "o", {"u01": 50, "u02": 60})
    add_values(con, "t", {"u01": 100, "u02": 0})
    run_id, scores, inds = run(con, loaded)
    assert approx(col(scores, "base_score"), [50.0, 60.0])  # effective: the trace weighs 0
    assert col(scores, "score_declared") == [75.0, 30.0]  # declared: half each
    assert col(scores, "rank") == [2, 1] and col(scores, "rank_declared") == [1, 2]
    t = inds.filter(pl.col("indicator_id") == "t")
    assert col(t, "weight") == [0.0, 0.0] and col(t, "declared_weight") == [0.5, 0.5]
    assert col(t, "contribution") == [0.0, 0.0]
    weights = con.sql("SELECT node_id, declared_weight, effective_weight FROM run_weights "
                      "WHERE run_id = ? ORDER BY node_id", params=[run_id]).fetchall()
    assert weights == [("d", 1.0, 1.0), ("o", 0.5, 1.0), ("t", 0.5, 0.0)]


# ----------------------------------------------------------------------------- adjustments


def adjusted(**top: Any) -> LoadedScheme:
    return make_scheme([dimension("d", [indicator("x")])], **top)


BONUS = {"id": "award", "name": {"zh": "奖", "en": "Award"}, "kind": "bonus", "event": "award",
         "points": 2, "cap": 3}
MINUS = {"id": "viol", "name": {"zh": "违", "en": "Violation"}, "kind": "deduction",
         "event": "violation", "points": 1.5, "cap": 5}
VETO = {"id": "accident", "name": {"zh": "事故", "en": "Accident"}, "event": "accident",
        "max_grade": "fair", "max_score": 59}


def test_bonus_and_deduction_within_caps_and_scale(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 99, "u02": 50, "u03": 1})
    add_events(con, [("u01", "award", None), ("u01", "award", None),  # 4 points → cap 3
                     ("u02", "award", 1), ("u02", "violation", 2),  # +2, −3
                     ("u03", "violation", 10)])  # −15 → cap 5, score 1 − 5 → clamp 0
    add_events(con, [("u02", "violation", 1)], period="2026Q3")  # a sub-period counts too: −1.5
    _, scores, _ = run(con, adjusted(adjustments=[BONUS, MINUS]))
    assert col(scores, "bonus") == [3.0, 2.0, 0.0]
    assert col(scores, "deduction") == [0.0, 4.5, 5.0]
    assert col(scores, "score") == [100.0, 47.5, 0.0]
    assert col(scores, "base_score") == [99.0, 50.0, 1.0]


def test_veto_caps_grade_and_score(con) -> None:
    add_units(con, 2)
    add_values(con, "x", {"u01": 95, "u02": 94})
    add_events(con, [("u01", "accident", None)])
    _, scores, _ = run(con, adjusted(vetoes=[VETO]))
    assert col(scores, "score") == [59.0, 94.0]
    assert col(scores, "grade") == ["poor", "excellent"]  # 59 < 60 → poor, below the cap anyway
    assert col(scores, "veto") == ["accident", None]


def test_veto_without_score_cap_caps_only_the_grade(con) -> None:
    add_units(con, 1)
    add_values(con, "x", {"u01": 95})
    add_events(con, [("u01", "accident", None)])
    veto = {k: v for k, v in VETO.items() if k != "max_score"}
    _, scores, _ = run(con, adjusted(vetoes=[veto]))
    assert col(scores, "score") == [95.0]
    assert col(scores, "grade") == ["fair"] and col(scores, "grade_reason") == ["veto"]


# ----------------------------------------------------------------------------- grades, ranks


def test_league_ranks_share_the_best_rank_and_peer_ranks(con) -> None:
    add_units(con, [("a", "g1"), ("b", "g1"), ("c", "g2"), ("d", "g2"), ("e", None)])
    add_values(con, "x", {"a": 90, "b": 80.001, "c": 80.004, "d": 70, "e": 95})
    _, scores, _ = run(con, adjusted())
    # 80.001 and 80.004 round to 80.00 → ranks 1, 2, 2, 4, 5 (by score: e, a, b=c, d)
    assert col(scores, "rank") == [2, 3, 3, 5, 1]
    assert col(scores, "peer_rank") == [1, 2, 1, 2, 1]


def test_quota_moves_the_whole_tie_group_down(con) -> None:
    grades = [
        {"code": "excellent", "name": {"zh": "优", "en": "E"}, "min_score": 90, "max_share": 0.4},
        {"code": "good", "name": {"zh": "良", "en": "G"}, "min_score": 80},
        {"code": "poor", "name": {"zh": "差", "en": "P"}},
    ]
    add_units(con, 5)
    # quota floor(0.4·5) = 2: u01 is in; u02 and u03 tie for the second place → both go down
    add_values(con, "x", {"u01": 99, "u02": 95, "u03": 95, "u04": 91, "u05": 50})
    _, scores, _ = run(con, adjusted(grades=grades))
    assert col(scores, "grade") == ["excellent", "good", "good", "good", "poor"]
    assert col(scores, "grade_reason") == ["threshold", "quota", "quota", "quota", "threshold"]


def test_quota_admits_up_to_the_limit(con) -> None:
    grades = [
        {"code": "excellent", "name": {"zh": "优", "en": "E"}, "min_score": 90, "max_share": 0.5},
        {"code": "poor", "name": {"zh": "差", "en": "P"}},
    ]
    add_units(con, 4)
    add_values(con, "x", {"u01": 99, "u02": 98, "u03": 97, "u04": 50})
    _, scores, _ = run(con, adjusted(grades=grades))
    assert col(scores, "grade") == ["excellent", "excellent", "poor", "poor"]


def test_default_grades_by_threshold(con) -> None:
    add_units(con, 4)
    add_values(con, "x", {"u01": 90, "u02": 89.99, "u03": 60, "u04": 59.99})
    _, scores, _ = run(con, adjusted())
    assert col(scores, "grade") == ["excellent", "good", "fair", "poor"]


# ----------------------------------------------------------------------------- runs


def test_same_inputs_give_identical_numbers(con) -> None:
    add_units(con, [(f"u{i}", "g1" if i % 2 else "g2") for i in range(8)])
    add_values(con, "a", {f"u{i}": (i * 37) % 11 for i in range(8)})
    add_values(con, "b", {f"u{i}": (i * 53) % 13 for i in range(8)})
    add_values(con, "c", {f"u{i}": (i * 7) % 5 for i in range(7)})
    loaded = make_scheme([
        dimension("d1", [indicator("a", rule={"type": "min_max", "within": "peer_group"}),
                         indicator("b", rule={"type": "zscore"})]),
        dimension("d2", [indicator("c", rule={"type": "percentile"}, missing="peer_median")]),
    ])
    tables = ["run_scores", "run_indicator_scores", "run_dimension_scores",
              "run_reference_values", "run_weights"]
    first, second = score_run(con, loaded, "2026"), score_run(con, loaded, "2026")
    assert first != second
    for table in tables:
        a, b = (con.sql(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY ALL",
                        params=[r]).pl() for r in (first, second))
        assert a.height > 0 and a.equals(b), table


def test_run_records_scheme_batches_parameters_and_reference_values(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 1, "u02": 2, "u03": 4})
    loaded = one({"type": "min_max"}, transform={"winsorize": [0.0, 0.5]})
    run_id = score_run(con, loaded, "2026", params={"who": "test"})
    row = con.execute("SELECT scheme_id, scheme_hash, scheme_yaml, batch_ids, parameters, "
                      "code_version FROM runs WHERE run_id = ?", [run_id]).fetchall()[0]
    assert row[0] == "t" and row[1] == loaded.content_hash and row[2] == loaded.text
    assert row[3] == [1, 2] and json.loads(row[4])["who"] == "test" and row[5]
    refs = dict(con.execute("SELECT name, value FROM run_reference_values WHERE run_id = ? "
                            "AND peer_group IS NULL AND unit_id IS NULL", [run_id]).fetchall())
    # winsorised at the median (2): values 1, 2, 2 → min 1, max 2, mean 5/3
    assert refs["winsor_low"] == 1.0 and refs["winsor_high"] == 2.0
    assert refs["min"] == 1.0 and refs["max"] == 2.0 and abs(refs["mean"] - 5 / 3) < 1e-12


def test_failed_write_leaves_no_trace(con) -> None:
    add_units(con, 2)
    add_values(con, "x", {"u01": 1, "u02": 2})
    con.execute("DROP TABLE run_weights")  # the 6th INSERT of the run now fails
    with pytest.raises(duckdb.Error):
        score_run(con, adjusted(), "2026")
    for table in ("runs", "run_scores", "run_indicator_scores", "run_dimension_scores"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)], table


@pytest.mark.parametrize(("setup", "period", "message"), [
    ("none", "2026", "no units of type township"),
    ("units", "2026", "no outcome or survey data for period 2026"),
    ("data", "2026Q1", "is not a year"),
])
def test_errors_explain_themselves(con, setup: str, period: str, message: str) -> None:
    if setup != "none":
        add_units(con, 1)
    if setup == "data":
        add_values(con, "x", {"u01": 1})
    with pytest.raises(ScoringError, match=message):
        score_run(con, adjusted(), period)
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]


def test_other_year_scores_with_a_warning(con) -> None:
    add_units(con, 1)
    add_values(con, "x", {"u01": 70}, period="2025")
    run_id, scores, _ = run(con, adjusted(), "2025")
    assert col(scores, "score") == [70.0]
    note = con.execute("SELECT note FROM runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
    assert "written for 2026" in note


def test_only_units_of_the_schemes_types_are_scored(con) -> None:
    add_units(con, [("t1", None)])
    add_units(con, [("s1", None)], unit_type="street")
    add_values(con, "x", {"t1": 10, "s1": 20})
    _, scores, _ = run(con, adjusted())
    assert col(scores, "unit_id") == ["t1"]


# ----------------------------------------------------------------------------- intervals


def add_survey(con, answers: dict[str, list[int]], question: str = "q1") -> None:
    """One response per answer, 1–5 scale, plausible durations (no validity filter fires)."""
    b = _batch(con, "surveys")
    rows = [[b, f"{u}-{i}", u, "2026", 2026, question, float(a), f"r-{u}-{i}", 1.0, 120.0 + i]
            for u, values in answers.items() for i, a in enumerate(values)]
    con.executemany("INSERT INTO survey_responses (batch_id, response_id, unit_id, period, year, "
                    "question, answer, respondent_hash, weight, duration_s) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def survey_scheme() -> LoadedScheme:
    sat = {"id": "sat", "name": {"zh": "满意度", "en": "Satisfaction"}, "evidence": "satisfaction",
           "source": {"questions": ["q1"], "scale": {"min": 1, "max": 5}},
           "rule": {"type": "direct"}}
    return make_scheme([dimension("d", [indicator("x"), sat])],
                       survey={"min_sample": 5, "small_sample": "keep"})


def test_uncertainty_intervals_contain_the_score_and_the_rank(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 50, "u02": 52, "u03": 90})
    add_survey(con, {"u01": [4, 5, 3, 4, 5, 4, 2, 5] * 5,  # noisy, 40 answers
                     "u02": [4] * 40,  # unanimous: no sampling spread
                     "u03": [1, 2] * 20})
    run_id = score_run(con, survey_scheme(), "2026", uncertainty=True)
    rows = con.sql("SELECT s.unit_id, s.score, s.score_low, s.score_high, s.rank, s.rank_low, "
                   "s.rank_high, q.ci_low, q.ci_high FROM run_scores s JOIN run_survey_quality q "
                   "USING (run_id, unit_id) WHERE run_id = ? ORDER BY unit_id",
                   params=[run_id]).pl()
    for r in rows.iter_rows(named=True):
        assert r["score_low"] <= r["score"] <= r["score_high"]
        assert r["rank_low"] <= r["rank"] <= r["rank_high"]
    u01, u02, u03 = rows.iter_rows(named=True)
    # the score moves by half the index's interval (the survey weighs one half)
    assert abs((u01["score_high"] - u01["score_low"]) - (u01["ci_high"] - u01["ci_low"]) / 2
               ) < 0.011
    assert u02["score_low"] == u02["score"] == u02["score_high"]
    # totals: u01 (50 + 75)/2 = 62.5 ± ~3.9, u02 (52 + 75)/2 = 63.5 exactly, u03 (90 + 12.5)/2
    # = 51.25 ± ~2: u01 and u02 could each be first or second; u03 is third whatever happens
    assert (u01["score"], u02["score"], u03["score"]) == (62.5, 63.5, 51.25)
    assert (u01["rank"], u01["rank_low"], u01["rank_high"]) == (2, 1, 2)
    assert (u02["rank"], u02["rank_low"], u02["rank_high"]) == (1, 1, 2)
    assert (u03["rank"], u03["rank_low"], u03["rank_high"]) == (3, 3, 3)
    plain = score_run(con, survey_scheme(), "2026")
    assert con.execute("SELECT count(score_low), count(rank_high) FROM run_scores "
                       "WHERE run_id = ?", [plain]).fetchall() == [(0, 0)]


def test_every_statement_of_a_run_renders_for_spark(con, monkeypatch) -> None:
    """The scoring is written once: the trees DuckDB ran also render in Spark's dialect."""
    from sqlglot.errors import ErrorLevel

    from evaluator.scoring import run as run_module
    from evaluator.scoring.engine import DuckDBEngine

    seen: list = []

    class Recording(DuckDBEngine):  # the real engine, remembering what it ran
        def execute(self, expr):  # type: ignore[no-untyped-def]
            seen.append(expr)
            super().execute(expr)

        def fetch_polars(self, expr):  # type: ignore[no-untyped-def]
            seen.append(expr)
            return super().fetch_polars(expr)

    monkeypatch.setattr(run_module, "DuckDBEngine", Recording)
    add_units(con, [("u1", "a"), ("u2", "a"), ("u3", "b")])
    add_values(con, "x", {"u1": 5, "u2": 50, "u3": 500})
    add_events(con, [("u1", "award", None)])
    loaded = make_scheme([dimension("d", [
        indicator("x", rule={"type": "min_max", "within": "peer_group"}, missing="peer_median",
                  transform={"winsorize": [0.1, 0.9], "log": True}),
        indicator("p", measure="x", rule={"type": "percentile"}, direction="lower"),
    ], aggregation="geometric")], adjustments=[BONUS], vetoes=[VETO | {"event": "award"}])
    score_run(con, loaded, "2026", uncertainty=True)
    assert len(seen) > 40
    for expr in seen:
        expr.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
