"""DuckDB and Spark (local[2]) score every shipped scheme and the rule-coverage schemes alike.

Each case loads real data through `evaluator ingest`, scores it once with DuckDB and once with
Spark into the same database, and compares every score, rank, grade, flag, indicator score,
dimension score and survey statistic (floats within 1e-9). One SparkSession serves the whole
test session. Skipped only where pyspark or Java is missing and CI is not set; in CI
(`CI=true`) a missing Spark is a failure. Quick subset: `pytest -m "not spark"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pytest
from helpers.scoring import dimension, indicator, make_scheme
from typer.testing import CliRunner

from evaluator.cli import app
from evaluator.ingest import ingest_file
from evaluator.scheme import load_scheme
from evaluator.scheme.loader import LoadedScheme
from evaluator.scheme.models import MeasureSource, SurveySource, TargetRule
from evaluator.scoring import score_run
from evaluator.scoring.panel import outcome_years
from evaluator.store import connect

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-9
KINDS = ("units", "outcomes", "targets", "events", "surveys")
#: what must agree, table → key columns
COMPARED = {
    "run_scores": ("unit_id",),
    "run_indicator_scores": ("unit_id", "indicator_id"),
    "run_dimension_scores": ("unit_id", "dimension_id"),
    "run_flags": ("unit_id", "flag"),
    "run_survey_quality": ("unit_id", "indicator_id"),
    "run_funnels": ("funnel", "indicator_id", "unit_id"),
}


# ------------------------------------------------------------------------------ data


def synth_files(loaded: LoadedScheme, folder: Path, units: int = 24, seed: int = 7,
                year: int = 2026) -> dict[str, Path]:
    """Seeded data for any scheme in the documented input formats: every measure (some units
    missing, `*_q` measures quarterly), per-unit targets, events for every veto and adjustment,
    survey answers with speeders, straight-liners, duplicate respondents and small samples."""
    rng = np.random.default_rng(seed)
    scheme = loaded.scheme
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"{i:03d}" for i in range(1, units + 1)]
    n = len(ids)
    frames: dict[str, pl.DataFrame] = {"units": pl.DataFrame({
        "unit_id": ids, "name": [f"单位{u}" for u in ids],
        "unit_type": [scheme.unit_types[i % len(scheme.unit_types)] for i in range(n)],
        "peer_group": ["a" if i % 3 else "b" for i in range(n)],
    })}
    outcomes, targets, surveys = [], [], []
    measures = sorted({i.source.measure for i in scheme.indicators()
                       if isinstance(i.source, MeasureSource)})
    for m in measures:
        has = rng.random(n) > 0.1
        base = rng.gamma(2.0, 20.0, n).round(3)
        base[rng.random(n) < 0.1] = 0.0  # zeros: logs, deductions, pass/fail boundaries
        if m.endswith("_q"):
            for q in range(1, 5):
                outcomes.append(pl.DataFrame({
                    "unit_id": ids, "period": f"{year}Q{q}", "measure": m,
                    "value": (base * rng.uniform(0.8, 1.2, n)).round(3)}).filter(pl.Series(has)))
        else:
            outcomes.append(pl.DataFrame({"unit_id": ids, "period": str(year), "measure": m,
                                          "value": base}).filter(pl.Series(has)))
    for ind in scheme.indicators():
        if isinstance(ind.rule, TargetRule) and ind.rule.target is None:
            assert isinstance(ind.source, MeasureSource)
            targets.append(pl.DataFrame({"unit_id": ids, "period": str(year),
                                         "measure": ind.source.measure,
                                         "target": rng.uniform(10, 60, n).round(2)}))
    events = [pl.DataFrame({"unit_id": ids, "period": f"{year}-06", "event": e,
                            "value": rng.integers(1, 3, n).astype(float)}
                           ).filter(pl.Series(rng.random(n) < 0.25))
              for e in sorted({a.event for a in scheme.adjustments}
                              | {v.event for v in scheme.vetoes})]
    sources = [i.source for i in scheme.indicators() if isinstance(i.source, SurveySource)]
    questions = sorted({q for s in sources for q in s.questions})
    if questions:
        lo = min(s.scale.min for s in sources)
        hi = max(s.scale.max for s in sources)
        per_unit = rng.poisson(40, n)
        per_unit[::5] = 4  # small samples
        unit_of = np.repeat(np.arange(n), per_unit)
        r = len(unit_of)
        straight = rng.random(r) < 0.05
        base_answer = rng.integers(lo, hi + 1, r)
        respondent = rng.integers(0, int(r * 0.9), r)  # some respondents answer twice
        weight = rng.uniform(0.5, 1.5, r).round(3)
        for q in questions:
            ans = np.where(straight, base_answer, rng.integers(lo, hi + 1, r))
            surveys.append(pl.DataFrame({
                "response_id": [f"R{k:05d}" for k in range(r)],
                "unit_id": [ids[u] for u in unit_of], "period": str(year), "question": q,
                "answer": ans.astype(float), "respondent": [f"p{v}" for v in respondent],
                "weight": weight,
                "duration_s": np.where(rng.random(r) < 0.08, 20.0, 300.0),
                "channel": np.where(np.arange(r) % 2 == 0, "web", "phone"),
                "submitted_at": [f"{year}-05-{1 + k % 28:02d} 10:{k % 60:02d}:00"
                                 for k in range(r)],
            }))
    parts = {"outcomes": outcomes, "targets": targets, "events": events, "surveys": surveys}
    for kind, frames_of_kind in parts.items():
        if frames_of_kind:
            frames[kind] = pl.concat(frames_of_kind, how="vertical_relaxed")
    paths = {}
    for kind, frame in frames.items():
        paths[kind] = folder / f"{kind}.csv"
        frame.write_csv(paths[kind])
    return paths


def load(db: Path, files: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    con = connect(db)
    for kind in KINDS:
        if kind in files:
            result = ingest_file(con, kind, files[kind], db_path=db)
            assert result.batch_id is not None, result.message
    return con


def coverage_schemes() -> list[LoadedScheme]:
    """Every rule, both directions, peer groups, transforms, missing policies, roll-ups,
    targets, adjustments, vetoes, quotas and both aggregations, with a survey indicator."""
    rules = [
        indicator("mm", "m1", {"type": "min_max"}),
        indicator("mm_peer", "m2", {"type": "min_max", "within": "peer_group"},
                  direction="lower", missing="peer_median"),
        indicator("gp", "m3", {"type": "goalposts", "lower": 5, "upper": 80},
                  transform={"floor": 1, "cap": 90}),
        indicator("gp_log", "m4", {"type": "goalposts", "lower": 2, "upper": 150},
                  transform={"log": True}),
        indicator("tg", "m5", {"type": "target", "target": 40}, missing="zero"),
        indicator("tg_unit", "m6", {"type": "target"}, direction="lower"),
        indicator("bd", "m7", {"type": "bands", "bands": [
            {"threshold": 10, "score": 60}, {"threshold": 30, "score": 80},
            {"threshold": 50, "score": 100}], "otherwise": 20}),
        indicator("pc", "m8_q", {"type": "percentile"}, source={"rollup": "sum"}),
        indicator("pc_peer", "m9_q", {"type": "percentile", "within": "peer_group"},
                  direction="lower", source={"rollup": "last"}),
        indicator("zs", "m10", {"type": "zscore"}, transform={"winsorize": [0.1, 0.9]}),
        indicator("ef", "m11", {"type": "efficacy", "good": 80, "bad": 5}),
        indicator("ef_data", "m12", {"type": "efficacy"}, direction="lower"),
        indicator("dd", "m13", {"type": "deduction", "points": 2.5, "floor": 10}),
        indicator("pf", "m14", {"type": "pass_fail", "threshold": 25}, evidence="trace"),
        indicator("dr", "m15", {"type": "direct"}, evidence="trace"),
    ]
    survey = {"id": "sat", "name": {"zh": "满意度", "en": "Satisfaction"},
              "evidence": "satisfaction",
              "source": {"questions": ["q1", "q2", "q3"], "scale": {"min": 1, "max": 5}},
              "rule": {"type": "direct"}}
    def grades(top: float) -> list[dict[str, Any]]:
        return [{"code": "excellent", "name": {"zh": "优秀", "en": "Excellent"},
                 "min_score": 0.6 * top, "max_share": 0.2},
                {"code": "good", "name": {"zh": "良好", "en": "Good"}, "min_score": 0.45 * top,
                 "max_share": 0.5},
                {"code": "fair", "name": {"zh": "一般", "en": "Fair"}, "min_score": 0.3 * top},
                {"code": "poor", "name": {"zh": "较差", "en": "Poor"}}]
    arithmetic = make_scheme(
        [dimension("results", rules[:8], weight=3),
         dimension("more", [], dimensions=[dimension("deep", rules[8:], weight=2)], weight=2),
         dimension("people", [survey], weight=2)],
        grades=grades(100), scale={"min": 0, "max": 100, "decimals": 1},
        adjustments=[{"id": "award", "name": {"zh": "奖", "en": "Award"}, "kind": "bonus",
                      "event": "award", "points": 1.5, "cap": 2.5},
                     {"id": "late", "name": {"zh": "迟报", "en": "Late"}, "kind": "deduction",
                      "event": "late_report", "points": 4, "cap": 5}],
        vetoes=[{"id": "accident", "name": {"zh": "事故", "en": "Accident"},
                 "event": "accident", "max_grade": "fair", "max_score": 50}])
    geometric = make_scheme(
        [dimension("g1", rules[:5], aggregation="geometric", weight=1),
         dimension("g2", [*rules[5:10], survey], weight=1)],
        aggregation="geometric", grades=grades(1), scale={"min": 0, "max": 1, "decimals": 3},
        survey={"small_sample": "missing", "min_sample": 10})
    methods = make_scheme(
        [dimension("n1", [
            indicator("mm_r", "m1", {"type": "min_max", "range": [1, 100]}, missing="group_mean"),
            indicator("zs_free", "m2", {"type": "zscore", "clamp": False},
                      missing="group_median", impute_by="parent_id"),
            indicator("pc_min", "m3", {"type": "percentile", "ties": "min"}),
            indicator("pc_max", "m4", {"type": "percentile", "ties": "max"}, direction="lower"),
            indicator("fom", "m5", {"type": "fraction_of_max"}, missing="previous_period"),
            indicator("ref", "m6", {"type": "reference_unit", "unit": "001"}),
            indicator("rate", "m7", {"type": "min_max", "panel": [2025, 2026]},
                      source={"per": "m1", "factor": 1000}),
        ], aggregation="harmonic", min_coverage=0.6),
         dimension("n2", [
             indicator("zs_panel", "m8_q", {"type": "zscore", "panel": [2025, 2026]},
                       source={"rollup": "sum"}),
             indicator("fom_l", "m9", {"type": "fraction_of_max"}, direction="lower"),
             indicator("tr_out", "m3", {"type": "min_max"},
                       transform={"outliers": True, "winmax": 2, "skew_max": 0.5}),
             indicator("tr_sl", "m4", {"type": "zscore"}, transform={"shifted_log": True}),
             indicator("tr_bc", "m5", {"type": "min_max"}, transform={"box_cox": 0.5}),
             indicator("tr_bc0", "m12", {"type": "zscore", "clamp": False},
                       transform={"box_cox": 0}),
             indicator("fom_p", "m11", {"type": "fraction_of_max", "panel": [2025, 2026]},
                       missing="group_mean", impute_by="unit_type"),
             indicator("pc_avg", "m7", {"type": "percentile"}),
         ], aggregation="generalised", power=2),
         dimension("n3", [indicator("md1", "m10"), indicator("md2", "m11"),
                          indicator("md3", "m12")], aggregation="median"),
         dimension("n4", [indicator("mp1", "m13"), indicator("mp2", "m14", weight=2)],
                   aggregation="mazziotta_pareto"),
         dimension("n5", [], dimensions=[
             dimension("fem", [indicator("r1", "m15")]),
             dimension("mal", [indicator("r2", "m10", {"type": "min_max"})])],
                   aggregation="ratio")],
        aggregation="arithmetic", min_coverage=0.8)
    return [arithmetic, geometric, methods]


# ----------------------------------------------------------------------------- compare


def rows(con: duckdb.DuckDBPyConnection, table: str, run_id: str) -> pl.DataFrame:
    key = ", ".join(COMPARED[table])
    return con.sql(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY {key}",
                   params=[run_id]).pl()


def assert_same_run(con: duckdb.DuckDBPyConnection, a: str, b: str) -> None:
    """Every compared table of runs a and b: same rows, same values (floats within TOL)."""
    for table in COMPARED:
        x, y = rows(con, table, a), rows(con, table, b)
        assert x.columns == y.columns and x.height == y.height, (table, x.shape, y.shape)
        for c in x.columns:
            if x[c].dtype.is_float():
                assert (x[c].is_null() == y[c].is_null()).all(), (table, c)
                diff = (x[c] - y[c]).abs().max()
                assert diff is None or float(diff) <= TOL, (table, c, diff)  # type: ignore[arg-type]
            else:
                assert x[c].to_list() == y[c].to_list(), (table, c)
    assert rows(con, "run_scores", a).height > 0


def both_engines(con: duckdb.DuckDBPyConnection, engine: Any, loaded: LoadedScheme,
                 period: str, **kw: Any) -> tuple[str, str]:
    a = score_run(con, loaded, period, publish_snapshot=False, **kw)
    engine.stage_store_inputs(con, period, outcome_years(loaded.scheme, period))
    b = score_run(con, loaded, period, engine=engine, publish_snapshot=False, **kw)
    params = con.execute("SELECT parameters->>'engine' FROM runs WHERE run_id = ?", [b]
                         ).fetchall()
    assert params == [("spark",)]
    return a, b


# ------------------------------------------------------------------------------- cases


def test_demo_and_trace_heavy_schemes(spark_engine: Any, demo_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    db.write_bytes(demo_db.read_bytes())
    con = connect(db)
    try:
        for scheme in ("indicators/demo_township.yaml", "indicators/examples/trace_heavy.yaml"):
            a, b = both_engines(con, spark_engine, load_scheme(ROOT / scheme), "2026")
            assert_same_run(con, a, b)
        flagged = con.execute("SELECT count(*) FROM run_flags WHERE run_id = ?", [b]).fetchall()
        assert flagged[0][0] > 0  # the demo plants show-off and stuffing units: compared above
    finally:
        con.close()


def test_department_scheme(spark_engine: Any, tmp_path: Path) -> None:
    loaded = load_scheme(ROOT / "indicators" / "department.yaml")
    con = load(tmp_path / "dept.duckdb", synth_files(loaded, tmp_path / "in", units=30))
    try:
        a, b = both_engines(con, spark_engine, loaded, "2026")
        assert_same_run(con, a, b)
    finally:
        con.close()


def test_hdi_scheme_through_the_cli(spark_engine: Any, tmp_path: Path) -> None:
    """`evaluator score --engine spark --out`: the same files as a DuckDB run."""
    hdi = ROOT / "examples" / "hdi"
    db = tmp_path / "hdi.duckdb"
    runner = CliRunner()
    for kind in ("units", "outcomes"):
        result = runner.invoke(app, ["ingest", "--db", str(db), "--kind", kind,
                                     str(hdi / f"{kind}.csv")])
        assert result.exit_code == 0, result.output
    outs = {}
    for name, extra in (("duckdb", []), ("spark", ["--engine", "spark",
                                                   "--spark-dir", str(tmp_path / "sp")])):
        outs[name] = tmp_path / name
        result = runner.invoke(app, ["score", "--db", str(db), "--scheme",
                                     str(hdi / "scheme.yaml"), "--out", str(outs[name]),
                                     *extra])
        assert result.exit_code == 0, result.output
    for f in ("scores.csv", "indicator_scores.csv", "flags.csv"):
        x, y = (pl.read_csv(outs[e] / f, schema_overrides={"unit_id": pl.String})
                for e in ("duckdb", "spark"))
        assert x.columns == y.columns and x.height == y.height, f
        for c in x.columns:
            if x[c].dtype.is_float():
                assert ((x[c] - y[c]).abs().fill_null(0.0) <= TOL).all(), (f, c)
            else:
                assert x[c].to_list() == y[c].to_list(), (f, c)
    con = connect(db, read_only=True)
    try:
        a, b = [r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created_at").fetchall()]
        assert_same_run(con, a, b)
        files = con.execute("SELECT parameters->>'run_files' FROM runs WHERE run_id = ?", [b]
                            ).fetchall()[0][0]
        assert (Path(files) / "run_scores").is_dir()  # the run's own Parquet tables
    finally:
        con.close()


@pytest.mark.parametrize("case", [0, 1, 2], ids=["arithmetic", "geometric", "methods"])
def test_rule_coverage_schemes(spark_engine: Any, tmp_path: Path, case: int) -> None:
    loaded = coverage_schemes()[case]
    con = load(tmp_path / "cov.duckdb", synth_files(loaded, tmp_path / "in", seed=case))
    try:
        if case == 2:  # panels and previous_period read 2025 too
            for kind, path in synth_files(loaded, tmp_path / "in25", seed=9, year=2025).items():
                if kind != "units":
                    assert ingest_file(con, kind, path, db_path=tmp_path / "cov.duckdb"
                                       ).batch_id is not None
        a, b = both_engines(con, spark_engine, loaded, "2026", uncertainty=case == 0)
        assert_same_run(con, a, b)
        if case == 2:
            assert con.execute("SELECT count(score) FROM run_scores WHERE run_id = ?", [b]
                               ).fetchall()[0][0] > 0
            return
        grades = con.execute("SELECT count(DISTINCT grade), count(DISTINCT grade_reason) "
                             "FROM run_scores WHERE run_id = ?", [b]).fetchall()[0]
        assert grades[0] >= 3 and grades[1] >= (2 if case == 0 else 1)  # quotas, vetoes too
    finally:
        con.close()


def test_inputs_folder_of_parquet_files(spark_engine: Any, tmp_path: Path) -> None:
    """`--inputs DIR`: the documented input formats as Parquet, scored as if ingested."""
    loaded = coverage_schemes()[0]
    files = synth_files(loaded, tmp_path / "in", seed=3)
    inputs = tmp_path / "parquet"
    inputs.mkdir()
    for kind, path in files.items():
        frame = pl.read_csv(path, infer_schema_length=0)  # text, as the formats say
        frame.with_columns(pl.col(c).cast(pl.Float64) for c in frame.columns if c in (
            "value", "answer", "target", "weight", "duration_s")
        ).write_parquet(inputs / f"{kind}.parquet")
    con = load(tmp_path / "db.duckdb", files)
    try:
        a = score_run(con, loaded, "2026", publish_snapshot=False)
        spark_engine.stage_input_files(inputs)
        b = score_run(con, loaded, "2026", engine=spark_engine, publish_snapshot=False,
                      batch_ids=[])
        assert_same_run(con, a, b)
        assert con.execute("SELECT len(batch_ids) FROM runs WHERE run_id = ?", [b]
                           ).fetchall() == [(0,)]
    finally:
        con.close()


def test_roll_up_ties_are_ties_on_both_engines(spark_engine: Any, tmp_path: Path) -> None:
    """Units with the same monthly values tie exactly on both engines, whatever order the rows
    arrive in: the roll-up adds in period order (DuckDB's ordered SUM, Spark's left fold).

    The months come in a different shuffled order per unit, and the values are picked so that
    summing in those orders gives different last bits; a percentile rule counts ties exactly,
    so any order-dependent sum would split the tied units."""
    rng = np.random.default_rng(13)
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    values = [round(0.1 * k + 0.01 * (k % 3), 2) for k in range(1, 13)]  # 0.11, 0.22, …
    forward = 0.0  # the period-order left fold both engines must give
    for v in values:
        forward += v
    arrival_sums = set()
    rows = []
    tied = [f"{i:03d}" for i in range(1, 9)]
    others = [f"{i:03d}" for i in range(9, 15)]
    for u in tied:
        order = rng.permutation(12)
        total = 0.0
        for k in order:
            total += values[k]
        arrival_sums.add(total)
        rows += [(u, months[k], m, values[k]) for k in order for m in ("hot_m", "sum_m")]
    assert len(arrival_sums) > 1  # the premise: another order really changes the last bits
    for j, u in enumerate(others):
        rows += [(u, m, "hot_m", round(v * (0.5 + 0.2 * j), 3))
                 for m, v in zip(months, values, strict=True)]
        rows += [(u, m, "sum_m", v) for m, v in zip(months, values, strict=True)]
    ids = tied + others
    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame({"unit_id": ids, "name": [f"单位{u}" for u in ids], "unit_type": "township",
                  "peer_group": "a"}).write_csv(folder / "units.csv")
    pl.DataFrame(rows, schema=["unit_id", "period", "measure", "value"], orient="row"
                 ).write_csv(folder / "outcomes.csv")
    loaded = make_scheme(
        [dimension("d", [indicator("mean_pc", "hot_m", {"type": "percentile"}),
                         indicator("sum_pc", "sum_m", {"type": "percentile"},
                                   source={"rollup": "sum"})])])
    con = load(tmp_path / "ties.duckdb", {"units": folder / "units.csv",
                                          "outcomes": folder / "outcomes.csv"})
    try:
        a, b = both_engines(con, spark_engine, loaded, "2026")
        assert_same_run(con, a, b)
        for run in (a, b):
            got = con.execute(
                "SELECT indicator_id, count(DISTINCT raw_value), count(DISTINCT score), "
                "any_value(raw_value) FROM run_indicator_scores WHERE run_id = ? "
                "AND unit_id IN (SELECT unnest(?)) GROUP BY indicator_id ORDER BY 1",
                [run, tied]).fetchall()
            assert got == [("mean_pc", 1, 1, forward / 12), ("sum_pc", 1, 1, forward)], run
        exact = con.execute(
            "SELECT count(*) FROM run_indicator_scores x JOIN run_indicator_scores y "
            "USING (unit_id, indicator_id) WHERE x.run_id = ? AND y.run_id = ? "
            "AND x.raw_value IS NOT DISTINCT FROM y.raw_value "
            "AND x.score IS NOT DISTINCT FROM y.score", [a, b]).fetchall()[0][0]
        assert exact == 2 * len(ids)  # bit for bit, not just within the tolerance
        ranks = con.execute("SELECT list(rank ORDER BY unit_id) FROM run_scores WHERE run_id "
                            "IN (?, ?) GROUP BY run_id", [a, b]).fetchall()
        assert ranks[0] == ranks[1]
    finally:
        con.close()


def test_every_kept_table_has_its_lineage_cut(spark_engine: Any) -> None:
    """Each temporary table is materialised when made and keeps no parent RDDs: a chain of
    steps, each reading the one before, stays one step deep however long the run. (A lazy
    checkpoint kept every earlier step as a parent; Spark walks that lineage to describe a scan
    and overflowed the driver's stack late in a long session.)"""
    from evaluator.scoring.engine import sql

    spark_engine.create_temp("_t_chain_0",
                             sql("SELECT k, 1.0 AS v FROM (VALUES (1), (2), (3)) t(k)"))
    for i in range(1, 11):
        prev = f"_t_chain_{i - 1}"  # each step reads the one before and the first one
        spark_engine.create_temp(f"_t_chain_{i}", sql(
            f"SELECT a.k, a.v + b.v AS v FROM {prev} a JOIN _t_chain_0 b ON a.k = b.k"))
    last = spark_engine._frames["_t_chain_10"]
    lineage = last._jdf.queryExecution().analyzed().rdd().toDebugString()
    assert lineage.count("RDD[") <= 3, lineage  # the checkpoint's own RDDs, no parents
    got = spark_engine.fetch_polars(sql("SELECT count(*) AS n, min(v) AS lo, max(v) AS hi "
                                        "FROM _t_chain_10"))
    assert got.rows() == [(3, 11.0, 11.0)]
    for i in range(11):
        spark_engine.drop_temp(f"_t_chain_{i}")


def test_a_duckdb_cte_hint_runs_on_spark(spark_engine: Any) -> None:
    """`AS NOT MATERIALIZED` (the survey statement's hint to DuckDB) is not Spark syntax: the
    rendering drops it, and the rest of the CTE is still rendered for Spark (its ROUND)."""
    from evaluator.scoring.engine import sql

    query = sql("WITH a AS NOT MATERIALIZED (SELECT ROUND(2.345, 2) AS r, k FROM "
                "(VALUES (1), (2)) t(k)) SELECT SUM(r) AS s, COUNT(*) AS n FROM a")
    assert "MATERIALIZED" not in spark_engine.render(query)
    assert "MATERIALIZED" in query.sql("duckdb")  # the caller's tree is left as it was
    assert spark_engine.fetch_polars(query).rows() == [(4.7, 2)]


#: pairs of values one or two ulps apart from the 2,000-unit demo data (monthly means of
#: `hotline_response`): C's log (DuckDB) ties the first three pairs and splits the last, Java's
#: StrictMath (Spark) splits the first three and ties the last
ULP_PAIRS = ((5.099166666666667, 5.099166666666666), (6.3950000000000005, 6.395),
             (6.242500000000001, 6.2425), (14.222500000000004, 14.222499999999998))


def test_percentile_ties_after_a_log_agree(spark_engine: Any, tmp_path: Path) -> None:
    """A log transform then a percentile: values one ulp apart are one tie on both engines
    (ties.rank_key: 12 significant digits), though the two maths libraries give their logs
    different last bits. Without the key, 2,000 demo units differed by 8 scores and 2 ranks."""
    values = [v for pair in ULP_PAIRS for v in pair] + [3.5, 9.25, 20.0, 1.75]
    ids = [f"{i:03d}" for i in range(1, len(values) + 1)]
    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame({"unit_id": ids, "name": [f"单位{u}" for u in ids], "unit_type": "township",
                  "peer_group": ["a" if i % 2 else "b" for i in range(len(ids))]}
                 ).write_csv(folder / "units.csv")
    with (folder / "outcomes.csv").open("w", encoding="utf-8") as f:  # repr: every bit kept
        f.write("unit_id,period,measure,value\n")
        f.writelines(f"{u},2026,hot_m,{v!r}\n" for u, v in zip(ids, values, strict=True))
    loaded = make_scheme([dimension("d", [
        indicator("hot", "hot_m", {"type": "percentile"}, direction="lower",
                  transform={"log": True}),
        indicator("hot_peer", "hot_m", {"type": "percentile", "within": "peer_group"},
                  transform={"log": True})])])
    con = load(tmp_path / "ulp.duckdb", {"units": folder / "units.csv",
                                         "outcomes": folder / "outcomes.csv"})
    try:
        stored = con.execute("SELECT list(value ORDER BY unit_id) FROM current_outcomes"
                             ).fetchall()[0][0]
        assert stored == values  # the ulps survived the ingest
        a, b = both_engines(con, spark_engine, loaded, "2026")
        assert_same_run(con, a, b)
        for run in (a, b):
            scores = dict(con.execute(
                "SELECT unit_id, score FROM run_indicator_scores WHERE run_id = ? "
                "AND indicator_id = 'hot'", [run]).fetchall())
            for k in range(len(ULP_PAIRS)):
                assert scores[ids[2 * k]] == scores[ids[2 * k + 1]], (run, k)
    finally:
        con.close()
