"""The year-end workbook: one sheet per exported table, formatted for people, streamed row by row.

xlsxwriter's constant-memory mode flushes each row as it is written, so a 2-million-row
breakdown costs one batch of memory. A table longer than Excel's limit continues on
`breakdown_2`, `breakdown_3`, … (the caller also writes it as Parquet and says so).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from evaluator.export.headers import header
from evaluator.export.tables import TABLES, ExportContext, batches, empty_frame, lint_warning
from evaluator.grades_palette import grade_colours

EXCEL_MAX_ROWS = 1_048_576  # rows per sheet, header included

SCORE_COLUMNS = {
    "score",
    "score_low",
    "score_high",
    "base_score",
    "bonus",
    "deduction",
    "score_declared",
    "contribution",
    "raw_index",
    "index_value",
    "ci_low",
    "ci_high",
    "se",
}
SHARE_COLUMNS = {
    "coverage",
    "weight",
    "declared_weight",
    "effective_weight",
    "local_weight",
    "top_box_share",
    "shrinkage",
}


def write_xlsx(
    ctx: ExportContext,
    path: Path,
    *,
    max_rows: int = EXCEL_MAX_ROWS - 1,
    notes: list[str] | None = None,
    advance: Callable[[str, int], None] = lambda _label, _n: None,
) -> dict[str, int]:
    """Write every table to `path`; returns data rows per table (`max_rows` excludes the header)."""
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "nan_inf_to_errors": True,
            "strings_to_formulas": False,  # a reason starting with '=' stays text
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd hh:mm:ss",
        },
    )
    wb.set_properties(
        {
            "title": f"{ctx.run.scheme_name(ctx.lang)} {ctx.run.period}",
            "subject": f"run {ctx.run.run_id}",
            "comments": f"scheme {ctx.run.scheme_hash}",
        }
    )
    fmts = _formats(wb)
    counts: dict[str, int] = {}
    banner = [lint_warning(ctx)] if ctx.run.lint_errors else []
    banner += notes or []
    for name in TABLES:
        counts[name] = _write_table(wb, fmts, ctx, name, max_rows, banner, advance)
    wb.close()
    return counts


def _formats(wb: Workbook) -> dict[str, Any]:
    return {
        "header": wb.add_format(
            {
                "bold": True,
                "bg_color": "#1F4E78",
                "font_color": "#FFFFFF",
                "text_wrap": True,
                "valign": "top",
                "border": 1,
            }
        ),
        "score": wb.add_format({"num_format": "0.00"}),
        "share": wb.add_format({"num_format": "0.00%"}),
        "int": wb.add_format({"num_format": "0"}),
        "add": wb.add_format,  # grade fills are made per scheme (see _grade_colours)
    }


def _column_format(col: str, dtype: pl.DataType, fmts: dict[str, Any]) -> Any:
    if col in SCORE_COLUMNS:
        return fmts["score"]
    if col in SHARE_COLUMNS:
        return fmts["share"]
    if dtype.is_integer():
        return fmts["int"]
    return None


def _width(col: str, label: str, first: pl.DataFrame) -> float:
    """A readable width from the header and the first batch (CJK characters count double)."""
    longest = len(label.encode("gbk", errors="replace")) if label else len(col)
    if col in first.columns and first.height and first.schema[col] == pl.String:
        value = first.select(pl.col(col).str.len_bytes().max()).item()
        longest = max(longest, min(int(value or 0), 60))
    elif first.schema.get(col, pl.String).is_numeric():
        longest = max(longest, 10)
    return float(min(max(longest + 2, 8), 62))


def _write_table(
    wb: Workbook,
    fmts: dict[str, Any],
    ctx: ExportContext,
    name: str,
    max_rows: int,
    banner: list[str],
    advance: Callable[[str, int], None],
) -> int:
    sheets: list[tuple[Worksheet, int]] = []
    first: pl.DataFrame | None = None
    written = 0
    ws: Worksheet | None = None
    row = 0
    for batch in batches(ctx, name):
        if first is None:
            first = batch
        offset = 0
        while offset < batch.height:
            if ws is None or row > max_rows:
                if ws is not None:
                    sheets.append((ws, row - 1))
                ws = _new_sheet(wb, fmts, ctx, name, len(sheets), first, banner)
                row = 1
            take = min(batch.height - offset, max_rows - row + 1)
            for values in batch.slice(offset, take).iter_rows():
                ws.write_row(row, 0, values)
                row += 1
            offset += take
            written += take
        advance(name, batch.height)
    if ws is None:  # an empty table still gets its sheet with headers
        first = empty_frame(ctx, name)
        ws = _new_sheet(wb, fmts, ctx, name, 0, first, banner)
        row = 1
    sheets.append((ws, row - 1))
    assert first is not None
    for sheet, last in sheets:
        sheet.autofilter(0, 0, max(last, 0), max(first.width - 1, 0))
        if name == "summary" and last >= 1:
            _grade_colours(sheet, fmts, ctx, first, last)
    return written


def _new_sheet(
    wb: Workbook,
    fmts: dict[str, Any],
    ctx: ExportContext,
    name: str,
    index: int,
    first: pl.DataFrame,
    banner: list[str],
) -> Worksheet:
    ws = wb.add_worksheet(name if index == 0 else f"{name}_{index + 1}")
    for col_idx, (col, dtype) in enumerate(first.schema.items()):
        label = header(col, ctx.lang, name)
        ws.set_column(col_idx, col_idx, _width(col, label, first), _column_format(col, dtype, fmts))
        ws.write_string(0, col_idx, label, fmts["header"])
    ws.set_row(0, 30 if ctx.lang == "zh" else 32)
    ws.freeze_panes(1, 1 if first.width > 1 else 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_footer("&L" + ctx.run.run_id + "&R&P / &N")
    if banner and name in ("summary", "methodology"):
        # Notes go in a comment on the first header cell and the printed page header, never in
        # the data rows: the header row stays the first row for people and programs alike.
        note = "\n\n".join(banner)
        ws.write_comment(0, 0, note, {"x_scale": 4, "y_scale": 4, "visible": name == "summary"})
        ws.set_header('&L&"-,Bold"' + note[:200].replace("&", "&&"))
    return ws


def _grade_colours(
    ws: Worksheet, fmts: dict[str, Any], ctx: ExportContext, first: pl.DataFrame, last: int
) -> None:
    """Colour the grade cells by their place in the scheme (grades_palette: best green … worst
    red, interpolated), as the dashboard and the HTML outputs do."""
    if "grade" not in first.columns:
        return
    col = first.columns.index("grade")
    codes = [g.code for g in ctx.scheme.grades] if ctx.scheme else ["excellent", "good", "fair", "poor"]
    for code, colour in grade_colours(codes, light=True).items():
        ws.conditional_format(
            1,
            col,
            last,
            col,
            {
                "type": "cell",
                "criteria": "==",
                "value": f'"{code}"',
                "format": fmts["add"]({"bg_color": colour}),
            },
        )
