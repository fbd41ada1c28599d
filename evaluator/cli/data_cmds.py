"""`evaluator ingest | check | generate-demo`: getting data in, and seeing what is still missing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evaluator.cli.common import console, err_console, error, fail
from evaluator.defaults import DEFAULT_DB, MIN_UNITS

if TYPE_CHECKING:  # imported where used: `evaluator --help` loads no engine
    import duckdb

    from evaluator.ingest.wide import InputShape

BIG_FILE = 5 << 20  # bytes: show a progress bar above this size
SHOWN_PROBLEMS = 20


def _read_map_file(path: Path) -> list[str]:
    """A mapping file: one `SOURCE=TARGET` per line, or a YAML/JSON mapping."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read the column map ({exc}); save it as UTF-8 text")
    if path.suffix.lower() in {".yaml", ".yml", ".json"}:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="safe").load(text) or {}
        except YAMLError as exc:
            fail(f"{path}: not a valid YAML/JSON column map: {str(exc).splitlines()[0]}")
        if not isinstance(data, dict):
            fail(f"{path}: a column map must be a mapping of file header to column name")
        return [f"{k}={v}" for k, v in data.items()]
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def ingest(
    files: Annotated[list[Path], typer.Argument(
        help="CSV, Parquet or XLSX file(s); each is its own batch", show_default=False)],
    kind: Annotated[str, typer.Option(
        "--kind", help="units | outcomes | surveys | targets | events | questions | form "
        "(a filled collection form from `evaluator forms`)")],
    db: Annotated[Path, typer.Option("--db", help="DuckDB file (created if missing)")] = DEFAULT_DB,
    force: Annotated[bool, typer.Option(
        "--force", help="load again even if this exact file was loaded before")] = False,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="where to write the rejected rows: a .csv file or a folder "
        "(default: rejects/ beside the DB)")] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", help="map a file column to a contract column, SOURCE=TARGET (repeatable), "
        "e.g. --map 单位代码=unit_id; or a .yaml/.json/.txt file of such pairs")] = None,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="text encoding of a CSV file, e.g. gb18030 or cp1252 (default: "
        "UTF-8, or GB18030 when unambiguous; an ambiguous file is refused with the "
        "candidates)")] = None,
    wide: Annotated[bool, typer.Option(
        "--wide", help="outcomes in a wide file: one row per unit, one column per measure "
        "(unpivoted before the checks; docs/ingest.md) / 宽表：每个指标一列")] = False,
    period: Annotated[str | None, typer.Option(
        "--period", help="with --wide: the period of every value, for a file without a period "
        "column / 宽表所有数值的期间")] = None,
    period_in_header: Annotated[bool, typer.Option(
        "--period-in-header", help="with --wide: headers are MEASURE_PERIOD, e.g. le_2021 "
        "/ 列名为 指标_期间")] = False,
    measures: Annotated[str | None, typer.Option(
        "--measures", help="with --wide: the measure columns, comma-separated (default: every "
        "column but unit_id and period; the others are ignored) / 指标列")] = None,
    na: Annotated[str | None, typer.Option(
        "--na", help="cell texts that mean 'no value', comma-separated, e.g. NA,NaN,..: such "
        "cells and empty ones are read as missing instead of refused / 缺失值标记")] = None,
) -> None:
    """Load each file as one batch, all or nothing (导入数据：每个文件整批成功或整批拒绝).

    With several files, each loads or is refused on its own; the exit status is 1 when any was
    refused (the others stay loaded, each reported)."""
    from evaluator.ingest import IngestError
    from evaluator.ingest.columns import parse_map
    from evaluator.ingest.kinds import get_kind
    from evaluator.ingest.wide import InputShape
    from evaluator.store import connect

    pairs: list[str] = []
    map_files: list[Path] = []
    for item in mapping or []:
        if "=" not in item and Path(item).is_file():
            map_files.append(Path(item))
            pairs += _read_map_file(Path(item))
        else:
            pairs.append(item)
    get_kind(kind)
    column_map = parse_map(pairs)
    shape = InputShape(wide=wide, period=period, period_in_header=period_in_header,
                       measures=tuple(m.strip() for m in (measures or "").split(",") if m.strip()),
                       na=None if na is None else tuple(t.strip() for t in na.split(",")))
    try:
        shape.check(kind)
    except IngestError as exc:
        fail(str(exc))
    con = connect(db)
    refused = 0
    try:
        for file in files:
            refused += not _ingest_one(con, kind, file, db, force, rejects, column_map,
                                       encoding, map_files, shape)
    finally:
        con.close()
    if len(files) > 1:
        console.print(f"{len(files) - refused} of {len(files)} file(s) loaded, {refused} refused "
                      f"/ 共 {len(files)} 个文件，导入 {len(files) - refused} 个，拒绝 {refused} 个")
    if refused:
        raise typer.Exit(1)


def _ingest_one(con: duckdb.DuckDBPyConnection, kind: str, file: Path, db: Path, force: bool,
                rejects: Path | None, column_map: dict[str, str], encoding: str | None,
                map_files: list[Path], shape: InputShape) -> bool:
    """Load one file as its own batch and report it; False when it was refused."""
    from evaluator.ingest import IngestError, IngestRejected, ingest_file

    try:
        big = file.is_file() and file.stat().st_size > BIG_FILE
        with Progress(TextColumn(f"[bold]{file.name}[/]"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err_console, transient=True,
                      disable=not big) as bar:
            task = bar.add_task("rows", total=None)
            result = ingest_file(
                con, kind, file, db_path=db, force=force, rejects=rejects, column_map=column_map,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                encoding=encoding, protected=map_files, shape=shape,
            )
    except IngestRejected as exc:
        _print_rejection(exc)
        return False
    except IngestError as exc:
        error(str(exc))
        return False
    mark = "[green]✓[/]" if result.status == "loaded" else "[cyan]=[/]"
    console.print(f"{mark} {escape(result.message)}")
    return True


def _print_rejection(exc: object) -> None:
    from evaluator.ingest import IngestRejected

    assert isinstance(exc, IngestRejected)
    err_console.print(f"[bold red]rejected / 已拒绝:[/] {escape(str(exc.file))} — {exc.total} "
                      "problem(s); nothing was loaded / 未导入任何数据")
    for p in exc.reasons[:SHOWN_PROBLEMS]:  # one line each: greppable, never wrapped mid-row
        err_console.print(f"  [red]✗[/] {escape(str(p))}", markup=True, highlight=False)
    if exc.total > SHOWN_PROBLEMS:
        err_console.print(f"… and {exc.total - SHOWN_PROBLEMS} more / 另有 "
                          f"{exc.total - SHOWN_PROBLEMS} 处")
    if exc.rejects_path:
        err_console.print(f"all problems / 全部问题: {exc.rejects_path}")


def check(
    db: Annotated[Path, typer.Option("--db", help="DuckDB file")] = DEFAULT_DB,
    scheme: Annotated[Path, typer.Option("--scheme", help="scheme YAML file")] = Path(
        "indicators/demo_township.yaml"),
    period: Annotated[str | None, typer.Option(
        "--period", help="period to check, e.g. 2026 (default: the scheme's year)")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="exit 1 when anything is missing (a period without any data always "
        "exits 1)")] = False,
) -> None:
    """Which units lack which data before scoring (评分前数据完整性检查)."""
    from evaluator.completeness import check_completeness
    from evaluator.scheme import SchemeInvalid, load_scheme
    from evaluator.store import connect

    try:
        loaded = load_scheme(scheme)
    except SchemeInvalid as exc:
        fail(f"{scheme}: invalid scheme; run `evaluator validate {scheme}`\n{exc}")
    con = connect(db, read_only=True)
    try:
        report = check_completeness(con, loaded, period or str(loaded.scheme.year))
    finally:
        con.close()
    from evaluator.completeness import render

    render(report, console)
    if report.no_data or (strict and not report.ok):  # no data at all: exit 1, as `score` does
        raise typer.Exit(1)


def generate_demo(
    out: Annotated[Path, typer.Option("--out", help="folder for the CSV files")] = Path(
        "data/demo"),
    units: Annotated[int, typer.Option("--units", min=MIN_UNITS, help="number of townships")] = 120,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 2026,
) -> None:
    """Write seeded demo data and its ground truth (生成演示数据及其真实答案)."""
    from evaluator.demo_data import generate

    files = generate(out, units=units, seed=seed)
    table = Table("kind", "file", "rows", header_style="bold")
    for kind, path in files.paths().items():
        table.add_row(kind, str(path), str(files.rows[kind]))
    console.print(table)
    t = files.truth
    console.print(
        f"planted / 预置问题: show-off {len(t['show_off'])}, survey stuffing "
        f"{len(t['survey_stuffing'])}, small samples {len(t['small_sample'])} "
        f"— see {files.truth_path}"
    )


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(check)
    app.command("generate-demo")(generate_demo)
