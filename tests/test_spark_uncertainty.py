"""The bootstrap through the engine seam: DuckDB and Spark (local[2]) draw the same replicates.

A small demo run (24 townships, every survey question, two measures with declared error: one
under a percentile rule, one under a peer-group min–max rule, so replicate ranks and peer
statistics are recomputed) is bootstrapped once on the store's DuckDB and once on Spark with
the run's rows staged for it; every replicate's score, rank and grade, and the stored summary
(intervals, P(top/bottom 10%), P(grade)), agree within 1e-9. Skipped only where pyspark or Java
is missing and CI is not set (as tests/test_spark_equivalence.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from helpers.ingest import cli

from evaluator.demo_data import generate
from evaluator.ingest import ingest_file
from evaluator.runs import read_run
from evaluator.scheme.loader import load_scheme_text
from evaluator.scoring import score_run
from evaluator.scoring.engine import DuckDBEngine, Engine, sql
from evaluator.store import connect
from evaluator.uncertainty.bootstrap import FINAL, GRADES, run_bootstrap, summarise
from evaluator.uncertainty.compute import DEFAULT_REPLICATES, stage_run

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
TOL = 1e-9
REPS = 30
SEED = 77
UNITS = 24


def _scheme_text() -> str:
    text = (ROOT / "indicators" / "demo_township.yaml").read_text(encoding="utf-8")
    for measure, error in (("hotline_response_hours", "{relative: 0.15}"),
                           ("income_growth_pct, rollup: last", "{sd: 0.8}")):
        old = f"source: {{measure: {measure}}}"
        assert old in text, old
        text = text.replace(old, f"source: {{measure: {measure}, error: {error}}}")
    return text + "\nuncertainty:\n  tiers: true\n  draws: 20\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("u-spark")
    generate(folder / "data", units=UNITS, seed=11)
    db = folder / "u.duckdb"
    con = connect(db)
    for kind in ("units", "questions", "outcomes", "targets", "events", "surveys"):
        path = folder / "data" / f"{kind}.csv"
        if path.exists():
            assert ingest_file(con, kind, path, db_path=db).status == "loaded"
    run_id = score_run(con, load_scheme_text(_scheme_text(), "demo.yaml"), "2026",
                       publish_snapshot=False)
    con.close()
    return db, run_id


def _bootstrap(con: duckdb.DuckDBPyConnection, engine: Engine, run_id: str
               ) -> dict[str, pl.DataFrame]:
    info = read_run(con, run_id)
    assert info is not None
    scheme = load_scheme_text(info.scheme_yaml, "stored.yaml").scheme
    if not engine.SHARES_STORE:
        stage_run(con, engine, run_id, info.period)
    run_bootstrap(engine, scheme, run_id, info.period, REPS, SEED)
    reps = engine.fetch_polars(sql(
        f"SELECT f.rep, f.unit_id, f.score, f.rank, g.ord FROM {FINAL} f JOIN {GRADES} g "
        "ON g.rep = f.rep AND g.unit_id = f.unit_id"))
    units, grades = summarise(engine, 0.9, REPS, scheme.scale.decimals)
    return {"replicates": reps.sort("rep", "unit_id"), "units": units.sort("unit_id"),
            "grades": grades.sort("unit_id", "grade")}


def _same(a: pl.DataFrame, b: pl.DataFrame, what: str) -> None:
    assert a.columns == b.columns and a.height == b.height, what
    for col in a.columns:
        x, y = a[col], b[col]
        assert (x.is_null() == y.is_null()).all(), f"{what}.{col}: NULLs differ"
        if x.dtype.is_float() or y.dtype.is_float():
            diff = (x.cast(pl.Float64) - y.cast(pl.Float64)).abs().max()
            assert diff is None or diff <= TOL, f"{what}.{col}: differs by {diff}"
        else:
            assert x.cast(pl.String).to_list() == y.cast(pl.String).to_list(), f"{what}.{col}"


def test_duckdb_and_spark_draw_the_same_replicates(run: tuple[Path, str],
                                                   spark_engine: Any) -> None:
    db, run_id = run
    spark_engine.timings.clear()  # the session's engine is shared: time this test's steps only
    con = connect(db)
    try:
        on_duckdb = _bootstrap(con, DuckDBEngine(con), run_id)
        on_spark = _bootstrap(con, spark_engine, run_id)
    finally:
        con.close()
    slow = sorted(spark_engine.timings, key=lambda t: -t[1])[:5]
    print("slowest Spark steps:", ", ".join(f"{n} {s:.1f} s" for n, s in slow))
    reps = on_duckdb["replicates"]
    assert reps.height == REPS * UNITS
    # the draws move the scores (else the comparison would prove nothing)
    spread = reps.group_by("unit_id").agg((pl.col("score").max() - pl.col("score").min())
                                          .alias("w"))
    assert (spread["w"] > 0).mean() > 0.9
    for name in ("replicates", "units", "grades"):
        _same(on_duckdb[name], on_spark[name], name)


def test_cli_uncertainty_on_spark_stores_the_duckdb_numbers(run: tuple[Path, str],
                                                            spark_engine: Any,
                                                            tmp_path: Path) -> None:
    db, run_id = run
    stored = {}
    for engine in ("duckdb", "spark"):
        res = cli("uncertainty", "--db", db, "--run", run_id, "--replicates", REPS, "--seed",
                  SEED, "--engine", engine)
        assert res.exit_code == 0, res.output
        con = duckdb.connect(str(db), read_only=True)
        stored[engine] = con.sql("SELECT * EXCLUDE (run_id) FROM run_uncertainty WHERE run_id = ?"
                                 " ORDER BY unit_id", params=[run_id]).pl()
        con.close()
    _same(stored["duckdb"], stored["spark"], "run_uncertainty")
    assert stored["spark"]["tier"].drop_nulls().n_unique() > 1


def test_score_on_spark_bootstraps_on_the_same_session(run: tuple[Path, str], spark_engine: Any,
                                                       tmp_path: Path) -> None:
    """`score --engine spark --uncertainty` bootstraps on the Spark session that scored the run
    (the stored method says so; it used to run on DuckDB after the session stopped) and stores
    what DuckDB's bootstrap of that same run stores."""
    db = tmp_path / "u.duckdb"
    shutil.copy(run[0], db)
    scheme = tmp_path / "demo.yaml"
    scheme.write_text(_scheme_text(), encoding="utf-8")
    res = cli("score", "--db", db, "--scheme", scheme, "--period", "2026", "--engine", "spark",
              "--spark-dir", tmp_path / "sp", "--uncertainty", "--top", 0)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())  # rich wraps long lines
    assert f"{DEFAULT_REPLICATES} bootstrap replicates" in said and ") on spark in" in said

    def stored(run_id: str) -> tuple[pl.DataFrame, str]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            units = con.sql("SELECT * EXCLUDE (run_id) FROM run_uncertainty WHERE run_id = ? "
                            "ORDER BY unit_id", params=[run_id]).pl()
            method = con.execute("SELECT method FROM run_uncertainty_settings WHERE run_id = ?",
                                 [run_id]).fetchall()[0][0]
        finally:
            con.close()
        return units, json.loads(method)["engine"]

    con = duckdb.connect(str(db), read_only=True)
    spark_run = con.execute("SELECT run_id FROM runs WHERE parameters->>'engine' = 'spark'"
                            ).fetchall()[0][0]
    con.close()
    on_spark, engine = stored(spark_run)
    assert engine == "spark" and on_spark.height == UNITS
    res = cli("uncertainty", "--db", db, "--run", spark_run)  # the same defaults, on DuckDB
    assert res.exit_code == 0, res.output
    on_duckdb, engine = stored(spark_run)
    assert engine == "duckdb"
    _same(on_duckdb, on_spark, "run_uncertainty")
    assert on_spark["score_high"].gt(on_spark["score_low"]).mean() > 0.9  # real intervals
