"""Normalisation methods: min_max to any range, zscore without the clamp, percentile ranks with
a tie rule (average, min = Borda, max = rank), fraction of max, distance to a reference unit —
hand-worked values, properties on random data (hypothesis), and located validation errors."""

from __future__ import annotations

import statistics

import pytest
from helpers.methods import refusal, scheme_text
from helpers.scoring import add_units, add_values, approx, col, dimension, indicator, make_scheme, one, run
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from evaluator.store import connect


def scores(con, rule: dict, values: list[float | None], **kw) -> list[float | None]:
    ids = [f"u{i:02d}" for i in range(1, len(values) + 1)]
    add_units(con, len(values))
    add_values(con, "x", {u: v for u, v in zip(ids, values, strict=True) if v is not None})
    _, _, inds = run(con, one(rule, **kw))
    return col(inds, "score")


def test_min_max_to_1_100(con) -> None:
    assert approx(scores(con, {"type": "min_max", "range": [1, 100]}, [10, 20, 40]),
                  [1.0, 1 + 99 * 10 / 30, 100.0])


def test_min_max_range_lower_is_better(con) -> None:
    assert approx(scores(con, {"type": "min_max", "range": [1, 100]}, [10, 20, 40],
                         direction="lower"), [100.0, 1 + 99 * 20 / 30, 1.0])


def test_min_max_range_all_equal_scores_the_top(con) -> None:
    assert approx(scores(con, {"type": "min_max", "range": [10, 90]}, [5, 5]), [90.0, 90.0])


def test_zscore_unclamped_keeps_the_tails(con) -> None:
    # mean 50, sample sd 50: z = -1, 0, 1
    rule = {"type": "zscore", "center": 50, "spread": 60, "clamp": False}
    assert approx(scores(con, rule, [0, 50, 100]), [-10.0, 50.0, 110.0])


def test_zscore_clamped_by_default(con) -> None:
    assert approx(scores(con, {"type": "zscore", "spread": 60}, [0, 50, 100]),
                  [0.0, 50.0, 100.0])


@pytest.mark.parametrize(("ties", "expected"), [
    ("average", [0.0, 50.0, 50.0, 100.0]),
    ("min", [0.0, 100 / 3, 100 / 3, 100.0]),    # Borda: units beaten, 0 1 1 3, over n − 1
    ("max", [0.0, 200 / 3, 200 / 3, 100.0]),    # competition rank from the best: 4 2 2 1
])
def test_percentile_tie_rules(con, ties: str, expected: list[float]) -> None:
    assert approx(scores(con, {"type": "percentile", "ties": ties}, [1, 2, 2, 3]), expected)


def test_percentile_min_lower_is_better(con) -> None:
    # lower is better: u01 (1) beats 3 units, u02/u03 (2) beat 1, u04 (3) none
    assert approx(scores(con, {"type": "percentile", "ties": "min"}, [1, 2, 2, 3],
                         direction="lower"), [100.0, 100 / 3, 100 / 3, 0.0])


def test_fraction_of_max(con) -> None:
    assert approx(scores(con, {"type": "fraction_of_max"}, [10, 20, 40, -5]),
                  [25.0, 50.0, 100.0, 0.0])


def test_fraction_of_max_lower_is_better(con) -> None:
    assert approx(scores(con, {"type": "fraction_of_max"}, [10, 20, 40], direction="lower"),
                  [100.0, 50.0, 25.0])


def test_fraction_of_max_without_a_positive_max_scores_nothing(con) -> None:
    assert scores(con, {"type": "fraction_of_max"}, [-10, 0]) == [None, None]


def test_reference_unit(con) -> None:
    # (x − min)/(x_ref − min): u02 is the reference, u03 is past it
    assert approx(scores(con, {"type": "reference_unit", "unit": "u02"}, [10, 20, 40]),
                  [0.0, 100.0, 100.0])


def test_reference_unit_unclamped_and_lower(con) -> None:
    rule = {"type": "reference_unit", "unit": "u02", "clamp": False}
    assert approx(scores(con, rule, [10, 20, 40], direction="lower"),
                  [(40 - 10) / (40 - 20) * 100, 100.0, 0.0])


def test_reference_unit_without_a_value_scores_nothing(con) -> None:
    assert scores(con, {"type": "reference_unit", "unit": "u03"}, [10, 20, None]) == [
        None, None, None]


# ----------------------------------------------------------------------------- properties

FAST = settings(max_examples=12, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate])
values = st.lists(st.integers(min_value=-50, max_value=50).map(float), min_size=2, max_size=7)
ranges = st.tuples(st.floats(0, 99), st.floats(0.5, 100)).map(
    lambda t: (t[0], min(100.0, t[0] + t[1])))
RULES = {
    "mm": {"type": "min_max"}, "pmin": {"type": "percentile", "ties": "min"},
    "pavg": {"type": "percentile"}, "pmax": {"type": "percentile", "ties": "max"},
    "fom": {"type": "fraction_of_max"}, "ref": {"type": "reference_unit", "unit": "u00",
                                                "clamp": False},
    "zs": {"type": "zscore", "clamp": False, "center": 50, "spread": 10}, "zsc": {"type": "zscore"},
}


def all_rules(xs: list[float], extra: dict[str, dict]) -> dict[str, list[float | None]]:
    """One run scoring measure x under every rule (one indicator each)."""
    con = connect(":memory:")
    try:
        ids = [f"u{i:02d}" for i in range(len(xs))]
        add_units(con, [(u, None) for u in ids])
        add_values(con, "x", dict(zip(ids, xs, strict=True)))
        inds = [indicator(k, "x", rule) for k, rule in {**RULES, **extra}.items()]
        _, _, out = run(con, make_scheme([dimension("d", inds)]))
        return {k: col(out, "score", {"indicator_id": k}) for k in {**RULES, **extra}}
    finally:
        con.close()


@pytest.mark.slow
@FAST
@given(values, ranges, st.floats(0.01, 100), st.floats(-100, 100))
def test_normalisations_on_random_data(xs: list[float], rng: tuple[float, float], a: float,
                                       b: float) -> None:
    got = all_rules(xs, {"mmr": {"type": "min_max", "range": list(rng)}})
    low, high = rng
    n = len(xs)
    for x, mm, mmr, pmin, pavg, pmax in zip(xs, got["mm"], got["mmr"], got["pmin"],
                                            got["pavg"], got["pmax"], strict=True):
        assert mm is not None and mmr is not None
        # min-max to any range is the 0–100 score mapped linearly onto it, within it
        assert mmr == pytest.approx(low + (high - low) * mm / 100, abs=1e-9)
        assert low - 1e-9 <= mmr <= high + 1e-9
        # Borda on ties: `min` counts the units beaten, `max` adds the others tied, and the
        # mid-rank is their mean
        beaten, tied = sum(v < x for v in xs), sum(v == x for v in xs)
        assert pmin == pytest.approx(100 * beaten / (n - 1))
        assert pmax == pytest.approx(100 * (beaten + tied - 1) / (n - 1))
        assert pavg == pytest.approx((pmin + pmax) / 2)
    top = max(xs)
    for x, fom in zip(xs, got["fom"], strict=True):
        assert (fom is None) if top <= 0 else fom == pytest.approx(
            100 * min(1.0, max(0.0, x / top)))
    if xs[0] != min(xs):
        assert got["ref"][0] == pytest.approx(100.0)  # the reference unit scores 100
    # z-scores: unclamped, their mean is `center` and their sample sd `spread` (all at the
    # center when the data do not vary); clamped, the same z on 50 ± 15 cut at 0 and 100
    zs = [float(v) for v in got["zs"]]
    assert statistics.fmean(zs) == pytest.approx(50.0)
    assert statistics.stdev(zs) == pytest.approx(10.0 if len(set(xs)) > 1 else 0.0)
    assert approx(got["zsc"], [min(100.0, max(0.0, 50 + 1.5 * (z - 50))) for z in zs])
    # min-max and the percentile ranks do not move under a positive affine map of the data
    moved = all_rules([a * x + b for x in xs], {"mmr": {"type": "min_max", "range": list(rng)}})
    for k in ("mm", "mmr", "pmin", "pavg", "pmax", "zs", "zsc"):
        assert approx(moved[k], got[k], tol=1e-6), k


def r_rank(xs: list[float], ties: str) -> list[float]:
    """R's `rank(x, ties.method = ties)` (COINr's n_rank; n_borda is it − 1), written out."""
    lo = [1 + sum(v < x for v in xs) for x in xs]
    hi = [sum(v <= x for v in xs) for x in xs]
    return {"min": lo, "max": hi, "average": [(a + b) / 2 for a, b in zip(lo, hi, strict=True)]
            }[ties]


@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=9))
def test_borda_on_ties(rows: list[tuple[int, int]]) -> None:
    """Ranks and Borda scores on data with many ties, against R's rank(): every tie rule, both
    directions; tied units score alike, the mid-ranks keep the Borda total, and the arithmetic
    mean of `ties: min` scores over two indicators is the Borda count (COINr's n_borda, summed)."""
    con = connect(":memory:")
    try:
        n, ids = len(rows), [f"u{i:02d}" for i in range(len(rows))]
        add_units(con, [(u, None) for u in ids])
        for j in (0, 1):
            add_values(con, f"x{j}", {u: float(r[j]) for u, r in zip(ids, rows, strict=True)})
        inds = [indicator(f"{t}_{d}", "x0", {"type": "percentile", "ties": t}, direction=d)
                for t in ("min", "average", "max") for d in ("higher", "lower")]
        borda = [indicator(f"b{j}", f"x{j}", {"type": "percentile", "ties": "min"})
                 for j in (0, 1)]
        run_id, _, out = run(con, make_scheme([dimension("d", inds),
                                               dimension("count", borda)]))
        got = {i["id"]: col(out, "score", {"indicator_id": i["id"]}) for i in inds}
        x0 = [float(r[0]) for r in rows]
        for t in ("min", "average", "max"):
            for d, xs in (("higher", x0), ("lower", [-x for x in x0])):
                want = [100 * (r - 1) / (n - 1) for r in r_rank(xs, t)]
                assert approx(got[f"{t}_{d}"], want), (t, d)
                pairs = list(zip(xs, got[f"{t}_{d}"], strict=True))
                assert all(a == b for (x, a) in pairs for (y, b) in pairs if x == y)
                if t != "max":  # a unit strictly better scores strictly more
                    assert all(a > b for (x, a) in pairs for (y, b) in pairs if x > y)
        # ties shared at the mid-rank keep the total of the untied ranks: Σ (r − 1) = n(n − 1)/2
        assert sum(got["average_higher"]) == pytest.approx(50.0 * n)
        assert sum(got["min_higher"]) <= 50.0 * n + 1e-9 <= sum(got["max_higher"]) + 2e-9
        count = [r[0] for r in con.execute(
            "SELECT score FROM run_dimension_scores WHERE run_id = ? AND dimension_id = 'count' "
            "ORDER BY unit_id", [run_id]).fetchall()]
        points = [a + b - 2 for a, b in zip(r_rank(x0, "min"),
                                            r_rank([float(r[1]) for r in rows], "min"),
                                            strict=True)]
        assert approx(count, [100 * p / (2 * (n - 1)) for p in points])
    finally:
        con.close()


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize(("rule", "message"), [
    ("{type: min_max, range: [50, 10]}", "must satisfy 0 <= low < high <= 100"),
    ("{type: min_max, range: [0, 200]}", "the scheme's `scale` maps the total"),
    ("{type: percentile, ties: first}", "'first'"),
    ("{type: reference_unit}", "rule.unit: required key is missing"),
    ("{type: zscore, clamp: maybe}", "clamp"),
    # COINr's names say how this scheme language writes them
    ("{type: borda}", "Borda scores (units beaten) on 0–100 are a percentile rank with COINr's "
                      "tie rule: `{type: percentile, ties: min}`"),
    ("{type: n_rank}", "ranks on 0–100 are a percentile rank"),
    ("{type: n_dist2max}", "the distance to the best is `{type: min_max}`"),
])
def test_bad_normalisation_is_refused_at_its_line(rule: str, message: str) -> None:
    error = refusal(scheme_text(rule=rule))
    assert "s.yaml:13 dimensions[0].indicators[0].rule" in error
    assert message in error
