"""Every scoring rule, transform, roll-up and missing-data policy against hand-worked numbers."""

from __future__ import annotations

import math

import polars as pl
import pytest
from helpers.scoring import (
    add_targets,
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

from evaluator.scoring import ScoringError


def scores_of(con, loaded, values: dict[str, float], units: int | None = None,
              measure: str = "x") -> list[float | None]:
    add_units(con, units or len(values))
    add_values(con, measure, values)
    _, _, inds = run(con, loaded)
    return col(inds, "score")


def test_min_max_both_directions(con) -> None:
    values = {"u01": 10, "u02": 20, "u03": 40}
    assert approx(scores_of(con, one({"type": "min_max"}), values), [0, 100 / 3, 100])


def test_min_max_lower_is_better(con) -> None:
    values = {"u01": 10, "u02": 20, "u03": 40}
    got = scores_of(con, one({"type": "min_max"}, direction="lower"), values)
    assert approx(got, [100, 200 / 3, 0])


def test_min_max_within_peer_group_and_all_equal(con) -> None:
    add_units(con, [("u01", "a"), ("u02", "a"), ("u03", "b"), ("u04", "b")])
    add_values(con, "x", {"u01": 1, "u02": 3, "u03": 5, "u04": 5})
    _, _, inds = run(con, one({"type": "min_max", "within": "peer_group"}))
    assert col(inds, "score") == [0.0, 100.0, 100.0, 100.0]  # no spread in b: nobody is worse


def test_goalposts_clamped_and_not(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 25, "u02": 60, "u03": -5})
    loaded = make_scheme([dimension("d", [
        indicator("c", measure="x", rule={"type": "goalposts", "lower": 0, "upper": 50}),
        indicator("n", measure="x", rule={"type": "goalposts", "lower": 0, "upper": 50,
                                          "clamp": False}),
        indicator("l", measure="x", direction="lower",
                  rule={"type": "goalposts", "lower": 0, "upper": 50}),
    ])])
    _, _, inds = run(con, loaded)
    assert col(inds, "score", {"indicator_id": "c"}) == [50.0, 100.0, 0.0]
    assert col(inds, "score", {"indicator_id": "n"}) == [50.0, 120.0, -10.0]
    assert col(inds, "score", {"indicator_id": "l"}) == [50.0, 0.0, 100.0]


def test_target_fixed_higher_and_lower(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 60, "u02": 100, "u03": 0})
    loaded = make_scheme([dimension("d", [
        indicator("h", measure="x", rule={"type": "target", "target": 80}),
        indicator("l", measure="x", direction="lower", rule={"type": "target", "target": 50}),
    ])])
    _, _, inds = run(con, loaded)
    assert col(inds, "score", {"indicator_id": "h"}) == [75.0, 100.0, 0.0]
    assert col(inds, "score", {"indicator_id": "l"}) == [pytest.approx(250 / 3), 50.0, 100.0]


def test_per_unit_target_from_targets_table(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 30, "u02": 30, "u03": 30})
    add_targets(con, "x", {"u01": 60, "u02": 20})  # u03 has no target
    run_id, _, inds = run(con, one({"type": "target"}))
    assert col(inds, "score") == [50.0, 100.0, None]
    assert col(inds, "flags")[2] == "unscored"
    refs = con.execute("SELECT unit_id, value FROM run_reference_values WHERE run_id = ? "
                       "AND name = 'target' ORDER BY unit_id", [run_id]).fetchall()
    assert refs == [("u01", 60.0), ("u02", 20.0)]


def test_bands_best_band_reached(con) -> None:
    rule = {"type": "bands", "otherwise": 30, "bands": [
        {"threshold": 0.8, "score": 70}, {"threshold": 0.95, "score": 100},
        {"threshold": 0.9, "score": 85}]}
    values = {"u01": 0.97, "u02": 0.9, "u03": 0.85, "u04": 0.5}
    assert scores_of(con, one(rule), values) == [100.0, 85.0, 70.0, 30.0]


def test_bands_lower_is_better(con) -> None:
    rule = {"type": "bands",
            "bands": [{"threshold": 2, "score": 100}, {"threshold": 5, "score": 60}]}
    values = {"u01": 1, "u02": 2, "u03": 4, "u04": 9}
    assert scores_of(con, one(rule, direction="lower"), values) == [100.0, 100.0, 60.0, 0.0]


def test_percentile_mid_rank_ties(con) -> None:
    values = {"u01": 1, "u02": 2, "u03": 2, "u04": 3}
    # (units below + (ties − 1)/2)/(n − 1): 0, 1.5/3, 1.5/3, 3/3
    assert approx(scores_of(con, one({"type": "percentile"}), values), [0, 50, 50, 100])


def test_percentile_lower_and_single_unit(con) -> None:
    values = {"u01": 1, "u02": 2, "u03": 4}
    got = scores_of(con, one({"type": "percentile"}, direction="lower"), values)
    assert approx(got, [100, 50, 0])


def test_percentile_of_a_lone_unit_is_100(con) -> None:
    assert scores_of(con, one({"type": "percentile"}), {"u01": 7}) == [100.0]


def test_zscore_sample_sd_and_clamp(con) -> None:
    values = {"u01": 1, "u02": 2, "u03": 3}  # mean 2, sample sd 1
    assert approx(scores_of(con, one({"type": "zscore"}), values), [35, 50, 65])


def test_zscore_lower_and_wide_spread_clamps(con) -> None:
    values = {"u01": 1, "u02": 2, "u03": 3}
    got = scores_of(con, one({"type": "zscore", "spread": 60}, direction="lower"), values)
    assert approx(got, [100, 50, 0])


def test_efficacy_fixed_and_from_data(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 15, "u02": 67.5, "u03": 200})
    loaded = make_scheme([dimension("d", [
        indicator("f", measure="x", direction="lower",
                  rule={"type": "efficacy", "good": 15, "bad": 120}),
        indicator("g", measure="x", rule={"type": "efficacy", "floor": 62}),
    ])])
    _, _, inds = run(con, loaded)
    # fixed: 60 + 40·(x − 120)/(15 − 120): 100, 80, 60 − 40·80/105 (floor 0 not reached)
    assert approx(col(inds, "score", {"indicator_id": "f"}), [100, 80, 60 - 40 * 80 / 105])
    # data: good = max 200, bad = min 15: 60 + 40·(67.5 − 15)/185 = 71.35…, bottom at floor 62
    assert approx(col(inds, "score", {"indicator_id": "g"}), [62, 60 + 40 * 52.5 / 185, 100])


def test_deduction_per_unit_with_floor(con) -> None:
    values = {"u01": 0, "u02": 2, "u03": 10}
    got = scores_of(con, one({"type": "deduction", "points": 12, "floor": 10}), values)
    assert got == [100.0, 76.0, 10.0]


def test_pass_fail_both_directions(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 3, "u02": 4, "u03": 5})
    loaded = make_scheme([dimension("d", [
        indicator("h", measure="x", rule={"type": "pass_fail", "threshold": 4, "fail_score": 40}),
        indicator("l", measure="x", direction="lower", rule={"type": "pass_fail", "threshold": 4}),
    ])])
    _, _, inds = run(con, loaded)
    assert col(inds, "score", {"indicator_id": "h"}) == [40.0, 100.0, 100.0]
    assert col(inds, "score", {"indicator_id": "l"}) == [100.0, 100.0, 0.0]


def test_direct_clamps_and_lower_flips(con) -> None:
    add_units(con, 3)
    add_values(con, "x", {"u01": 73, "u02": 120, "u03": -4})
    loaded = make_scheme([dimension("d", [
        indicator("h", measure="x"), indicator("l", measure="x", direction="lower")])])
    _, _, inds = run(con, loaded)
    assert col(inds, "score", {"indicator_id": "h"}) == [73.0, 100.0, 0.0]
    assert col(inds, "score", {"indicator_id": "l"}) == [27.0, 0.0, 100.0]


# ----------------------------------------------------------------------------- transforms


def test_log_transform_applies_to_value_and_goalposts(con) -> None:
    add_units(con, 2)
    add_values(con, "x", {"u01": 1000, "u02": 0})
    rule = {"type": "goalposts", "lower": 100, "upper": 75000}
    _, _, inds = run(con, one(rule, transform={"log": True}))
    expected = 100 * (math.log(1000) - math.log(100)) / (math.log(75000) - math.log(100))
    assert approx(col(inds, "score")[:1], [expected])
    assert approx(col(inds, "transformed_value")[:1], [math.log(1000)])
    assert col(inds, "score")[1] is None and "log_of_nonpositive" in col(inds, "flags")[1]


def test_log_of_a_nonpositive_parameter_is_an_error(con) -> None:
    add_units(con, 1)
    add_values(con, "x", {"u01": 5})
    rule = {"type": "goalposts", "lower": 0, "upper": 10}
    with pytest.raises(ScoringError, match="cannot be log-transformed"):
        run(con, one(rule, transform={"log": True}))


def test_floor_and_cap(con) -> None:
    values = {"u01": -5, "u02": 50, "u03": 500}
    got = scores_of(con, one({"type": "direct"}, transform={"floor": 10, "cap": 90}), values)
    assert got == [10.0, 50.0, 90.0]


def test_winsorise_bounds_recorded_and_applied(con) -> None:
    add_units(con, 5)
    add_values(con, "x", {f"u0{i}": v for i, v in enumerate([0, 10, 20, 30, 1000], 1)})
    run_id, _, inds = run(con, one({"type": "direct"}, transform={"winsorize": [0.25, 0.75]}))
    # quantile_cont at 0.25 and 0.75 of 0, 10, 20, 30, 1000 → 10 and 30
    assert col(inds, "transformed_value") == [10.0, 10.0, 20.0, 30.0, 30.0]
    assert col(inds, "raw_value") == [0.0, 10.0, 20.0, 30.0, 1000.0]
    refs = dict(con.execute("SELECT name, value FROM run_reference_values WHERE run_id = ? "
                            "AND name LIKE 'winsor%'", [run_id]).fetchall())
    assert refs == {"winsor_low": 10.0, "winsor_high": 30.0}


# ----------------------------------------------------------------------------- roll-ups


@pytest.mark.parametrize(("rollup", "expected"),
                         [("mean", 25.0), ("sum", 100.0), ("last", 40.0)])
def test_quarterly_rollup(con, rollup: str, expected: float) -> None:
    add_units(con, 1)
    for q, v in (("2026Q1", 10), ("2026Q3", 30), ("2026Q4", 40), ("2026Q2", 20)):
        add_values(con, "x", {"u01": v}, period=q)
    add_values(con, "x", {"u01": 99}, period="2025")  # another year is ignored
    _, _, inds = run(con, one({"type": "direct"}, source={"rollup": rollup}))
    assert col(inds, "raw_value") == [expected]


def test_monthly_last_and_annual_value_wins(con) -> None:
    add_units(con, 2)
    for m, v in (("2026-11", 5), ("2026-12", 6), ("2026-02", 7)):
        add_values(con, "x", {"u01": v, "u02": v}, period=m)
    add_values(con, "x", {"u02": 50}, period="2026")
    _, _, inds = run(con, one({"type": "direct"}, source={"rollup": "last"}))
    assert col(inds, "raw_value") == [6.0, 50.0]


# ----------------------------------------------------------------------------- missing data


def test_missing_policies(con) -> None:
    add_units(con, [("u01", "a"), ("u02", "a"), ("u03", "a"), ("u04", "b"), ("u05", "b")])
    add_values(con, "x", {"u01": 10, "u02": 20, "u03": 60, "u05": 80})
    add_values(con, "y", {"u01": 50, "u02": 50, "u03": 50, "u04": 50, "u05": 50})
    loaded = make_scheme([dimension("d", [
        indicator("pm", measure="x", missing="peer_median"),
        indicator("z", measure="x", missing="zero"),
        indicator("rw", measure="x"),
        indicator("y"),
    ])])
    _, scores, inds = run(con, loaded)
    u04 = inds.filter(pl.col("unit_id") == "u04")
    # peer median of group b is 80 (u05 alone); zero scores 0; reweight leaves it out
    assert col(u04, "score", {"indicator_id": "pm"}) == [80.0]
    assert col(u04, "imputed", {"indicator_id": "pm"}) == [True]
    assert col(u04, "raw_value", {"indicator_id": "pm"}) == [None]
    assert col(u04, "score", {"indicator_id": "z"}) == [0.0]
    assert col(u04, "imputed", {"indicator_id": "z"}) == [True]
    assert col(u04, "score", {"indicator_id": "rw"}) == [None]
    # u04 total: (80 + 0 + 50)/3 (rw re-weighted away)
    assert approx(col(scores, "base_score", {"unit_id": "u04"}), [130 / 3])


def test_peer_median_falls_back_to_all_units(con) -> None:
    add_units(con, [("u01", "a"), ("u02", "a"), ("u03", "b")])
    add_values(con, "x", {"u01": 10, "u02": 30})
    add_values(con, "y", {"u01": 50, "u02": 50, "u03": 50})  # u03 has own data in "d"
    loaded = make_scheme([dimension("d", [
        indicator("x", missing="peer_median"), indicator("y")])])
    _, _, inds = run(con, loaded)
    assert col(inds, "score", {"indicator_id": "x"}) == [10.0, 30.0, 20.0]


def test_no_own_data_on_a_node_means_no_imputation_and_no_score(con) -> None:
    """Issue 11: a unit without own data is never scored from imputed or zero-filled values."""
    add_units(con, [("u01", "a"), ("u02", "a"), ("u03", "a"), ("u04", "a")])
    add_values(con, "x", {"u01": 10, "u02": 30, "u04": 20})
    add_values(con, "y", {"u01": 50, "u02": 70, "u04": 60})
    add_values(con, "z", {"u01": 1, "u02": 2, "u03": 3})
    loaded = make_scheme([
        dimension("d1", [indicator("x", missing="peer_median"), indicator("y", missing="zero")]),
        dimension("d2", [indicator("z", missing="zero")]),
    ], grades=[{"code": "excellent", "name": {"zh": "优", "en": "E"}, "min_score": 0,
                "max_share": 0.5}, {"code": "poor", "name": {"zh": "差", "en": "P"}}])
    _, scores, inds = run(con, loaded)
    u03 = inds.filter(pl.col("unit_id") == "u03")
    # u03: nothing in d1, so x is not imputed and y not zero-filled; d2 scores it on z
    assert col(u03, "score", {"indicator_id": "x"}) == [None]
    assert col(u03, "score", {"indicator_id": "y"}) == [None]
    assert col(u03, "imputed", {"indicator_id": "x"}) == [False]
    assert "no_own_data" in col(u03, "flags", {"indicator_id": "y"})[0]
    assert col(scores, "base_score", {"unit_id": "u03"}) == [3.0]
    # u04 has no z: d2 is not scored for it, zero policy or not; d1 is
    assert col(inds, "score", {"unit_id": "u04", "indicator_id": "z"}) == [None]
    assert col(scores, "base_score", {"unit_id": "u04"}) == [40.0]


def test_a_unit_without_any_own_data_has_no_score_rank_grade_or_quota_place(con) -> None:
    add_units(con, [("u01", None), ("u02", None), ("u03", None), ("u04", None), ("u05", None)])
    add_values(con, "x", {"u01": 10, "u02": 30, "u03": 20, "u04": 40})
    loaded = make_scheme([dimension("d", [indicator("x", missing="peer_median")])],
                         grades=[{"code": "excellent", "name": {"zh": "优", "en": "E"},
                                  "min_score": 0, "max_share": 0.25},
                                 {"code": "poor", "name": {"zh": "差", "en": "P"}}])
    _, scores, inds = run(con, loaded)
    assert col(scores, "score", {"unit_id": "u05"}) == [None]
    assert col(scores, "rank", {"unit_id": "u05"}) == [None]
    assert col(scores, "grade", {"unit_id": "u05"}) == [None]
    assert col(inds, "score", {"unit_id": "u05"}) == [None]
    assert col(scores, "grade").count("excellent") == 1  # floor(0.25 × 4 scored units)
    assert sorted(r for r in col(scores, "rank") if r is not None) == [1, 2, 3, 4]
