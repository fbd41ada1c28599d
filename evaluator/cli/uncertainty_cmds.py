"""`evaluator uncertainty`: bootstrap, weight sensitivity and tiers of a stored run."""

from __future__ import annotations

from typing import Annotated

import duckdb
import typer

from evaluator.cli.common import DbOpt, console, fail
from evaluator.store import DEFAULT_DB, connect
from evaluator.uncertainty.compute import DEFAULT_LEVEL, DEFAULT_REPLICATES, DEFAULT_SEED

RunOpt = Annotated[str | None, typer.Option(
    "--run", help="run id or a unique prefix (default: the latest run) / 计分编号")]
ReplicatesOpt = Annotated[int, typer.Option(
    "--replicates", min=20, help="bootstrap replicates / 自助法重复次数")]
LevelOpt = Annotated[float, typer.Option(
    "--level", help="interval level, e.g. 0.95 / 区间置信水平")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", help="random seed: the same seed gives the same intervals / 随机种子")]


def report(con: duckdb.DuckDBPyConnection, run_id: str, replicates: int, level: float,
           seed: int) -> None:
    """Compute and store; print what a reader needs to know, in both languages."""
    from evaluator.uncertainty import UncertaintyError, compute_uncertainty

    try:
        result = compute_uncertainty(con, run_id, replicates=replicates, level=level, seed=seed)
    except UncertaintyError as exc:
        fail(str(exc))
    except duckdb.Error as exc:
        fail(f"the uncertainty of run {run_id} could not be computed ({exc}); nothing was stored "
             "/ 计算失败，未保存")
    s = result.summary
    console.print(
        f"[green]✓[/] run {run_id}: {replicates} bootstrap replicates at level {level:g} "
        f"(seed {seed}) in {result.seconds:.1f} s / 自助法区间已保存")
    console.print(
        f"  grades firm under the weight Monte-Carlo 等次稳健: {s['firm_units']} units; "
        f"weight-dependent 随权重变化: {s['weight_dependent_units']}"
        + (f"; tiers 梯队: {s['tiers']}" if s.get("tiers") else ""))
    for u in s["weight_dependent"][:5]:
        console.print(f"  · {u['unit_id']} {u['grade']}: kept in {u['grade_stability']:.0%} of "
                      "draws / 保持原等次的比例")


def uncertainty(
    db: DbOpt = DEFAULT_DB,
    run: RunOpt = None,
    replicates: ReplicatesOpt = DEFAULT_REPLICATES,
    level: LevelOpt = DEFAULT_LEVEL,
    seed: SeedOpt = DEFAULT_SEED,
) -> None:
    """Bootstrap intervals, tiers and weight sensitivity of a stored run. / 计算排名不确定性。"""
    from evaluator.runs import resolve_run

    con = connect(db, create=False)
    try:
        report(con, resolve_run(con, run), replicates, level, seed)
    finally:
        con.close()


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command()(uncertainty)
