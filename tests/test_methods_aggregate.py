"""Aggregation methods: harmonic, generalised (power) mean, weighted median, Mazziotta–Pareto,
ratio of two sub-scores — hand-worked, the power-mean inequalities on random data, located
validation errors."""

from __future__ import annotations

from itertools import accumulate

import pytest
from helpers.methods import DIMENSION, refusal
from helpers.scoring import add_units, add_values, col, dimension, indicator, make_scheme, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from evaluator.store import connect


def dim_score(con, run_id: str, dim: str) -> list[float | None]:
    return [r[0] for r in con.execute(
        "SELECT score FROM run_dimension_scores WHERE run_id = ? AND dimension_id = ? "
        "ORDER BY unit_id", [run_id, dim]).fetchall()]


def two(con, aggregation: str, values: dict[str, float], weights=(1, 3), **kw):
    """d (aggregation) over a (weight 1) and b (weight 3), direct scores; one unit."""
    add_units(con, 1)
    for k, v in values.items():
        add_values(con, k, {"u01": v})
    inds = [indicator(k, weight=w) for k, w in zip(values, weights, strict=False)]
    run_id, scores, inds_out = run(con, make_scheme([dimension("d", inds,
                                                               aggregation=aggregation, **kw)]))
    # contributions add up to the total whatever the mean
    assert sum(col(inds_out, "contribution")) == pytest.approx(scores["base_score"][0])
    return dim_score(con, run_id, "d")[0]


def test_harmonic_by_hand(con) -> None:
    # (1 + 3) / (1/40 + 3/80) = 4 / 0.0625
    assert two(con, "harmonic", {"a": 40, "b": 80}) == pytest.approx(64.0)


def test_harmonic_with_a_zero_is_zero(con) -> None:
    assert two(con, "harmonic", {"a": 0, "b": 80}) == 0.0


def test_generalised_quadratic_by_hand(con) -> None:
    # ((1·40² + 3·80²) / 4)^(1/2) = √5200
    assert two(con, "generalised", {"a": 40, "b": 80}, power=2) == pytest.approx(5200 ** 0.5)


def test_generalised_minus_one_is_harmonic(con) -> None:
    assert two(con, "generalised", {"a": 40, "b": 80}, power=-1) == pytest.approx(64.0)


def test_weighted_median_by_hand(con) -> None:
    # weights 1, 3: the running weight passes half (2 of 4) at 80
    assert two(con, "median", {"a": 40, "b": 80}) == pytest.approx(80.0)


def test_median_of_equal_weights_is_the_ordinary_median(con) -> None:
    assert two(con, "median", {"a": 10, "b": 20}, weights=(1, 1)) == pytest.approx(15.0)


def test_median_of_three(con) -> None:
    assert two(con, "median", {"a": 10, "b": 50, "c": 20}, weights=(1, 1, 1)) == 20.0


def test_mazziotta_pareto_by_hand(con) -> None:
    # M = 60, S = 20 (population sd over the two), cv = S/M: MPI = M − S·cv = 60 − 400/60
    assert two(con, "mazziotta_pareto", {"a": 40, "b": 80}, weights=(1, 1)) == pytest.approx(
        60 - 400 / 60)


def test_mazziotta_pareto_of_a_lopsided_profile(con) -> None:
    # M = 60 (weights 1, 3 on 0 and 80), S² = (60² + 3·20²)/4 = 1200: 60 − 1200/60 = 40
    assert two(con, "mazziotta_pareto", {"a": 0, "b": 80}) == pytest.approx(40.0)


def test_mazziotta_pareto_of_a_balanced_profile_is_its_mean(con) -> None:
    assert two(con, "mazziotta_pareto", {"a": 70, "b": 70}) == pytest.approx(70.0)


def test_ratio_of_two_sub_scores_gdi_style(con) -> None:
    # GDI = female HDI / male HDI: 100 · 45 / 50 = 90, on a 0–1 scale 0.9
    add_units(con, 2)
    add_values(con, "f", {"u01": 45, "u02": 60})
    add_values(con, "m", {"u01": 50})
    loaded = make_scheme([dimension("female", [indicator("f")]),
                          dimension("male", [indicator("m")])], aggregation="ratio",
                         scale={"min": 0, "max": 1, "decimals": 3})
    _, scores, _ = run(con, loaded)
    assert scores["base_score"][0] == pytest.approx(0.9)
    assert scores["score"][1] is None  # no denominator: no ratio


# ----------------------------------------------------------------------------- properties

FAST = settings(max_examples=10, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])
MEANS = {"ar": {"aggregation": "arithmetic"}, "ge": {"aggregation": "geometric"},
         "ha": {"aggregation": "harmonic"}, "g2": {"aggregation": "generalised", "power": 2},
         "g1": {"aggregation": "generalised", "power": 1},
         "md": {"aggregation": "median"}, "mp": {"aggregation": "mazziotta_pareto"}}


@pytest.mark.slow
@FAST
@given(st.lists(st.lists(st.floats(1, 100), min_size=3, max_size=3), min_size=1, max_size=4),
       st.lists(st.floats(0.1, 10), min_size=3, max_size=3))
def test_means_on_random_data(rows: list[list[float]], weights: list[float]) -> None:
    con = connect(":memory:")
    try:
        ids = [f"u{i:02d}" for i in range(len(rows))]
        add_units(con, [(u, None) for u in ids])
        for j in range(3):
            add_values(con, f"x{j}", {u: r[j] for u, r in zip(ids, rows, strict=True)})
        dims = [dimension(k, [indicator(f"{k}{j}", f"x{j}", weight=weights[j])
                              for j in range(3)], **kw) for k, kw in MEANS.items()]
        dims += [dimension(k, [indicator(f"{k}{j}", f"x{j}", weight=weights[j]) for j in pair],
                           aggregation="ratio") for k, pair in (("ra", (0, 1)), ("rb", (1, 0)))]
        run_id, _, _ = run(con, make_scheme(dims))
        got = {k: dim_score(con, run_id, k) for k in [*MEANS, "ra", "rb"]}
        total = sum(weights)
        for i, r in enumerate(rows):
            s = {k: v[i] for k, v in got.items()}
            eps = 1e-9 * max(r)
            # the power means in order: harmonic ≤ geometric ≤ arithmetic ≤ quadratic
            assert s["ha"] <= s["ge"] + eps and s["ge"] <= s["ar"] + eps
            assert s["ar"] <= s["g2"] + eps
            assert s["g1"] == pytest.approx(s["ar"])
            # Mazziotta–Pareto: the mean less S²/M, never above it
            var = sum(w * (x - s["ar"]) ** 2 for w, x in zip(weights, r, strict=True)) / total
            assert s["mp"] == pytest.approx(max(0.0, s["ar"] - var / s["ar"]), abs=1e-9)
            # weighted median: the value where the running weight passes half
            order = sorted(zip(r, weights, strict=True))
            cum = list(accumulate(w for _, w in order))
            k = next(i for i, c in enumerate(cum) if c >= total / 2 - 1e-12 * total)
            if abs(cum[k] - total / 2) > 1e-12 * total:
                assert s["md"] == pytest.approx(order[k][0])
            assert min(r) - eps <= s["md"] <= max(r) + eps
            # ratio: the first child over the second, whatever the weights, past 100 too; the
            # children swapped give the reciprocal
            assert s["ra"] == pytest.approx(100 * r[0] / r[1])
            assert s["ra"] * s["rb"] == pytest.approx(100.0 ** 2)
    finally:
        con.close()


# ----------------------------------------------------------------------------- validation

BASE = DIMENSION + """\
    AGG
    indicators:
      - {id: a, name: {zh: 甲, en: A}, evidence: outcome, source: {measure: a}, rule: {type: direct}}
      - {id: b, name: {zh: 乙, en: B}, evidence: outcome, source: {measure: b}, rule: {type: direct}}
      - {id: c, name: {zh: 丙, en: C}, evidence: outcome, source: {measure: c}, rule: {type: direct}}
"""


@pytest.mark.parametrize(("agg", "where", "message"), [
    ("aggregation: generalised", "8 dimensions[0].aggregation", "needs `power`"),
    ("{aggregation: generalised, power: 0}".strip("{}").replace(", ", "\n    "),
     "9 dimensions[0].power", "write `aggregation: geometric`"),
    ("power: 2", "8 dimensions[0].power", "read only by `aggregation: generalised`"),
    ("aggregation: ratio", "8 dimensions[0].aggregation", "exactly two children (has 3)"),
    ("aggregation: harmonc", "8 dimensions[0].aggregation", "did you mean 'harmonic'"),
])
def test_bad_aggregation_is_refused_at_its_line(agg: str, where: str, message: str) -> None:
    error = refusal(BASE.replace("AGG", agg))
    assert f"s.yaml:{where}" in error
    assert message in error
