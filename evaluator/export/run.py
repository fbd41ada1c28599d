"""`export_run`: write a stored run as XLSX, CSV or Parquet, with cards, summary and manifest.

Everything is written into a hidden staging folder first and moved into place at the end, so an
export that fails half-way leaves no half-written files behind (the folder's earlier contents
stay as they were).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from evaluator import readmodel as rm
from evaluator.appeals import appeals_for_export
from evaluator.export.cards import write_cards
from evaluator.export.flat import (
    ENCODINGS,
    csv_import_filter,
    csv_text_columns,
    write_csv,
    write_parquet,
)
from evaluator.export.manifest import MANIFEST, uncertainty_entry, write_manifest
from evaluator.export.runinfo import ExportError, resolve_run
from evaluator.export.summary import write_summary
from evaluator.export.tables import (
    LANGS,
    TABLES,
    UNIT_TABLES,
    ExportContext,
    refresh_methodology,
    register_lookups,
    row_count,
)
from evaluator.export.xlsx import EXCEL_MAX_ROWS, write_xlsx
from evaluator.readmodel import OFFICE, Viewer
from evaluator.runs import RunInfo, stored_scheme
from evaluator.scoring.warnings import run_warning_records
from evaluator.store import StoreError, connect

FORMATS = ("xlsx", "csv", "parquet")
WORKBOOK = "results.xlsx"


AUDIENCES = ("office", "leadership", "unit")  # who an export is for (`--audience`)


@dataclass(frozen=True)
class ExportResult:
    run_id: str
    out_dir: Path
    files: list[Path]  # final paths, manifest excluded
    manifest: Path
    notes: list[str]
    rows: dict[str, int]


class Progress:
    """What the CLI plugs a progress bar into: the total work first, then advances."""

    def begin(self, total: int) -> None:  # pragma: no cover - trivial default
        pass

    def advance(self, label: str, n: int) -> None:  # pragma: no cover - trivial default
        pass


def export_run(
    db: str | Path,
    run_id: str | None = None,
    *,
    fmt: str = "xlsx",
    out: str | Path,
    lang: str = "en",
    encoding: str = "utf-8",
    cards: bool = True,
    summary: bool = True,
    max_sheet_rows: int = EXCEL_MAX_ROWS - 1,
    progress: Progress | None = None,
    audience: str = "office",
    unit: str | None = None,
    appeals_of: str | Path | None = None,
) -> ExportResult:
    """Export run `run_id` (latest when None) of the data DB `db` into folder `out`, for an
    audience: the office (everything), leadership (released runs only) or one unit (released
    runs only; its own card and the league table's rank, score and grade).

    Appeals come from the app store beside `appeals_of` (default `db`): the dashboard exports
    from its snapshot, whose appeals live beside the main DB."""
    if audience not in AUDIENCES:
        raise ExportError(f"unknown audience '{audience}': use one of {', '.join(AUDIENCES)}")
    if (audience == "unit") != (unit is not None):
        raise ExportError(
            "--audience unit needs --unit UNIT_ID, and only it takes one / 单位导出须指定 --unit"
        )
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise ExportError(f"unknown language '{lang}': use en or zh")
    if encoding not in ENCODINGS:
        raise ExportError(f"unknown encoding '{encoding}': use one of {', '.join(ENCODINGS)}")
    try:
        con = connect(db, read_only=True)
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    try:
        return _export(
            con,
            Path(appeals_of or db),
            run_id,
            fmt,
            Path(out),
            lang,
            encoding,
            cards,
            summary,
            max_sheet_rows,
            progress or Progress(),
            Viewer(audience, unit) if audience != "office" else OFFICE,
        )
    finally:
        con.close()


def _export(
    con: duckdb.DuckDBPyConnection,
    db: Path,
    run_id: str | None,
    fmt: str,
    out: Path,
    lang: str,
    encoding: str,
    cards: bool,
    summary: bool,
    max_rows: int,
    progress: Progress,
    viewer: Viewer = OFFICE,
) -> ExportResult:
    run = resolve_run(con, run_id, published_only=not viewer.office)
    if viewer.role == "unit":
        return _export_unit(con, db, run, fmt, out, lang, encoding, viewer)
    loaded = stored_scheme(run.scheme_yaml, run.run_id)
    scheme = loaded.scheme if loaded else None
    ctx = ExportContext(con, run, scheme, lang, appeals=appeals_for_export(con, db, run.run_id))
    if not viewer.office:
        ctx.min_responses = rm.min_responses(con, run.run_id)
        ctx.notes.append(suppression_note(lang, ctx.min_responses))
        refresh_methodology(ctx)
    counts = {name: row_count(ctx, name) for name in TABLES}
    split = fmt == "xlsx" and counts["breakdown"] > max_rows
    if split:
        sheets = -(-counts["breakdown"] // max_rows)
        ctx.notes.append(split_note(lang, sheets, "breakdown.parquet"))
        refresh_methodology(ctx)
    work = sum(counts.values()) * (2 if split else 1)
    work += counts["summary"] * 2 if cards else 0
    progress.begin(work + (2 if summary else 0))

    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = out / f".partial-{run.run_id}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
    except OSError as exc:
        raise ExportError(
            f"{out}: cannot create the output folder ({exc.strerror}); choose another --out"
        ) from None
    try:
        files = _write_all(ctx, staging, fmt, encoding, cards, summary, split, max_rows, progress)
        final = _move_into_place(staging, out, files)
        manifest = write_manifest(
            out,
            final,
            run,
            format=fmt,
            lang=lang,
            encoding=encoding if fmt == "csv" else None,
            generated_at=ctx.generated_at.isoformat(),
            notes=ctx.notes,
            appeals=int(ctx.appeals.height if ctx.appeals is not None else 0),
            audience=viewer.role,
            run_warnings=run_warning_records(con, run.run_id),
            uncertainty=uncertainty_entry(con, run.run_id),
            **({"csv_import": csv_import(ctx, encoding)} if fmt == "csv" else {}),
        )
    except OSError as exc:
        raise _write_failed(out, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(run.run_id, out, final, manifest, list(ctx.notes), counts)


def _export_unit(
    con: duckdb.DuckDBPyConnection,
    db: Path,
    run: RunInfo,
    fmt: str,
    out: Path,
    lang: str,
    encoding: str,
    viewer: Viewer,
) -> ExportResult:
    """A unit's export: its own report card (both languages) and the league table as the
    dashboard shows it to a unit (rank, score, grade), nothing of another unit's detail."""
    unit = str(viewer.unit_id)
    if unit not in rm.unit_choices(con, run.run_id)["unit_id"].to_list():
        raise ExportError(f"unit {unit} was not scored in run {run.run_id} / 该单位不在本次评分中")
    loaded = stored_scheme(run.scheme_yaml, run.run_id)
    scheme = loaded.scheme if loaded else None
    ctx = ExportContext(con, run, scheme, lang, appeals=appeals_for_export(con, db, run.run_id))
    if ctx.appeals is not None:
        ctx.appeals = ctx.appeals.filter(pl.col("unit_id") == unit)
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = out / f".partial-{run.run_id}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        files = [staging / f"league_table.{fmt}"]
        if fmt == "csv":
            rows = write_csv(ctx, "league_table", files[0], encoding=encoding)
        elif fmt == "parquet":
            rows = write_parquet(ctx, "league_table", files[0])
        else:
            rows = write_xlsx(ctx, files[0], tables=UNIT_TABLES)["league_table"]
        for card_lang in LANGS:
            lctx = ExportContext(
                con, run, scheme, card_lang, ctx.appeals, [], ctx.generated_at,
                rm.min_responses(con, run.run_id),  # a unit's own small cells too (issue rule)
            )
            files += write_cards(lctx, staging / "cards" / card_lang, only_unit=unit)
        final = _move_into_place(staging, out, files)
        manifest = write_manifest(
            out, final, run, format=fmt, lang=lang, encoding=encoding if fmt == "csv" else None,
            generated_at=ctx.generated_at.isoformat(), notes=[], audience="unit", unit=unit,
            uncertainty=uncertainty_entry(con, run.run_id),
        )
    except OSError as exc:
        raise _write_failed(out, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(run.run_id, out, final, manifest, [], {"league_table": rows})


def csv_import(ctx: ExportContext, encoding: str) -> dict[str, dict[str, object]]:
    """Per CSV file: its text columns and the LibreOffice filter that keeps them text."""
    return {
        f"{name}.csv": {
            "text_columns": csv_text_columns(ctx, name),
            "libreoffice_infilter": csv_import_filter(ctx, name, encoding),
        }
        for name in TABLES
    }


def suppression_note(lang: str, floor: int) -> str:
    """The note a non-office export carries: which satisfaction results it blanks, and why."""
    if lang == "zh":
        return (f"有效问卷少于 {floor} 份的满意度结果（指数、区间、样本数、指标原始值、得分、贡献分）"
                "为保护受访者已隐去（“样本过少已隐去”列为“是”）；综合得分照常计入。")
    return (f"Satisfaction results resting on fewer than {floor} valid responses (index, interval, "
            "counts, the indicator's raw value, score and contribution) are blank to protect "
            "respondents (column suppressed is true); they still count in the score.")


def split_note(lang: str, sheets: int, file: str) -> str:
    """The note a workbook carries when its breakdown had to be split across sheets."""
    if lang == "zh":
        return f"指标明细超过 Excel 单表行数上限，已拆分到 {sheets} 个工作表，并另存为 {file}"
    return f"The breakdown exceeds Excel's row limit: split across {sheets} sheets and also written to {file}"


def _write_all(
    ctx: ExportContext,
    staging: Path,
    fmt: str,
    encoding: str,
    cards: bool,
    summary: bool,
    split: bool,
    max_rows: int,
    progress: Progress,
) -> list[Path]:
    files: list[Path] = []
    adv: Callable[[str, int], None] = progress.advance
    if fmt == "xlsx":
        path = staging / WORKBOOK
        write_xlsx(ctx, path, max_rows=max_rows, notes=ctx.notes, advance=adv)
        files.append(path)
        if split:
            files.append(staging / "breakdown.parquet")
            write_parquet(ctx, "breakdown", files[-1], advance=adv)
    else:
        for name in TABLES:
            path = staging / f"{name}.{fmt}"
            if fmt == "csv":
                write_csv(ctx, name, path, encoding=encoding, advance=adv)
            else:
                write_parquet(ctx, name, path, advance=adv)
            files.append(path)
    for lang in LANGS:
        lctx = ExportContext(
            ctx.con, ctx.run, ctx.scheme, lang, ctx.appeals, list(ctx.notes), ctx.generated_at,
            ctx.min_responses,
        )
        if cards:
            files += write_cards(lctx, staging / "cards" / lang, advance=adv)
        if summary:
            files.append(write_summary(lctx, staging / f"leadership_summary.{lang}.html"))
            adv("summary", 1)
    register_lookups(ctx)  # the card contexts re-registered them in their language
    return files


def _write_failed(out: Path, exc: OSError) -> ExportError:
    """The XLSX writer's sheet rows go to the temporary folder first: a full disk there fails
    the export as well as one under `out`."""
    return ExportError(
        f"{out}: writing the export failed ({exc}); nothing was published. Free space in {out} "
        f"or in the temporary folder {tempfile.gettempdir()} (TMPDIR moves it), or choose "
        "another --out / 写入失败，未发布：请清理磁盘空间或换一个输出目录"
    )


def _move_into_place(staging: Path, out: Path, files: list[Path]) -> list[Path]:
    final = []
    for f in files:
        target = out / f.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, target)
        final.append(target)
    stale = out / MANIFEST
    if stale.exists():
        stale.unlink()
    return final
