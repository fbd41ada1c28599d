"""`evaluator score | runs | diff`: make a stored run, list runs, compare two runs."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from evaluator.cli.common import DbOpt, console, err_console, fail, warn
from evaluator.defaults import DEFAULT_DB

if TYPE_CHECKING:  # imported where used: `evaluator --help` loads no engine (tests/test_cli_startup.py)
    import duckdb

    from evaluator.scheme.loader import LoadedScheme
    from evaluator.scoring.engine import Engine
    from evaluator.scoring.engines.spark import SparkEngine

SchemeOpt = Annotated[Path, typer.Option("--scheme", help="scheme YAML / 考核方案文件")]
PeriodOpt = Annotated[str | None, typer.Option(
    "--period", help="year to score, e.g. 2026 (default: the scheme's year) / 考核年度")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="also write scores.csv, indicator_scores.csv, flags.csv, dimension_scores.csv "
    "here / 输出目录")]
UncertaintyOpt = Annotated[bool, typer.Option(
    "--uncertainty", help="also bootstrap the run, its weight sensitivity and tiers, as "
    "`evaluator uncertainty` does (default replicates, level and seed) / 同时计算不确定性")]
TopOpt = Annotated[int, typer.Option("--top", min=0, help="league-table rows to print")]


class EngineName(StrEnum):
    """Which engine computes the run (the run is stored in --db either way)."""

    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[EngineName, typer.Option(
    "--engine", help="duckdb (embedded, default) or spark (needs pip install -e '.\\[spark]' and "
    "Java 17; docs/scale-out.md) / 计算引擎")]
SparkMasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", help="Spark master URL (default local[2]), e.g. spark://host:7077 "
    "/ Spark 集群地址")]
SparkRemoteOpt = Annotated[str | None, typer.Option(
    "--spark-remote", help="Spark Connect server, sc://host:15002 / Spark Connect 地址")]
InputsOpt = Annotated[Path | None, typer.Option(
    "--inputs", help="with --engine spark: read units/outcomes/surveys/targets/events from "
    "Parquet files in DIR instead of the database / 从 Parquet 目录读取输入")]
SparkDirOpt = Annotated[Path | None, typer.Option(
    "--spark-dir", help="with --engine spark: folder for the staged inputs and the run's "
    "Parquet tables (default: spark/ beside the database; on a cluster, a path every node and "
    "this machine see) / Spark 工作目录")]
RunArg = Annotated[str, typer.Argument(help="run id (or a unique prefix) / 计分编号")]
AllOpt = Annotated[bool, typer.Option("--all", help="also list units whose rank is unchanged")]


def _fmt(value: object, decimals: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file: give a folder for scores.csv, indicator_scores.csv, flags.csv")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out {out}: cannot create the folder ({exc.strerror}); choose another folder")
    if not os.access(out, os.W_OK):
        fail(f"--out {out}: the folder is not writable; choose another folder")


StrictOpt = Annotated[bool, typer.Option(
    "--strict", help="refuse the run when the scheme names a measure or question the store has "
    "never seen (a misspelled id) / 方案引用库中不存在的数据项时拒绝计分")]


def score(
    scheme: SchemeOpt,
    db: DbOpt = DEFAULT_DB,
    period: PeriodOpt = None,
    out: OutOpt = None,
    uncertainty: UncertaintyOpt = False,
    top: TopOpt = 10,
    strict: StrictOpt = False,
    engine: EngineOpt = EngineName.duckdb,
    spark_master: SparkMasterOpt = None,
    spark_remote: SparkRemoteOpt = None,
    inputs: InputsOpt = None,
    spark_dir: SparkDirOpt = None,
) -> None:
    """Score every unit the scheme applies to and store the run. / 计分并保存本次结果。"""
    import duckdb

    from evaluator.runs import write_outputs
    from evaluator.scheme import SchemeInvalid, load_scheme
    from evaluator.scoring import ScoringError, score_run
    from evaluator.scoring.engine import DuckDBEngine
    from evaluator.scoring.sources import unknown_sources
    from evaluator.store import connect

    if engine is EngineName.duckdb and (spark_master or spark_remote or inputs or spark_dir):
        fail("--spark-master, --spark-remote, --inputs and --spark-dir need --engine spark "
             "/ 这些选项需配合 --engine spark")
    if spark_master and spark_remote:
        fail("give either --spark-master or --spark-remote, not both / 二者只能选一")
    if inputs is not None and not inputs.is_dir():
        fail(f"--inputs {inputs}: not a folder; give the folder of units.parquet, "
             "outcomes.parquet, … / 输入目录不存在")

    try:
        loaded = load_scheme(scheme)
    except SchemeInvalid as exc:
        for issue in exc.issues:
            err_console.print(f"[red]✗[/] {issue}")
        fail(f"{len(exc.issues)} error(s) in {scheme}: fix the scheme (`evaluator validate`) "
             f"/ 方案有误，请先修正")
    s = loaded.scheme
    period = str(period or s.year)
    if out is not None:
        _check_out_dir(out)  # before the run is stored: a bad --out must not leave a stray run
    con = connect(db, create=False)
    stack = contextlib.ExitStack()
    try:
        found = unknown_sources(DuckDBEngine(con), s)
        unknown = [u.message() for u in found]
        if strict and unknown:
            _print_unknown(unknown)
            fail(f"--strict: {len(unknown)} indicator source(s) not in the store; nothing was "
                 "scored. Fix the ids in the scheme (or load the data) / 严格模式：未计分")
        params: dict[str, object] = {"scheme_file": str(scheme.resolve())}
        on: Engine | None = None  # a Spark engine lasts until the bootstrap is done
        try:
            if engine is EngineName.spark:
                on = stack.enter_context(_spark_engine(db, spark_master, spark_remote, spark_dir))
                run_id = _score_on_spark(con, on, loaded, period, uncertainty, params,
                                         spark_master, spark_remote, inputs)
            else:
                run_id = score_run(con, loaded, period, uncertainty=uncertainty,
                                   params=params, publish_snapshot=False, unknown=found)
        except ScoringError as exc:
            fail(f"{exc} / 计分未完成")
        except duckdb.Error as exc:
            fail(f"the database could not be scored ({exc}); nothing was stored "
                 "/ 数据库错误，未保存")
        _print_lint(con, run_id)
        _print_run_warnings(con, run_id)
        if uncertainty and inputs is not None:
            warn("--uncertainty with --inputs: the bootstrap resamples the store's own survey "
                 "responses, which this run did not read; load the files and run `evaluator "
                 "uncertainty` / 外部输入文件的运行不做自助法")
        elif uncertainty:
            from evaluator.cli.uncertainty_cmds import report
            from evaluator.uncertainty.compute import (
                DEFAULT_LEVEL,
                DEFAULT_REPLICATES,
                DEFAULT_SEED,
            )

            # on the engine that scored the run (Spark: the same session), as `evaluator
            # uncertainty --engine spark` does; its replicates equal DuckDB's within 1e-9 (tested)
            report(con, run_id, DEFAULT_REPLICATES, DEFAULT_LEVEL, DEFAULT_SEED, on=on)
        stack.close()  # stop a Spark session of our own: nothing below needs it
        note = con.execute("SELECT note FROM runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
        for line in (note or "").splitlines():
            if line not in unknown:
                warn(line)
        _print_league(con, run_id, s.scale.decimals, top, f"{s.name.zh} / {s.name.en} — {period}")
        if out is not None:
            paths = write_outputs(con, run_id, out)
            console.print(f"[green]✓[/] wrote {', '.join(str(p) for p in paths)}")
        console.print(f"[green]✓[/] run {run_id} stored in {db} / 结果已保存")
        _publish_snapshot(con, db)
        if unknown:  # last, so it is what the office reads when the command ends
            _print_unknown(unknown)
            err_console.print("[bold red]these indicators scored no unit; the warnings are stored "
                              f"with run {run_id} (`--strict` refuses such a run) "
                              "/ 以上指标未能计分，警告已随结果保存[/]")
    finally:
        stack.close()  # a Spark session of our own, when a failure left it open
        con.close()


def _print_unknown(messages: list[str]) -> None:
    err_console.rule("[bold red]WARNING / 警告[/]", style="red")
    for m in messages:
        err_console.print(f"[bold red]![/] {escape(m)}")


@contextlib.contextmanager
def _spark_engine(db: Path, master: str | None, remote: str | None, spark_dir: Path | None
                  ) -> Iterator[SparkEngine]:
    """A Spark engine on `master` / `remote` (default local[2]) with its files in `spark_dir`
    (default spark/ beside the database). An active session (a notebook's or a test's) is used
    and left open; one of our own is stopped on leaving."""
    from evaluator.scoring import ScoringError
    from evaluator.scoring.engines.spark import SparkEngine, spark_available, start_session

    missing = spark_available(java=remote is None)
    if missing:
        raise ScoringError(f"--engine spark: {missing}")
    work = (spark_dir or db.resolve().parent / "spark").resolve()
    console.print(f"spark: {remote or master or 'local[2]'}, files in {work} / 使用 Spark 计分")
    from pyspark.sql import SparkSession

    reused = SparkSession.getActiveSession()
    spark = reused or start_session(master=master, remote=remote)
    try:
        yield SparkEngine(spark, work)
    finally:
        if reused is None:
            spark.stop()


def _score_on_spark(con: duckdb.DuckDBPyConnection, engine: SparkEngine, loaded: LoadedScheme,
                    period: str, uncertainty: bool, params: dict[str, object],
                    master: str | None, remote: str | None, inputs: Path | None,
                    batch_ids: list[int] | None = None) -> str:
    """Stage the inputs (DB views or --inputs files) as Parquet for Spark, score, register."""
    from evaluator.scoring import ScoringError, score_run
    from evaluator.scoring.panel import outcome_years
    from evaluator.scoring.rerun import input_checksums

    if inputs is not None:
        kinds = engine.stage_input_files(inputs.resolve())
        # checksums, so that `evaluator rerun` can tell whether the same files are at hand
        params.update(inputs=str(inputs.resolve()), input_kinds=kinds,
                      input_checksums=input_checksums(inputs.resolve(), kinds))
    else:
        engine.stage_store_inputs(con, period, outcome_years(loaded.scheme, period))
    params.update(spark_master=remote or master or "local[2]")
    try:
        return score_run(con, loaded, period, engine=engine, uncertainty=uncertainty,
                         params=params, publish_snapshot=False,
                         batch_ids=[] if inputs is not None else batch_ids)
    except Exception as exc:  # Spark's own errors: explain, never a JVM traceback
        if not type(exc).__module__.startswith(("pyspark", "py4j")):
            raise  # ours (ScoringError) and the store's (duckdb) are explained by the caller
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ScoringError(f"Spark could not score the run: {first[:400]}; nothing was "
                           "stored") from None


def _publish_snapshot(con: duckdb.DuckDBPyConnection, db: Path) -> None:
    """Refresh the dashboard's read-only snapshot (a running dashboard picks it up)."""
    from evaluator.snapshot import SnapshotError, publish_from_connection

    try:
        path = publish_from_connection(con, db)
    except SnapshotError as exc:
        warn(f"{exc}; the dashboard keeps showing the previous snapshot / 看板快照未更新")
        return
    console.print(f"[green]✓[/] dashboard snapshot {path} / 看板快照已更新")


def _print_lint(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    rows = con.execute(
        "SELECT severity, count(*) FROM run_lint WHERE run_id = ? GROUP BY severity "
        "ORDER BY severity", [run_id]).fetchall()
    if not rows:
        console.print("lint / 形式主义检查: no findings / 无问题")
        return
    counts = ", ".join(f"{n} {sev}" for sev, n in rows)
    console.print(f"lint / 形式主义检查: {counts} (stored with the run; "
                  "`evaluator lint` shows them all)")
    errors = con.execute(
        "SELECT rule, indicator, message FROM run_lint WHERE run_id = ? AND severity = 'error' "
        "ORDER BY rule, indicator LIMIT 5", [run_id]).fetchall()
    for rule, indicator, message in errors:
        console.print(f"  [red]error[/] {rule} {indicator or ''}: {message}")


def _print_run_warnings(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Results that may mislead (constant indicators, clamped z-scores, reweighting, low
    coverage), English then Chinese; stored with the run and shown by the dashboard too."""
    from evaluator.scoring.warnings import display_names, read_warnings, summary_lines

    found = read_warnings(con, run_id)
    if not found:
        return
    console.print(f"run warnings / 结果提示: {len(found)} (stored with the run / 已随结果保存)")
    en_lines = summary_lines(found, "en", names=display_names(con, run_id, "en"))
    zh_lines = summary_lines(found, "zh", names=display_names(con, run_id, "zh"))
    for en, zh in zip(en_lines, zh_lines, strict=True):
        warn(en)
        err_console.print(f"         {escape(zh)}")


def _print_league(con: duckdb.DuckDBPyConnection, run_id: str, decimals: int, top: int,
                  title: str) -> None:
    """The first `top` rows; with the score and rank intervals when the run computed them."""
    if top == 0:
        return
    rows = con.execute(
        "SELECT s.rank, s.unit_id, s.unit_name, s.score, s.grade, s.rank_declared, i.score_low, "
        "i.score_high, i.rank_low, i.rank_high, i.interval_source FROM run_scores s "
        "JOIN run_intervals i USING (run_id, unit_id) "
        "WHERE s.run_id = ? ORDER BY s.rank NULLS LAST, s.unit_id LIMIT ?", [run_id, top]
    ).fetchall()
    intervals = any(r[6] is not None for r in rows)
    table = Table(title=title)
    for header in ("排名 Rank", "单位 Unit", "名称 Name", "得分 Score", "等次 Grade",
                   "原权重排名 Declared-weight rank"):
        table.add_column(header, no_wrap=header.startswith(("排名", "得分")))
    for rank, unit_id, name, value, grade, rank_declared, lo, hi, rlo, rhi, _ in rows:
        shown_rank, shown_score = _fmt(rank), _fmt(value, decimals)
        if intervals:  # the interval beside the value: one glance, no extra columns
            shown_rank += f" ({_fmt(rlo)}–{_fmt(rhi)})"
            shown_score += f" ({_fmt(lo, decimals)}–{_fmt(hi, decimals)})"
        table.add_row(shown_rank, str(unit_id), _fmt(name), shown_score, _fmt(grade),
                      _fmt(rank_declared))
    console.print(table)
    if intervals and rows[0][10] == "bootstrap":
        console.print("(low–high): bootstrap interval of score and rank (respondents resampled, "
                      "declared measurement error drawn; docs/uncertainty.md); units whose rank "
                      "intervals overlap are not reliably different "
                      "/ 括号内为自助法区间，区间重叠的单位名次差异不可靠")
    elif intervals:
        console.print("(low–high): score and rank with every survey index at the ends of its 95% "
                      "interval; units whose rank intervals overlap are not reliably different "
                      "/ 括号内为区间，区间重叠的单位名次差异不可靠")


def runs(db: DbOpt = DEFAULT_DB) -> None:
    """List stored runs, newest first. / 列出已保存的计分结果。"""
    from evaluator.runs import list_runs
    from evaluator.store import connect

    con = connect(db, read_only=True)  # a StoreError is explained by evaluator.cli.main
    try:
        frame = list_runs(con)
    finally:
        con.close()
    if frame.is_empty():
        console.print("no runs yet / 尚无计分结果: run `evaluator score`")
        return
    table = Table(title="runs / 计分记录")
    table.add_column("run", no_wrap=True)
    for header in ("created 时间", "period 年度", "scheme 方案", "units 单位数",
                   "lint errors 错误", "published 已发布"):
        table.add_column(header)
    for r in frame.iter_rows(named=True):
        table.add_row(r["run_id"], str(r["created_at"])[:19], r["period"],
                      f"{r['scheme_id']} v{r['scheme_version']}", str(r["units"]),
                      str(r["lint_errors"]), "yes" if r["published"] else "no")
    console.print(table)


def diff(run_a: RunArg, run_b: RunArg, db: DbOpt = DEFAULT_DB, all_units: AllOpt = False
         ) -> None:
    """Rank and score changes from RUN_A to RUN_B. / 比较两次计分的排名与得分变化。"""
    from evaluator.runs import diff_runs, resolve_run
    from evaluator.store import connect

    con = connect(db, read_only=True)  # StoreError, RunNotFound: explained by evaluator.cli.main
    try:
        a, b = resolve_run(con, run_a), resolve_run(con, run_b)
        frame = diff_runs(con, a, b)
    finally:
        con.close()
    changed = frame.filter(
        (frame["rank_change"].fill_null(1) != 0) | (frame["score_change"].fill_null(1) != 0))
    shown = frame if all_units else changed
    table = Table(title=f"{a} → {b}: {changed.height} of {frame.height} units changed "
                        "/ 有变化的单位")
    for header in ("单位 Unit", "名称 Name", "得分 A", "得分 B", "Δ", "排名 A", "排名 B", "↑↓",
                   "等次 A", "等次 B"):
        table.add_column(header)
    for r in shown.iter_rows(named=True):
        change = r["rank_change"]
        arrow = "—" if change is None else (f"↑{change}" if change > 0 else
                                            f"↓{-change}" if change < 0 else "=")
        table.add_row(r["unit_id"], _fmt(r["unit_name"]), _fmt(r["score_a"]), _fmt(r["score_b"]),
                      _fmt(r["score_change"]), _fmt(r["rank_a"]), _fmt(r["rank_b"]), arrow,
                      _fmt(r["grade_a"]), _fmt(r["grade_b"]))
    console.print(table)


def rerun(run: RunArg, db: DbOpt = DEFAULT_DB, out: OutOpt = None) -> None:
    """Rebuild a stored run with its own scheme on the data batches it saw; check that every
    number is identical (exit 1 when not). / 按原方案和原数据批次重算，核对结果完全一致。"""
    import duckdb

    from evaluator.runs import resolve_run, write_outputs
    from evaluator.scoring import ScoringError, score_run
    from evaluator.scoring import rerun as rr
    from evaluator.store import connect

    if out is not None:
        _check_out_dir(out)
    con = connect(db, create=False)
    try:
        run_id = resolve_run(con, run)  # RunNotFound: explained by evaluator.cli.main

        def score_it(p: rr.RerunPlan) -> str:
            if p.engine == "spark":
                inputs = Path(p.parameters["inputs"]) if p.parameters.get("inputs") else None
                with _spark_engine(db, None, None, None) as engine:
                    return _score_on_spark(con, engine, p.loaded, p.period, p.uncertainty,
                                           p.carried(), None, None, inputs, p.batch_ids)
            return score_run(con, p.loaded, p.period, uncertainty=p.uncertainty,
                             params=p.carried(), publish_snapshot=False, batch_ids=p.batch_ids)

        try:
            p = rr.plan(con, run_id)
            new = rr.rerun(con, p, score_it)
        except ScoringError as exc:
            fail(f"{exc} / 未重算")
        except duckdb.Error as exc:
            fail(f"the run could not be rebuilt ({exc}); nothing was stored / 数据库错误，未保存")
        diffs = rr.differences(con, run_id, new)
        if out is not None:
            paths = write_outputs(con, new, out)
            console.print(f"[green]✓[/] wrote {', '.join(str(q) for q in paths)}")
        if any(diffs.values()):
            shown = ", ".join(f"{t}: {n} row(s)" for t, n in diffs.items() if n)
            delta, ranks = rr.largest_change(con, run_id, new)
            versions = con.execute("SELECT run_id, code_version FROM runs WHERE run_id IN (?, ?)",
                                   [run_id, new]).fetchall()
            made = dict(versions)
            hint = (f"; the run was made by evaluator {made.get(run_id)}, the rerun by "
                    f"{made.get(new)}: a new version may add rows to sums in another order"
                    if made.get(run_id) != made.get(new) else "")
            fail(f"rerun {new} of run {run_id} differs ({shown}; largest base-score difference "
                 f"{delta:.3g}, {ranks} rank(s) differ{hint}); compare them with "
                 f"`evaluator diff {run_id} {new}` / 重算结果与原结果不一致")
        n = con.execute("SELECT count(*) FROM run_scores WHERE run_id = ?", [new]).fetchall()[0][0]
        console.print(f"[green]✓[/] rerun {new} of run {run_id} ({p.loaded.scheme.id}, "
                      f"{p.period}, batches {', '.join(map(str, p.batch_ids)) or 'none'}): "
                      f"identical, {n} units, every run table compared / 重算结果完全一致")
    finally:
        con.close()


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command()(score)
    app.command()(rerun)
    app.command()(runs)
    app.command()(diff)
