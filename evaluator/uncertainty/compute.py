"""Compute a run's uncertainty and store it with the run, all or nothing.

Bootstrap (bootstrap.py) → intervals, P(top/bottom 10%), P(grade) → tiers (tiers.py, when the
scheme asks) → weight Monte-Carlo and leave-one-out (sensitivity.py) → the run_uncertainty*,
run_grade_probabilities and run_sensitivity* rows of the run, replacing any earlier ones in one
transaction. The run itself (run_scores …) is never changed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import polars as pl

from evaluator.defaults import DEFAULT_LEVEL as DEFAULT_LEVEL
from evaluator.defaults import DEFAULT_REPLICATES as DEFAULT_REPLICATES
from evaluator.defaults import DEFAULT_SEED as DEFAULT_SEED
from evaluator.errors import EvaluatorError
from evaluator.runs import read_run, stored_scheme
from evaluator.scheme.models import Scheme
from evaluator.scoring.adjust import grade_order
from evaluator.scoring.engine import DuckDBEngine, Engine, sql
from evaluator.scoring.grades import grades_by_tier
from evaluator.uncertainty.bootstrap import FINAL, GRADES, forget, run_bootstrap, summarise
from evaluator.uncertainty.sensitivity import FIRM, sensitivity
from evaluator.uncertainty.tiers import tiers

UNIT_COLUMNS = ("unit_id", "score_mean", "score_sd", "score_low", "score_high", "rank_median",
                "rank_low", "rank_high", "p_top10", "p_bottom10", "tier", "tier_grade")


class UncertaintyError(EvaluatorError):
    """The uncertainty cannot be computed as asked; the message says what to do."""


@dataclass(frozen=True)
class UncertaintyResult:
    run_id: str
    replicates: int
    level: float
    seed: int
    seconds: float
    summary: dict[str, Any]


def check_args(replicates: int, level: float) -> None:
    if replicates < 20:
        raise UncertaintyError(f"--replicates {replicates}: use at least 20 (default 500) "
                               "/ 重复抽样次数至少 20")
    if not 0.5 <= level < 1:
        raise UncertaintyError(f"--level {level}: give a level between 0.5 and 1, e.g. 0.95 "
                               "/ 置信水平应在 0.5 与 1 之间")


def check_survey_data(engine: Engine, run_id: str) -> None:
    """The responses resampled must be the ones the run counted (data loaded since: refuse)."""
    if not engine.table_exists("_u_valid"):
        return
    bad = engine.fetch_polars(sql(
        """
        SELECT q.unit_id, q.indicator_id, q.valid, COALESCE(v.n, 0) AS now
        FROM run_survey_quality q
        LEFT JOIN (SELECT unit_id, indicator_id, COUNT(*) AS n FROM _u_valid
                   GROUP BY unit_id, indicator_id) v
               ON v.unit_id = q.unit_id AND v.indicator_id = q.indicator_id
        WHERE q.run_id = :run AND q.valid <> COALESCE(v.n, 0) LIMIT 3
        """, run=run_id))
    if bad.height:
        r = bad.row(0, named=True)
        raise UncertaintyError(
            f"the survey responses in the store changed since run {run_id} (unit {r['unit_id']}, "
            f"{r['indicator_id']}: {r['valid']} valid then, {r['now']} now); score the data "
            "again (`evaluator score … --uncertainty`) / 问卷数据已变化，请重新计分")


def grade_summary(units: pl.DataFrame, sens: pl.DataFrame, grades: pl.DataFrame
                  ) -> dict[str, Any]:
    """Which grades are firm under the weight Monte-Carlo, which depend on the weights."""
    if sens.is_empty():
        return {"firm_units": 0, "weight_dependent_units": 0, "weight_dependent": []}
    j = sens.join(grades, on="unit_id", how="left")
    dependent = j.filter(~pl.col("firm")).sort("grade_stability")
    by_grade = (j.group_by("grade").agg(pl.len().alias("units"),
                                        pl.col("firm").sum().alias("firm"))
                .sort("grade").to_dicts())
    return {
        "firm_threshold": FIRM,
        "firm_units": int(j["firm"].sum()),
        "weight_dependent_units": dependent.height,
        "weight_dependent": dependent.select("unit_id", "grade", "grade_stability")
        .head(50).to_dicts(),
        "by_grade": by_grade,
        "tiers": int(units["tier"].drop_nulls().n_unique()) if "tier" in units.columns else 0,
    }


#: the store's tables and views the bootstrap reads, with how to limit them to one run
RUN_INPUTS: dict[str, str] = {
    "run_scores": "run_id = ?", "run_indicator_scores": "run_id = ?",
    "run_reference_values": "run_id = ?", "run_dimension_scores": "run_id = ?",
    "run_survey_quality": "run_id = ?", "current_units": "TRUE",
    "current_questions": "TRUE", "current_outcomes": "year = ?",
    "current_survey_responses": "year = ?",
}


def stage_run(con: duckdb.DuckDBPyConnection, engine: Engine, run_id: str, period: str) -> None:
    """An engine that does not share the store gets the run's rows and the scored year's
    inputs as its own tables under the same names (through `Engine.register`)."""
    for name, where in RUN_INPUTS.items():
        arg = int(period[:4]) if where.startswith("year") else run_id
        params = [arg] if "?" in where else []
        engine.register(name, con.sql(f"SELECT * FROM {name} WHERE {where}", params=params).pl())


def compute_uncertainty(con: duckdb.DuckDBPyConnection, run_id: str, *,
                        replicates: int = DEFAULT_REPLICATES, level: float = DEFAULT_LEVEL,
                        seed: int = DEFAULT_SEED, draws: int | None = None,
                        engine: Engine | None = None) -> UncertaintyResult:
    """Bootstrap, tiers and weight sensitivity of stored run `run_id`, stored with it.

    The bootstrap runs on `engine` (default: DuckDB on `con`; a Spark engine gets the run's
    rows staged first); weight sensitivity (numpy) and the store are always `con`'s."""
    check_args(replicates, level)
    info = read_run(con, run_id)
    if info is None:
        raise UncertaintyError(f"no run {run_id} in the database (`evaluator runs` lists them)")
    loaded = stored_scheme(info.scheme_yaml, run_id)
    if loaded is None:
        raise UncertaintyError(f"run {run_id}: its stored scheme can no longer be read by this "
                               "version; score it again / 旧方案无法读取，请重新计分")
    scheme = loaded.scheme
    started = time.perf_counter()
    units, grades = bootstrap_summary(con, engine or DuckDBEngine(con), scheme, run_id,
                                      info.period, replicates, level, seed)
    boot_s = time.perf_counter() - started
    if scheme.uncertainty.tiers and units.height:
        ranked = units.filter(pl.col("run_rank").is_not_null())
        units = units.join(pl.DataFrame({
            "unit_id": ranked["unit_id"],
            "tier": tiers(ranked["rank_low"].to_numpy(), ranked["rank_high"].to_numpy())}),
            on="unit_id", how="left")
    else:
        units = units.with_columns(pl.lit(None, dtype=pl.Int64).alias("tier"))
    if scheme.uncertainty.tier_grades and units.height:
        units = units.join(grades_by_tier(run_units(con, scheme, run_id, units), scheme),
                           on="unit_id", how="left")
    else:
        units = units.with_columns(pl.lit(None, dtype=pl.String).alias("tier_grade"))
    sens = sensitivity(con, scheme, run_id, seed, draws)
    run_grades = con.sql("SELECT unit_id, grade FROM run_scores WHERE run_id = ?",
                         params=[run_id]).pl()
    summary = grade_summary(units, sens.units, run_grades)
    seconds = time.perf_counter() - started
    summary |= {"bootstrap_seconds": round(boot_s, 2), "seconds": round(seconds, 2)}
    method = {
        "bootstrap": "Poisson(1) respondent weights within unit; declared measurement error",
        "engine": (engine or DuckDBEngine(con)).dialect,  # where the replicates ran
        "weight_range": scheme.uncertainty.weight_range,
        "weight_draws": scheme.uncertainty.weight_draws,
        "dirichlet_concentration": scheme.uncertainty.dirichlet_concentration,
        "vary_aggregation": scheme.uncertainty.vary_aggregation,
        "tiers": "rank-interval overlap with the tier leader" if scheme.uncertainty.tiers
        else None,
        "tier_grades": "one grade per tier: the band of its median unit; quotas by whole tier"
        if scheme.uncertainty.tier_grades else None,
    }
    n_draws = draws if draws is not None else scheme.uncertainty.draws
    store(con, run_id, units, grades, sens.units, sens.indicators, {
        "replicates": replicates, "level": level, "seed": seed, "weight_draws": n_draws,
        "tiers": scheme.uncertainty.tiers, "method": json.dumps(method),
        "summary": json.dumps(summary, ensure_ascii=False, default=_plain)})
    return UncertaintyResult(run_id, replicates, level, seed, seconds, summary)


def run_units(con: duckdb.DuckDBPyConnection, scheme: Scheme, run_id: str,
              units: pl.DataFrame) -> pl.DataFrame:
    """The run's score, rank and veto cap (grade ord) per unit, with its tier."""
    order = grade_order(scheme)
    caps = pl.DataFrame({"veto_id": [v.id for v in scheme.vetoes],
                         "cap": [order[v.max_grade] for v in scheme.vetoes]},
                        schema={"veto_id": pl.String, "cap": pl.Int64})
    run = con.sql("SELECT unit_id, score, rank, veto FROM run_scores WHERE run_id = ?",
                  params=[run_id]).pl()
    vetoes = (run.select("unit_id", pl.col("veto").str.split(",").alias("veto_id"))
              .explode("veto_id").join(caps, on="veto_id")
              .group_by("unit_id").agg(pl.col("cap").max().alias("veto_grade_ord")))
    return (run.join(units.select("unit_id", "tier"), on="unit_id", how="left")
            .join(vetoes, on="unit_id", how="left"))


def bootstrap_summary(con: duckdb.DuckDBPyConnection, engine: Engine, scheme: Scheme,
                      run_id: str, period: str, replicates: int, level: float, seed: int
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The bootstrap on `engine`: per unit intervals, per unit and grade P(grade)."""
    if not engine.SHARES_STORE:
        stage_run(con, engine, run_id, period)
    with quiet(con):
        run_bootstrap(engine, scheme, run_id, period, replicates, seed)
        check_survey_data(engine, run_id)
        units, grades = summarise(engine, level, replicates, scheme.scale.decimals)
        forget(engine, FINAL, GRADES, "_u_valid", "_u_base", "_u_cov")
    return units, grades


@contextmanager
def quiet(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """No DuckDB progress bar on the terminal while the replicates run. Unlike a scoring run,
    the bootstrap keeps every thread the connection has: its float sums may then add in another
    order from run to run, which moves only digits far below the scores' rounding (the stored
    intervals are percentiles of rounded scores)."""
    bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false")
    try:
        yield
    finally:
        con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON: {value!r}")


def store(con: duckdb.DuckDBPyConnection, run_id: str, units: pl.DataFrame,
          grades: pl.DataFrame, sens: pl.DataFrame, sens_ind: pl.DataFrame,
          settings: dict[str, Any]) -> None:
    """Replace the run's uncertainty rows in one transaction."""
    tables = {
        "run_uncertainty": units.select(UNIT_COLUMNS),
        "run_grade_probabilities": grades.select("unit_id", "grade", "probability"),
        "run_sensitivity": sens,
        "run_sensitivity_indicators": sens_ind,
    }
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (*tables, "run_uncertainty_settings"):
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        con.execute(
            "INSERT INTO run_uncertainty_settings (run_id, computed_at, replicates, level, seed, "
            "weight_draws, tiers, method, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, datetime.now(UTC).replace(tzinfo=None), settings["replicates"],
             settings["level"], settings["seed"], settings["weight_draws"], settings["tiers"],
             settings["method"], settings["summary"]])
        for table, frame in tables.items():
            if frame.is_empty():
                continue
            con.register("_u_frame", frame.to_arrow())
            cols = ", ".join(frame.columns)
            con.execute(f"INSERT INTO {table} (run_id, {cols}) SELECT ?, {cols} FROM _u_frame",
                        [run_id])
            con.unregister("_u_frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
