"""Invariants of the scoring engine, on random data (hypothesis).

Each example scores a real in-memory database; the example budget is kept small because every
example is a full run (~0.2 s).
"""

from __future__ import annotations

import polars as pl
import pytest
from helpers.scoring import add_units, add_values, dimension, indicator, make_scheme
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from evaluator.scoring import score_run
from evaluator.store import connect

pytestmark = pytest.mark.slow  # every example is a full scoring run

# no shrinking phase: a failing example is reported as found (shrinking full runs takes minutes)
FAST = settings(max_examples=8, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])
values = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
RULES = [
    {"type": "min_max"}, {"type": "zscore"}, {"type": "percentile"},
    {"type": "goalposts", "lower": -500, "upper": 500}, {"type": "direct"},
    {"type": "efficacy"}, {"type": "target", "target": 100},
    {"type": "bands", "bands": [{"threshold": 0, "score": 80}, {"threshold": 300, "score": 100}]},
    {"type": "deduction", "points": 0.5}, {"type": "pass_fail", "threshold": 10},
]  # fmt: skip


def scored(loaded, data: dict[str, dict[str, float]], units: int) -> tuple[pl.DataFrame,
                                                                           pl.DataFrame]:
    con = connect(":memory:")
    try:
        add_units(con, [(f"u{i}", f"g{i % 2}") for i in range(units)])
        for measure, vals in data.items():
            add_values(con, measure, vals)
        run_id = score_run(con, loaded, "2026")
        scores = con.sql("SELECT * FROM run_scores WHERE run_id = ? ORDER BY unit_id",
                         params=[run_id]).pl()
        inds = con.sql("SELECT * FROM run_indicator_scores WHERE run_id = ? "
                       "ORDER BY unit_id, indicator_id", params=[run_id]).pl()
        return scores, inds
    finally:
        con.close()


@st.composite
def scheme_and_data(draw: st.DrawFn):
    n = draw(st.integers(min_value=2, max_value=6))
    k = draw(st.integers(min_value=1, max_value=4))
    inds = []
    data: dict[str, dict[str, float]] = {}
    for j in range(k):
        rule = draw(st.sampled_from(RULES))
        direction = draw(st.sampled_from(["higher", "lower"]))
        inds.append(indicator(f"i{j}", rule=rule, direction=direction,
                              weight=draw(st.floats(min_value=0.1, max_value=10)),
                              missing=draw(st.sampled_from(["reweight", "peer_median", "zero"]))))
        present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        data[f"i{j}"] = {f"u{i}": draw(values) for i in range(n) if present[i] or i == 0}
    split = draw(st.integers(min_value=1, max_value=k))
    dims = [dimension("d1", inds[:split], aggregation=draw(st.sampled_from(
        ["arithmetic", "geometric"])))]
    if split < k:
        dims.append(dimension("d2", inds[split:], weight=draw(st.floats(0.1, 5))))
    lo = draw(st.floats(min_value=-100, max_value=100))
    scale = {"min": lo, "max": lo + draw(st.floats(min_value=1, max_value=1000))}
    return make_scheme(dims, scale=scale, aggregation=draw(st.sampled_from(
        ["arithmetic", "geometric"]))), data, n


@FAST
@given(scheme_and_data())
def test_scores_stay_within_the_scale_and_contributions_add_up(case) -> None:
    loaded, data, n = case
    scores, inds = scored(loaded, data, n)
    scale = loaded.scheme.scale
    got = scores["score"].drop_nulls()
    assert len(got) > 0  # u0 always has data
    assert ((got >= scale.min - 1e-9) & (got <= scale.max + 1e-9)).all()
    ind_scores = inds["score"].drop_nulls()
    assert ((ind_scores >= 0) & (ind_scores <= 100)).all()
    sums = inds.group_by("unit_id").agg(pl.col("contribution").sum()).join(
        scores.select("unit_id", "base_score"), on="unit_id")
    for row in sums.iter_rows(named=True):
        if row["base_score"] is not None:
            assert abs(row["contribution"] - (row["base_score"] - scale.min)) <= 1e-6 * max(
                1.0, abs(scale.max - scale.min))


@FAST
@given(scheme_and_data())
def test_local_weights_sum_to_one_over_children_with_data(case) -> None:
    loaded, data, n = case
    _, inds = scored(loaded, data, n)
    used = inds.filter(pl.col("score").is_not_null() & (pl.col("weight") > 0))
    sums = used.group_by("unit_id", "dimension_id").agg(pl.col("local_weight").sum())
    assert (abs(sums["local_weight"] - 1.0) < 1e-9).all()


MONOTONE = [{"type": "min_max"}, {"type": "zscore"}, {"type": "percentile"},
            {"type": "goalposts", "lower": 0, "upper": 100}, {"type": "efficacy"}]


@FAST
@given(st.lists(values, min_size=3, max_size=6), st.floats(min_value=0.01, max_value=500),
       st.sampled_from(MONOTONE), st.integers(min_value=0, max_value=5))
def test_raising_a_higher_is_better_value_never_lowers_the_units_score(
        xs: list[float], bump: float, rule: dict, who: int) -> None:
    who %= len(xs)
    loaded = make_scheme([dimension("d", [indicator("x", rule=rule), indicator("y")])])
    base = {f"u{i}": v for i, v in enumerate(xs)}
    other = {f"u{i}": 50.0 for i in range(len(xs))}
    before, _ = scored(loaded, {"x": base, "y": other}, len(xs))
    raised = dict(base, **{f"u{who}": base[f"u{who}"] + bump})
    after, _ = scored(loaded, {"x": raised, "y": other}, len(xs))
    key = f"u{who}"
    b = before.filter(pl.col("unit_id") == key)["base_score"][0]
    a = after.filter(pl.col("unit_id") == key)["base_score"][0]
    assert a >= b - 1e-9


@FAST
@given(st.lists(st.integers(min_value=-1000, max_value=1000), min_size=3, max_size=6,
                unique=True),
       st.floats(min_value=0.01, max_value=100), st.floats(min_value=-1e3, max_value=1e3),
       st.sampled_from(["all", "peer_group"]))
def test_positive_affine_rescale_of_a_min_max_input_keeps_the_ranking(
        xs: list[int], a: float, b: float, within: str) -> None:
    loaded = make_scheme([dimension("d", [
        indicator("x", rule={"type": "min_max", "within": within}), indicator("y")])])
    ys = {f"u{i}": float(10 * i) for i in range(len(xs))}
    first, _ = scored(loaded, {"x": {f"u{i}": v for i, v in enumerate(xs)}, "y": ys}, len(xs))
    second, _ = scored(loaded, {"x": {f"u{i}": a * v + b for i, v in enumerate(xs)}, "y": ys},
                       len(xs))
    assert (abs(first["base_score"] - second["base_score"]) < 1e-6).all()
    order = [f["base_score"].round(6).rank("min").to_list() for f in (first, second)]
    assert order[0] == order[1]
