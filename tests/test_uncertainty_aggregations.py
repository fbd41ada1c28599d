"""The bootstrap and the weight Monte-Carlo aggregate as the run did: every declared mean
(arithmetic, geometric, harmonic, generalised, weighted median, Mazziotta–Pareto, ratio), each
node's `min_coverage`, and a ratio total left unclamped above `scale.max`. A replicate that draws
nothing (or a Monte-Carlo draw at zero weight spread) is the run itself, node by node."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from helpers.scoring import add_units, add_values, dimension, indicator, make_scheme
from hypothesis import given
from hypothesis import strategies as st

from evaluator.scoring import score_run
from evaluator.store import connect
from evaluator.uncertainty.bootstrap import (
    FINAL,
    NODES,
    build_values,
    final_scores,
    load_run,
    score_indicators,
)
from evaluator.uncertainty.bootstrap import aggregate as bootstrap_aggregate
from evaluator.uncertainty.sensitivity import (
    aggregate,
    draw_methods,
    finalise,
    load_arrays,
    monte_carlo,
    round_half_away,
    tree,
)

KINDS = ["arithmetic", "geometric", "harmonic", "generalised", "median", "mazziotta_pareto",
         "ratio"]
UNITS = [f"u{i:02d}" for i in range(1, 11)]
RNG = np.random.default_rng(7)
VALUES = {m: dict(zip(UNITS, RNG.uniform(5, 95, len(UNITS)).round(3).tolist(), strict=True))
          for m in ("x", "y", "z", "v", "q")}
VALUES["z"]["u03"] = 0.0  # a zero child: geometric / harmonic / generalised(p < 0) give 0
VALUES["y"]["u05"] = VALUES["x"]["u05"]  # a tie, for the median
del VALUES["y"]["u04"], VALUES["z"]["u04"]  # u04 has 1 of d's 3 children: below min_coverage


def _scheme(kind: str):
    """d (kind, min_coverage 0.6) over x (declared error: redrawn by the bootstrap), y, z;
    e (arithmetic) over v, q; the total (kind) over d and e. A ratio takes two children."""
    power = {"power": -1.5 if kind == "generalised" else None}
    power = {k: v for k, v in power.items() if v is not None}
    x = indicator("x", source={"error": {"relative": 0.1}}, weight=2)
    d_kids = [x, indicator("y", weight=1)] if kind == "ratio" else [
        x, indicator("y", weight=1), indicator("z", weight=3)]
    dims = [dimension("d", d_kids, aggregation=kind, min_coverage=0.6, **power),
            dimension("e", [indicator("v"), indicator("q", weight=2)])]
    return make_scheme(dims, aggregation=kind, scale={"min": 0, "max": 10, "decimals": 4},
                       **power)


@pytest.fixture(scope="module", params=KINDS)
def scored(request, tmp_path_factory) -> tuple[str, object, duckdb.DuckDBPyConnection, str]:
    kind = request.param
    con = connect(tmp_path_factory.mktemp(kind) / "a.duckdb")
    add_units(con, len(UNITS))
    for measure, values in VALUES.items():
        add_values(con, measure, values)
    loaded = _scheme(kind)
    run_id = score_run(con, loaded, "2026", publish_snapshot=False)
    yield kind, loaded.scheme, con, run_id
    con.close()


def _run_nodes(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[tuple[str, str], float]:
    rows = con.execute(
        "SELECT unit_id, dimension_id, score FROM run_dimension_scores WHERE run_id = ? "
        "AND score IS NOT NULL UNION ALL SELECT unit_id, '__total__', "
        "base_score * 10.0 FROM run_scores WHERE run_id = ? AND base_score IS NOT NULL",
        [run_id, run_id]).fetchall()
    return {(u, n): s for u, n, s in rows}


def test_a_replicate_without_draws_aggregates_as_the_run(scored) -> None:
    kind, scheme, con, run_id = scored
    from evaluator.scoring.engine import DuckDBEngine

    engine = DuckDBEngine(con)
    load_run(engine, scheme, run_id, 3)
    build_values(engine, scheme, run_id, "2026", seed=1, resample=False)
    score_indicators(engine, scheme)
    bootstrap_aggregate(engine, scheme)
    want = _run_nodes(con, run_id)
    got = con.execute(f"SELECT rep, unit_id, node_id, score FROM {NODES} "
                      "WHERE node_id IN ('d', 'e', '__total__')").fetchall()
    # a moving node has a row per replicate, a fixed one a single row (rep = -1)
    per_rep: dict[tuple[str, str], list[float]] = {}
    reps: dict[str, set[int]] = {}
    for rep, u, n, s in got:
        per_rep.setdefault((u, n), []).append(s)
        reps.setdefault(n, set()).add(rep)
    assert set(per_rep) == set(want), kind
    # (u04's total, without d, rests on e alone: fixed too)
    assert reps["e"] == {-1} and reps["d"] == {0, 1, 2}, kind
    assert reps["__total__"] - {-1} == {0, 1, 2}, kind
    for key, scores in per_rep.items():
        assert scores == pytest.approx([want[key]] * len(scores), abs=1e-9, rel=0), (kind, key)
    assert ("u04", "d") not in per_rep  # below d's min_coverage, in the run and the replicates
    final_scores(engine, scheme)
    diff = con.execute(
        f"SELECT count(*) FILTER (WHERE f.score IS DISTINCT FROM s.score), count(*), "
        f"max(f.score) FROM {FINAL} f JOIN run_scores s ON s.unit_id = f.unit_id "
        "AND s.run_id = ?", [run_id]).fetchall()[0]
    scored_units = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ? "
                               "AND score IS NOT NULL", [run_id]).fetchall()[0][0]
    assert diff[0] == 0 and diff[1] == 3 * scored_units, kind
    if kind == "ratio":  # a ratio total is not clamped at scale.max, in the run or replicates
        assert diff[2] > scheme.scale.max


def test_monte_carlo_at_zero_spread_aggregates_as_the_run(scored) -> None:
    kind, scheme, con, run_id = scored
    arrays = load_arrays(con, scheme, run_id)
    t = tree(scheme)
    w = {k: np.full(4, v) for k, v in t.weight.items()}
    total = aggregate(arrays, t, w, draw_methods(t, 4, np.random.default_rng(0),
                                                 scheme.uncertainty.model_copy(
                                                     update={"vary_aggregation": False})))
    want = _run_nodes(con, run_id)
    expected = np.array([want[(u, "__total__")] for u in arrays.unit_ids])
    assert total == pytest.approx(np.broadcast_to(expected, total.shape), abs=1e-9, rel=0), kind
    stored = np.array([r[0] for r in con.execute(
        "SELECT score FROM run_scores s WHERE run_id = ? ORDER BY rank, unit_id",
        [run_id]).fetchall() if r[0] is not None])
    assert (finalise(arrays, scheme, total) == stored[None, :]).all(), kind
    still = scheme.model_copy(update={"uncertainty": scheme.uncertainty.model_copy(
        update={"weight_range": 0.0, "vary_aggregation": False})})
    ranks, grades = monte_carlo(arrays, still, draws=5, seed=3)
    assert (ranks == arrays.rank[None, :]).all() and (grades == arrays.grade_ord[None, :]).all()


def test_monte_carlo_varies_aggregation_but_keeps_a_ratio() -> None:
    t = tree(_scheme("ratio").scheme)
    settings = _scheme("ratio").scheme.uncertainty
    methods = draw_methods(t, 200, np.random.default_rng(1), settings)
    assert {str(m) for m in methods["__total__"]} == {"ratio"}
    assert {str(m) for m in methods["e"]} == {"arithmetic", "geometric"}


@given(st.lists(st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-10 ** 8, 10 ** 8).map(lambda k: (k + 0.5) / 10 ** 4),  # near-halves
    st.integers(-10 ** 8, 10 ** 8).map(lambda k: k / 10 ** 5)), min_size=1, max_size=30),
       st.integers(0, 6))
def test_draw_scores_round_as_the_run_rounds(values: list[float], decimals: int) -> None:
    """The Monte-Carlo rounds a draw's score as DuckDB's ROUND rounds the run's (the exact
    binary value, halves away from zero), not as numpy's round (halves to even, scaled
    inexactly)."""
    con = duckdb.connect()
    want = [r[0] for r in con.execute(
        "SELECT ROUND(x, ?) FROM (SELECT UNNEST(?) AS x, GENERATE_SUBSCRIPTS(?, 1) AS i) "
        "ORDER BY i", [decimals, values, values]).fetchall()]
    con.close()
    assert round_half_away(np.array(values), decimals).tolist() == want


def test_a_draw_honours_min_coverage_when_a_weight_drops_out() -> None:
    """d (min_coverage 0.6) over x, y, z; unit A has x, y (2 of 3: scored), B all three. With
    x's weight at 0 (leave-one-out), d has two children of weight: A keeps only y, below
    ⌈0.6 · 2⌉ = 2, so A's d is not scored and its total rests on e; B's d averages y and z."""
    from evaluator.uncertainty.sensitivity import RunArrays

    scheme = make_scheme([
        dimension("d", [indicator("x"), indicator("y"), indicator("z")], min_coverage=0.6),
        dimension("e", [indicator("v")])]).scheme
    run = RunArrays(
        unit_ids=["A", "B"], indicator_ids=["x", "y", "z", "v"],
        scores=np.array([[90.0, 30.0, np.nan, 50.0], [60.0, 20.0, 40.0, 10.0]]),
        covered={"__total__": np.ones(2, bool), "d": np.ones(2, bool), "e": np.ones(2, bool)},
        bonus=np.zeros(2), deduction=np.zeros(2), veto_max=np.full(2, np.nan),
        veto_ord=np.full(2, -1), rank=np.array([1, 2]), grade_ord=np.zeros(2, int))
    t = tree(scheme)
    w = {k: np.full(2, v) for k, v in t.weight.items()}
    w["x"] = np.array([t.weight["x"], 0.0])  # draw 0 as declared, draw 1 without x
    methods = {p: np.full(2, t.method[p]) for p in t.nodes}
    total = aggregate(run, t, w, methods)
    assert total[0].tolist() == pytest.approx([(60.0 + 50.0) / 2, (40.0 + 10.0) / 2])
    assert total[1].tolist() == pytest.approx([50.0, (30.0 + 10.0) / 2])


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_spark_draws_the_same_replicates_of_other_means(tmp_path) -> None:
    """The other-means level query runs through the engine seam: a median, a Mazziotta–Pareto
    and a ratio total, x redrawn (declared error), agree on DuckDB and Spark within 1e-9."""
    import os

    from evaluator.scoring.engine import DuckDBEngine, sql
    from evaluator.scoring.engines.spark import SparkEngine, spark_available, start_session
    from evaluator.uncertainty.bootstrap import GRADES, run_bootstrap
    from evaluator.uncertainty.compute import stage_run

    missing = spark_available()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI: the Spark bootstrap test must run: {missing}")
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    x = indicator("x", source={"error": {"relative": 0.1}}, weight=2)
    loaded = make_scheme(
        [dimension("d", [x, indicator("y"), indicator("z", weight=3)], aggregation="median",
                   min_coverage=0.6),
         dimension("e", [indicator("v"), indicator("q", weight=2)],
                   aggregation="mazziotta_pareto")],
        aggregation="ratio", scale={"min": 0, "max": 10, "decimals": 4})
    con = connect(tmp_path / "s.duckdb")
    add_units(con, len(UNITS))
    for measure, values in VALUES.items():
        add_values(con, measure, values)
    run_id = score_run(con, loaded, "2026", publish_snapshot=False)
    reused = SparkSession.getActiveSession()
    spark = reused or start_session("local[2]")
    out = {}
    try:
        for name, engine in (("duckdb", DuckDBEngine(con)),
                             ("spark", SparkEngine(spark, tmp_path / "spark"))):
            if not engine.SHARES_STORE:
                stage_run(con, engine, run_id, "2026")
            run_bootstrap(engine, loaded.scheme, run_id, "2026", 8, seed=5)
            out[name] = engine.fetch_polars(sql(
                f"SELECT f.rep, f.unit_id, f.score, f.rank, g.ord FROM {FINAL} f JOIN {GRADES} g "
                "ON g.rep = f.rep AND g.unit_id = f.unit_id")).sort("rep", "unit_id")
    finally:
        if reused is None:
            spark.stop()
        con.close()
    a, b = out["duckdb"], out["spark"]
    assert a.height == b.height and a.height > 0
    assert a["score"].n_unique() > len(UNITS)  # the draws move the scores
    assert (a["score"] - b["score"]).abs().max() <= 1e-9
    assert a.select("rep", "unit_id", "rank", "ord").equals(b.select("rep", "unit_id", "rank",
                                                                     "ord"))
