"""`evaluator uncertainty`: bootstrap, weight sensitivity and tiers of a stored run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evaluator.cli.common import DbOpt, console, fail
from evaluator.cli.score_cmds import EngineName, EngineOpt, SparkMasterOpt
from evaluator.defaults import DEFAULT_DB, DEFAULT_LEVEL, DEFAULT_REPLICATES, DEFAULT_SEED

if TYPE_CHECKING:  # imported where used: `evaluator --help` loads no engine
    import duckdb

    from evaluator.scoring.engine import Engine

RunOpt = Annotated[str | None, typer.Option(
    "--run", help="run id or a unique prefix (default: the latest run) / 计分编号")]
ReplicatesOpt = Annotated[int, typer.Option(
    "--replicates", min=20, help="bootstrap replicates / 自助法重复次数")]
LevelOpt = Annotated[float, typer.Option(
    "--level", help="interval level, e.g. 0.95 / 区间置信水平")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", help="random seed: the same seed gives the same intervals / 随机种子")]


def report(con: duckdb.DuckDBPyConnection, run_id: str, replicates: int, level: float,
           seed: int, engine: EngineName = EngineName.duckdb,
           spark_master: str | None = None, *, on: Engine | None = None) -> None:
    """Compute and store; print what a reader needs to know, in both languages. The bootstrap
    runs on `on` when given (`score --engine spark --uncertainty`: the engine that scored the
    run, on its session), else on an engine opened here by name."""
    import duckdb

    from evaluator.uncertainty import UncertaintyError, compute_uncertainty

    try:
        with nullcontext(on) if on is not None else _engine(engine, spark_master,
                                                             db_dir=None) as eng:
            result = compute_uncertainty(con, run_id, replicates=replicates, level=level,
                                         seed=seed, engine=eng)
    except UncertaintyError as exc:
        fail(str(exc))
    except duckdb.Error as exc:
        fail(f"the uncertainty of run {run_id} could not be computed ({exc}); nothing was stored "
             "/ 计算失败，未保存")
    except Exception as exc:  # Spark's own errors: explain, never a JVM traceback
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(f"Spark could not bootstrap run {run_id}: {first[:400]}; nothing was stored "
             "/ Spark 计算失败，未保存")
    s = result.summary
    where = f" on {eng.dialect}" if eng is not None else ""
    console.print(
        f"[green]✓[/] run {run_id}: {replicates} bootstrap replicates at level {level:g} "
        f"(seed {seed}){where} in {result.seconds:.1f} s / 自助法区间已保存")
    console.print(
        f"  grades firm under the weight Monte-Carlo 等次稳健: {s['firm_units']} units; "
        f"weight-dependent 随权重变化: {s['weight_dependent_units']}"
        + (f"; tiers 梯队: {s['tiers']}" if s.get("tiers") else ""))
    for u in s["weight_dependent"][:5]:
        console.print(f"  · {u['unit_id']} {u['grade']}: kept in {u['grade_stability']:.0%} of "
                      "draws / 保持原等次的比例")


@contextmanager
def _engine(name: EngineName, master: str | None, db_dir: Path | None
            ) -> Iterator[Engine | None]:
    """None for DuckDB (the store's own connection); a Spark engine on `master` (default
    local[2]; an active session, a notebook's or a test's, is used and left open)."""
    if name is EngineName.duckdb:
        yield None
        return
    from evaluator.scoring.engines.spark import SparkEngine, spark_available, start_session

    missing = spark_available()
    if missing:
        fail(f"--engine spark: {missing}")
    from pyspark.sql import SparkSession

    reused = SparkSession.getActiveSession()
    spark = reused or start_session(master=master)
    try:
        with tempfile.TemporaryDirectory(prefix="evaluator-spark-", dir=db_dir) as work:
            yield SparkEngine(spark, Path(work))
    finally:
        if reused is None:
            spark.stop()


def uncertainty(
    db: DbOpt = DEFAULT_DB,
    run: RunOpt = None,
    replicates: ReplicatesOpt = DEFAULT_REPLICATES,
    level: LevelOpt = DEFAULT_LEVEL,
    seed: SeedOpt = DEFAULT_SEED,
    engine: EngineOpt = EngineName.duckdb,
    spark_master: SparkMasterOpt = None,
) -> None:
    """Bootstrap intervals, tiers and weight sensitivity of a stored run. / 计算排名不确定性。"""
    from evaluator.runs import resolve_run
    from evaluator.store import connect

    if engine is EngineName.duckdb and spark_master:
        fail("--spark-master needs --engine spark / 该选项需配合 --engine spark")
    con = connect(db, create=False)
    try:
        report(con, resolve_run(con, run), replicates, level, seed, engine, spark_master)
    finally:
        con.close()


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command()(uncertainty)
