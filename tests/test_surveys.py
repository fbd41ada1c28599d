"""Survey statistics against hand-worked examples and invariants, on a real migrated DuckDB."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers.surveys import add_answers, make_scheme, response, set_units
from hypothesis import given
from hypothesis import strategies as st

from evaluator.scheme.models import Scheme
from evaluator.scoring.engine import DuckDBEngine
from evaluator.scoring.surveys import (
    QUALITY_COLUMNS,
    SurveyError,
    build_survey_indices,
    parse_period,
)
from evaluator.store import connect

T0 = datetime(2026, 3, 1, 9, 0, 0)


@pytest.fixture
def con(tmp_path: Path):
    c = connect(tmp_path / "s.duckdb")
    yield c
    c.close()


def run(con, scheme: Scheme, period: str = "2026") -> pl.DataFrame:
    table = build_survey_indices(DuckDBEngine(con), scheme, period, "scored_units", "survey_indices")
    return con.sql(f"SELECT * FROM {table} ORDER BY unit_id, indicator_id").pl()


def row(df: pl.DataFrame, unit: str, indicator: str = "sat") -> dict[str, Any]:
    sel = df.filter((pl.col("unit_id") == unit) & (pl.col("indicator_id") == indicator))
    assert sel.height == 1
    return sel.row(0, named=True)


# ------------------------------------------------------------------ hand-worked statistics


def test_weighted_index_kish_se_ci_top_box(con) -> None:
    set_units(con, [("u1", "A")])
    add_answers(con, [
        *response("r1", "u1", {"q1": 5}, weight=1.0),
        *response("r2", "u1", {"q1": 3}),  # NULL weight counts as 1
        *response("r3", "u1", {"q1": 1}, weight=2.0),
    ])
    r = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=1)), "u1")
    # percent-to-max 100, 50, 0 with weights 1, 1, 2
    assert r["raw_index"] == pytest.approx(150 / 4)
    assert r["index_value"] == pytest.approx(37.5)
    assert r["effective_n"] == pytest.approx(16 / 6)  # (Σw)²/Σw² = 16/6
    # Σw(x−x̄)² = 62.5² + 12.5² + 2·37.5² = 6875; reliability-weights variance 6875 / (4 − 6/4)
    s2 = 6875 / 2.5
    assert r["se"] == pytest.approx(math.sqrt(s2 / (16 / 6)))
    assert 37.5 + 1.96 * r["se"] > 100 and 37.5 - 1.96 * r["se"] < 0
    assert (r["ci_low"], r["ci_high"]) == (0.0, 100.0)  # clipped to the 0–100 scale
    assert r["top_box_share"] == pytest.approx(0.25)  # only the answer 5 reaches 4 (top-2 box)
    assert (r["responses"], r["valid"], r["small_sample"], r["shrinkage"]) == (3, 3, False, 1.0)


def test_equal_weights_give_textbook_se(con) -> None:
    set_units(con, [("u1", None)])
    answers = [5, 4, 4, 3, 5, 2]
    add_answers(con, [x for i, a in enumerate(answers)
                      for x in response(f"r{i}", "u1", {"q1": a})])
    r = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=2)), "u1")
    pct = np.array([(a - 1) / 4 * 100 for a in answers])
    assert r["effective_n"] == pytest.approx(6)
    assert r["raw_index"] == pytest.approx(pct.mean())
    assert r["se"] == pytest.approx(pct.std(ddof=1) / math.sqrt(6))
    assert r["ci_low"] == pytest.approx(pct.mean() - 1.96 * r["se"])
    assert r["top_box_share"] == pytest.approx(4 / 6)


def test_multi_question_mean_and_ten_point_scale(con) -> None:
    set_units(con, [("u1", None)])
    add_answers(con, [
        *response("r1", "u1", {"a": 10, "b": 7}),  # mean 8.5 → 85; not top-2 (≥ 9)
        *response("r2", "u1", {"a": 9, "b": 10, "c": 0}),  # c belongs to no indicator
    ])
    scheme = make_scheme([{"id": "s10", "questions": ["a", "b"], "scale": {"min": 0, "max": 10}}],
                         min_sample=1)
    r = row(run(con, scheme), "u1", "s10")
    assert r["raw_index"] == pytest.approx((85 + 95) / 2)
    assert r["top_box_share"] == pytest.approx(0.5)


# ------------------------------------------------------------------ validity filters


def _filter_fixture(con) -> None:
    set_units(con, [("u1", "A")])
    ok = {"q1": 4, "q2": 3, "q3": 5}
    add_answers(con, [
        *response("r1", "u1", ok, duration=100, hash="h1", at=T0),
        *response("r2", "u1", ok, duration=10, hash="h2", at=T0),  # speeder (< 0.4·100)
        *response("r3", "u1", {"q1": 3, "q2": 3, "q3": 3}, duration=100, hash="h3", at=T0),
        *response("r4", "u1", ok, duration=100, hash="h4", at=T0),
        *response("r5", "u1", {"q1": 2, "q2": 2, "q3": 1}, duration=100, hash="h4",
                  at=T0 + timedelta(hours=1)),  # same respondent later: duplicate
        *response("r6", "u1", {"q1": 4, "q2": 3, "q3": 7}, duration=100, hash="h6", at=T0),
        *response("r7", "u1", {"q1": 5, "q2": 5, "q3": 5}, duration=5, hash="h7", at=T0),
    ])


def test_exclusions_counted_once_in_fixed_order(con) -> None:
    _filter_fixture(con)
    scheme = make_scheme([{"id": "sat", "questions": ["q1", "q2", "q3"]},
                          {"id": "sat_q1", "questions": ["q1"]}], min_sample=1)
    df = run(con, scheme)
    r = row(df, "u1", "sat")
    # r7 is both a speeder and a straight-liner: counted as speeder (first reason)
    assert (r["responses"], r["excluded_speeder"], r["excluded_straightline"],
            r["excluded_duplicate"], r["excluded_out_of_scale"], r["valid"]) == (7, 2, 1, 1, 1, 2)
    assert r["raw_index"] == pytest.approx(100 * (4 - 1) / 4)  # r1 and r4, both mean 4
    # out-of-scale is judged per indicator: r6 answers q1 in scale, so it counts for sat_q1
    r1 = row(df, "u1", "sat_q1")
    assert (r1["excluded_out_of_scale"], r1["valid"]) == (0, 3)


def test_duplicate_keeps_the_first_submitted(con) -> None:
    set_units(con, [("u1", None), ("u2", None)])
    add_answers(con, [
        *response("late", "u1", {"q1": 1}, hash="same", at=T0 + timedelta(days=1)),
        *response("early", "u1", {"q1": 5}, hash="same", at=T0),
        *response("other", "u2", {"q1": 3}, hash="same", at=T0),  # other unit: not a duplicate
    ])
    df = run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=1))
    assert row(df, "u1")["raw_index"] == pytest.approx(100)
    assert row(df, "u1")["excluded_duplicate"] == 1
    assert row(df, "u2")["excluded_duplicate"] == 0


def test_straightlining_needs_enough_questions(con) -> None:
    set_units(con, [("u1", None)])
    add_answers(con, [*response("r1", "u1", {"q1": 3, "q2": 3}),
                      *response("r2", "u1", {"q1": 3, "q2": 3, "q3": 3})])
    sch = make_scheme([{"id": "sat", "questions": ["q1", "q2", "q3"]}], min_sample=1,
                      straightline_min_questions=3)
    r = row(run(con, sch), "u1")
    assert (r["excluded_straightline"], r["valid"]) == (1, 1)


def test_speeder_threshold_uses_the_channel_median(con) -> None:
    """Phone interviews run longer than web forms: a fast-but-normal web answer is no speeder."""
    set_units(con, [("u1", None)])
    rows = []
    for i in range(4):
        rows += response(f"p{i}", "u1", {"q1": 4}, channel="phone", duration=300)
        rows += response(f"w{i}", "u1", {"q1": 4}, channel="web", duration=60)
    rows += response("w_fast", "u1", {"q1": 4}, channel="web", duration=30)  # 30 ≥ 0.4·60
    rows += response("w_speed", "u1", {"q1": 4}, channel="web", duration=20)  # 20 < 24
    add_answers(con, rows)
    r = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=3)), "u1")
    assert r["excluded_speeder"] == 1


# ------------------------------------------------------------------ periods and coverage


def test_period_year_takes_all_subperiods_exact_period_only_itself(con) -> None:
    set_units(con, [("u1", None)])
    add_answers(con, [*response("a", "u1", {"q1": 5}, period="2026Q1"),
                      *response("b", "u1", {"q1": 1}, period="2026Q2"),
                      *response("c", "u1", {"q1": 1}, period="2025")])
    sch = make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=1)
    assert row(run(con, sch, "2026"), "u1")["responses"] == 2
    q1 = row(run(con, sch, "2026Q1"), "u1")
    assert (q1["responses"], q1["raw_index"]) == (1, 100)


def test_unit_without_answers_has_null_index_and_zero_counts(con) -> None:
    set_units(con, [("u1", None), ("u2", None)])
    add_answers(con, response("a", "u1", {"q1": 5}))
    r = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}])), "u2")
    assert (r["responses"], r["valid"], r["small_sample"]) == (0, 0, True)
    assert r["raw_index"] is None and r["index_value"] is None and r["shrinkage"] is None


def test_columns_match_run_survey_quality(con) -> None:
    set_units(con, [("u1", None)])
    table = build_survey_indices(DuckDBEngine(con), make_scheme(), "2026", "scored_units", "survey_indices")
    cols = con.sql(f"SELECT * FROM {table}").columns
    stored = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = "
        "'run_survey_quality' ORDER BY ordinal_position").fetchall()]
    assert cols == list(QUALITY_COLUMNS) == stored[1:]
    con.execute(f"INSERT INTO run_survey_quality SELECT 'run1', * FROM {table}")


def test_scheme_without_surveys_gives_empty_table(con) -> None:
    set_units(con, [("u1", None)])
    assert run(con, make_scheme([])).height == 0


# ------------------------------------------------------------------ small samples


def _small_sample_fixture(con) -> None:
    """u1, u2 with 4 answers each, u3 with 2, all in peer group A (see the hand calculation)."""
    set_units(con, [("u1", "A"), ("u2", "A"), ("u3", "A")])
    data = {"u1": [5, 5, 4, 4], "u2": [3, 3, 2, 2], "u3": [1, 3]}
    add_answers(con, [x for u, ans in data.items() for i, a in enumerate(ans)
                      for x in response(f"{u}_{i}", u, {"q1": a})])


def test_empirical_bayes_shrinkage_hand_worked(con) -> None:
    _small_sample_fixture(con)
    df = run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=4))
    # indices 87.5, 37.5, 25; within variances 625/3, 625/3, 1250 with 3, 3, 1 degrees of freedom
    s2_pool = (3 * 625 / 3 + 3 * 625 / 3 + 1 * 1250) / 7
    v = {"u1": s2_pool / 4, "u2": s2_pool / 4, "u3": s2_pool / 2}
    mu = (87.5 + 37.5 + 25) / 3
    between = ((87.5 - mu) ** 2 + (37.5 - mu) ** 2 + (25 - mu) ** 2) / 2
    tau2 = between - sum(v.values()) / 3
    b = tau2 / (tau2 + v["u3"])
    r3 = row(df, "u3")
    assert r3["small_sample"] is True
    assert r3["shrinkage"] == pytest.approx(b)
    assert r3["raw_index"] == pytest.approx(25)
    assert r3["index_value"] == pytest.approx(b * 25 + (1 - b) * mu)
    assert r3["se"] == pytest.approx(math.sqrt(b * v["u3"]))
    assert r3["ci_low"] < r3["index_value"] < r3["ci_high"]
    r1 = row(df, "u1")
    assert (r1["small_sample"], r1["shrinkage"], r1["index_value"]) == (False, 1.0, 87.5)


def test_small_sample_policies_missing_and_keep(con) -> None:
    _small_sample_fixture(con)
    missing = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=4,
                                       small_sample="missing")), "u3")
    assert missing["index_value"] is None and missing["raw_index"] == pytest.approx(25)
    keep = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=4,
                                    small_sample="keep")), "u3")
    assert keep["index_value"] == pytest.approx(25) and keep["shrinkage"] == 1.0


def test_no_between_unit_variance_shrinks_fully_to_peer_mean(con) -> None:
    set_units(con, [("u1", "A"), ("u2", "A"), ("u3", "A")])
    data = {"u1": [5, 1, 5, 1], "u2": [5, 1, 5, 1], "u3": [5, 1]}
    add_answers(con, [x for u, ans in data.items() for i, a in enumerate(ans)
                      for x in response(f"{u}_{i}", u, {"q1": a})])
    r3 = row(run(con, make_scheme([{"id": "sat", "questions": ["q1"]}], min_sample=4)), "u3")
    assert r3["shrinkage"] == 0.0 and r3["index_value"] == pytest.approx(50)


# ------------------------------------------------------------------ bad input


def test_bad_period_is_a_clear_error() -> None:
    with pytest.raises(SurveyError, match="2026Q5"):
        parse_period("2026Q5")
    assert parse_period("2026") == (2026, True)
    assert parse_period("2026-03") == (2026, False)


def test_negative_weight_is_refused_naming_the_response(con) -> None:
    set_units(con, [("u1", None)])
    add_answers(con, response("bad_one", "u1", {"q1": 4}, weight=-1.0))
    with pytest.raises(SurveyError, match="bad_one"):
        run(con, make_scheme())


# ------------------------------------------------------------------ invariants

answer_sets = st.lists(
    st.tuples(st.sampled_from(["u1", "u2", "u3", "u4"]),
              st.lists(st.integers(1, 5), min_size=1, max_size=3),
              st.one_of(st.none(), st.floats(0.2, 5.0)),
              st.floats(1, 500)),
    min_size=1, max_size=40,
)


@pytest.fixture(scope="module")
def shared_con(tmp_path_factory: pytest.TempPathFactory):
    c = connect(tmp_path_factory.mktemp("surveys") / "h.duckdb")
    set_units(c, [("u1", "A"), ("u2", "A"), ("u3", "A"), ("u4", "B")])
    yield c
    c.close()


@pytest.mark.slow
@given(data=answer_sets, policy=st.sampled_from(["shrink", "keep", "missing"]))
def test_statistics_invariants(shared_con, data, policy) -> None:
    con = shared_con
    con.execute("DELETE FROM survey_responses")
    rows = []
    for i, (unit, answers, weight, duration) in enumerate(data):
        qs = {f"q{j + 1}": a for j, a in enumerate(answers)}
        rows += response(f"r{i}", unit, qs, weight=weight, duration=duration)
    add_answers(con, rows)
    df = run(con, make_scheme(min_sample=3, small_sample=policy))
    for r in df.iter_rows(named=True):
        excluded = (r["excluded_speeder"] + r["excluded_straightline"]
                    + r["excluded_duplicate"] + r["excluded_out_of_scale"])
        assert r["responses"] == excluded + r["valid"]
        if r["valid"] == 0:
            assert r["raw_index"] is None and r["index_value"] is None
            continue
        assert 0 <= r["raw_index"] <= 100 + 1e-9
        assert 1 - 1e-9 <= r["effective_n"] <= r["valid"] + 1e-9
        assert 0 <= r["top_box_share"] <= 1
        if r["index_value"] is not None:
            assert -1e-9 <= r["index_value"] <= 100 + 1e-9
            if r["se"] is not None:
                assert r["ci_low"] - 1e-9 <= r["index_value"] <= r["ci_high"] + 1e-9
                assert r["ci_low"] >= 0 and r["ci_high"] <= 100
        if r["shrinkage"] is not None:
            assert 0 <= r["shrinkage"] <= 1
        assert r["small_sample"] == (r["valid"] < 3)
    # index equals the weighted mean of percent-to-max over valid responses (numpy reference
    # on the unfiltered case: durations are ≥ 1 s, so only compare units with nothing excluded)
    for r in df.iter_rows(named=True):
        if r["valid"] and r["valid"] == r["responses"]:
            ws, xs = [], []
            for unit, answers, weight, _ in data:
                if unit == r["unit_id"]:
                    ws.append(1.0 if weight is None else weight)
                    xs.append((np.mean(answers) - 1) / 4 * 100)
            assert r["raw_index"] == pytest.approx(np.average(xs, weights=ws))
            assert r["effective_n"] == pytest.approx(sum(ws) ** 2 / sum(w * w for w in ws))
