"""`evaluator export` (year-end files of a stored run) and `evaluator appeals list|file|resolve`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evaluator.cli.common import DbOpt, Lang, console, err_console, fail
from evaluator.defaults import DEFAULT_DB

if TYPE_CHECKING:  # imported where used: `evaluator --help` loads no export, readmodel or XLSX writer
    from evaluator.export import Progress as ExportProgress


class Fmt(StrEnum):
    xlsx = "xlsx"
    csv = "csv"
    parquet = "parquet"


class Encoding(StrEnum):
    utf8 = "utf-8"
    utf8_sig = "utf-8-sig"
    gb18030 = "gb18030"


def _bar(progress: Progress) -> ExportProgress:
    """Feeds export_run's progress into a Rich bar (rows written + cards rendered). The class is
    made here, not at import: it subclasses the export package's, which the CLI loads only for
    `evaluator export`."""
    from evaluator.export import Progress as ExportProgress

    class _Bar(ExportProgress):
        def __init__(self) -> None:
            self.task = progress.add_task("export", total=None)

        def begin(self, total: int) -> None:
            progress.update(self.task, total=total)

        def advance(self, label: str, n: int) -> None:
            progress.update(self.task, advance=n, description=label)

    return _Bar()


def export(
    fmt: Annotated[Fmt, typer.Option("--format", help="xlsx | csv | parquet")],
    out: Annotated[Path, typer.Option("--out", help="folder to write into (created if needed)")],
    db: DbOpt = DEFAULT_DB,
    run: Annotated[str | None, typer.Option("--run", help="run id; latest when left out")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="headers: en ids or zh")] = Lang.en,
    encoding: Annotated[Encoding, typer.Option("--encoding", help="CSV encoding")] = Encoding.utf8,
    cards: Annotated[bool, typer.Option("--cards/--no-cards", help="report cards")] = True,
    summary: Annotated[bool, typer.Option("--summary/--no-summary", help="leadership page")] = True,
    audience: Annotated[str, typer.Option(
        "--audience", help="office (everything) | leadership (released runs) | unit (released "
        "runs: its own card and the league table) / 导出对象")] = "office",
    unit: Annotated[str | None, typer.Option(
        "--unit", help="the unit of --audience unit / 单位编号")] = None,
) -> None:
    """Year-end export of a stored run: tables, report cards, leadership summary, manifest.json."""
    import duckdb

    from evaluator.export import export_run

    try:
        with Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            result = export_run(
                db,
                run,
                fmt=fmt.value,
                out=out,
                lang=lang.value,
                encoding=encoding.value,
                cards=cards,
                summary=summary,
                progress=_bar(bar),
                audience=audience,
                unit=unit,
            )
    except duckdb.Error as exc:
        fail(f"{db}: reading the run failed: {exc}")
    rows = ", ".join(f"{k} {v}" for k, v in result.rows.items() if v)
    console.print(
        f"[green]✓[/] run {result.run_id} exported to {result.out_dir} "
        f"({len(result.files)} files; {rows})"
    )
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"manifest: {result.manifest}")


appeals_app = typer.Typer(
    help="Units contest a line of their result; the office resolves it.", no_args_is_help=True
)


@appeals_app.command("list")
def appeals_list(
    db: DbOpt = DEFAULT_DB,
    run: Annotated[str | None, typer.Option("--run", help="only this run (its full id)")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="only this unit's appeals")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open|accepted|rejected")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List appeals and their outcomes (oldest first)."""
    from evaluator.appeals import list_appeals
    from evaluator.appstore import app_db_path, connect_app

    if not app_db_path(db).exists():
        frame = None
    else:
        app = connect_app(db, create=False)
        try:
            frame = list_appeals(app, run_id=run, unit_id=unit, status=status)
        finally:
            app.close()
    rows = frame.to_dicts() if frame is not None else []
    if as_json:
        console.print_json(json.dumps({"appeals": rows}, ensure_ascii=False, default=str))
        return
    if not rows:
        console.print("no appeals on record / 无申诉记录")
        return
    table = Table("id", "run", "unit", "item", "status", "reason", "resolution")
    for r in rows:
        resolution = r["resolution"] or ""
        if r["status"] == "accepted":
            resolution += f" (batch {r['correction_batch']}, re-score {r['rescore_run_id']})"
        table.add_row(
            str(r["appeal_id"]),
            r["run_id"],
            r["unit_id"],
            r["item"],
            r["status"],
            r["reason"],
            resolution,
        )
    console.print(table)


@appeals_app.command("file")
def appeals_file(
    unit: Annotated[str, typer.Option("--unit", help="the unit that contests")],
    reason: Annotated[str, typer.Option("--reason", help="why the line is wrong")],
    db: DbOpt = DEFAULT_DB,
    run: Annotated[str | None, typer.Option("--run", help="run id; latest when left out")] = None,
    indicator: Annotated[str | None, typer.Option("--indicator", help="indicator id")] = None,
    event: Annotated[str | None, typer.Option("--event", help="event id (veto, bonus…)")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who files it")] = None,
) -> None:
    """File an appeal on one line (an indicator or an event) of a unit's result."""
    from evaluator.appeals import file_appeal
    from evaluator.appstore import connect_app
    from evaluator.export.runinfo import resolve_run
    from evaluator.store import connect

    con = connect(db, read_only=True)
    try:
        run_id = resolve_run(con, run).run_id
        app = connect_app(db)
        try:
            appeal_id = file_appeal(
                con,
                app,
                run_id=run_id,
                unit_id=unit,
                reason=reason,
                indicator_id=indicator,
                event=event,
                filed_by=by,
            )
        finally:
            app.close()
    finally:
        con.close()
    console.print(
        f"[green]✓[/] appeal #{appeal_id} filed on run {run_id}, unit {unit} "
        f"({'indicator ' + indicator if indicator else 'event ' + str(event)}) / 申诉已登记"
    )


@appeals_app.command("resolve")
def appeals_resolve(
    appeal_id: Annotated[int, typer.Argument(help="appeal number from `appeals list`")],
    note: Annotated[str, typer.Option("--note", help="the office's note or reason")],
    db: DbOpt = DEFAULT_DB,
    accept: Annotated[bool, typer.Option("--accept", help="needs --batch, --rescore-run")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="--note gives the reason")] = False,
    batch: Annotated[int | None, typer.Option("--batch", help="correction batch id")] = None,
    rescore_run: Annotated[str | None, typer.Option("--rescore-run", help="re-score run")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who resolves it")] = None,
) -> None:
    """Accept (naming the correction batch and re-score run) or reject (with a reason) an appeal."""
    from evaluator.appeals import resolve_appeal
    from evaluator.appstore import connect_app
    from evaluator.labels import Group, label
    from evaluator.store import connect

    if accept == reject:
        fail("say --accept or --reject (exactly one) / 请选择采纳或不采纳")
    con = connect(db, read_only=True)
    try:
        app = connect_app(db, create=False)
        try:
            resolve_appeal(
                con,
                app,
                appeal_id,
                accept=accept,
                note=note,
                correction_batch=batch,
                rescore_run_id=rescore_run,
                resolved_by=by,
            )
        finally:
            app.close()
    finally:
        con.close()
    console.print(
        f"[green]✓[/] appeal #{appeal_id} {'accepted' if accept else 'rejected'} / "
        f"{label(Group.appeal_status, 'accepted' if accept else 'rejected', 'zh')}"
    )


def register(app: typer.Typer) -> None:
    app.command()(export)
    app.add_typer(appeals_app, name="appeals")
