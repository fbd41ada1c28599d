"""The year-end workbook: one sheet per exported table, formatted for people, streamed row by row.

xlsxwriter's constant-memory mode flushes each row as it is written, so a 2-million-row
breakdown costs one batch of memory. A table longer than Excel's limit continues on
`breakdown_2`, `breakdown_3`, … (the caller also writes it as Parquet and says so). Sheets are
named by table id (`summary`…) in English workbooks and by name (汇总…) in Chinese ones; codes
keep their columns (hidden when their names stand beside them) and print setup is A4 and legible
(evaluator.export.printing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from evaluator.export.headers import for_people, header, sheet_name
from evaluator.export.printing import A4, MARGIN_IN, page_setup
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
    "peer_median",
}
SHARE_COLUMNS = {
    "coverage",
    "weight",
    "declared_weight",
    "effective_weight",
    "local_weight",
    "top_box_share",
    "shrinkage",
    "p_top10",
    "p_bottom10",
    "grade_stability",
}
# Measured values of any magnitude (counts, rates, hours): two decimals, none for whole numbers.
VALUE_COLUMNS = {"raw_value", "transformed_value", "value", "effective_n"}
# Columns that say which row it is: repeated on every printed page across.
ID_COLUMNS = ("unit_id", "unit_name", "node_id", "indicator_id", "section_name", "rule")


def technical_columns(columns: list[str]) -> set[str]:
    """Codes whose names stand beside them (`grade` beside `grade_name`…): kept for programs and
    formulas, hidden (grouped, one click to show) so they never print."""
    cols = set(columns)
    tech = {c for c in columns if f"{c}_name" in cols}
    # indicator_id beside indicator_name…; the unit id stays: people quote it (0518)
    tech |= {c for c in columns if c.endswith("_id") and f"{c[:-3]}_name" in cols and c != "unit_id"}
    if "flag_names" in cols or "value_flag_names" in cols:
        tech.add("flags")
    if "reference_name" in cols:
        tech.add("name")
    if "scheme_warning" in cols:
        tech.add("scheme_warning")  # one sentence repeated on every row; the header carries it
    return tech


def write_xlsx(
    ctx: ExportContext,
    path: Path,
    *,
    max_rows: int = EXCEL_MAX_ROWS - 1,
    notes: list[str] | None = None,
    advance: Callable[[str, int], None] = lambda _label, _n: None,
    tables: Iterable[str] = TABLES,
) -> dict[str, int]:
    """Write `tables` (all of the office's by default) to `path`; returns data rows per table
    (`max_rows` excludes the header)."""
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
    for name in tables:
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
        "value": wb.add_format({"num_format": "#,##0.0#"}),
        "whole": wb.add_format({"num_format": "#,##0"}),  # conditional: whole-number values
        "small": wb.add_format({"num_format": "0.0###"}),  # conditional: rates below 1
        "add": wb.add_format,  # grade fills are made per scheme (see _grade_colours)
    }


def _column_format(col: str, dtype: pl.DataType, fmts: dict[str, Any]) -> Any:
    if col in SCORE_COLUMNS:
        return fmts["score"]
    if col in SHARE_COLUMNS:
        return fmts["share"]
    if col in VALUE_COLUMNS:
        return fmts["value"]
    if dtype.is_integer():
        return fmts["int"]
    return None


def _width(col: str, label: str, first: pl.DataFrame) -> float:
    """A readable width from the first batch; Chinese headers wrap onto up to three lines, so a
    long header does not widen a column of short numbers (CJK characters count double)."""
    head = len(label.encode("gbk", errors="replace")) if label else len(col)
    if label.isascii():  # an English id wraps only at spaces: keep it on one line
        head = 3 * min(len(label) + 1, 24)
    dtype = first.schema.get(col, pl.String)
    if dtype == pl.String:
        # display width: (UTF-8 bytes + characters) / 2 is 1 per ASCII and 2 per CJK character
        text = pl.col(col)
        value = (first.select(((text.str.len_bytes() + text.str.len_chars()) / 2).max()).item()
                 if first.height else 0)
        longest = max(min(int(value or 0), 40), -(-head // 3), 6)
    else:
        longest = max(6, -(-head // 3))
    return float(min(longest + 2, 42))


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
        batch = for_people(batch, ctx.lang)
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
        last_col = max(first.width - 1, 0)
        sheet.autofilter(0, 0, max(last, 0), last_col)
        sheet.print_area(0, 0, max(last, 0), last_col)
        if last >= 1:
            _whole_numbers(sheet, fmts, first, last)
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
    ws = wb.add_worksheet(sheet_name(name, ctx.lang, index + 1))
    tech = technical_columns(first.columns)
    widths: list[float] = []
    hidden: set[int] = set()
    for col_idx, (col, dtype) in enumerate(first.schema.items()):
        label = header(col, ctx.lang, name)
        width = _width(col, label, first)
        widths.append(width)
        options = {"hidden": True, "level": 1} if col in tech else {}
        if col in tech:
            hidden.add(col_idx)
        ws.set_column(col_idx, col_idx, width, _column_format(col, dtype, fmts), options)
        ws.write_string(0, col_idx, label, fmts["header"])
    ws.set_row(0, 45)  # three lines of header text
    ids = [i for i, c in enumerate(first.columns) if c in ID_COLUMNS and i not in hidden]
    ws.freeze_panes(1, (ids[-1] + 1) if ids and ids[-1] < 3 else 0)
    _page_setup(ws, ctx, name, widths, hidden, ids, banner)
    if banner and name in ("summary", "methodology"):
        # Notes go in a comment on the first header cell and the printed page header, never in
        # the data rows: the header row stays the first row for people and programs alike.
        note = "\n\n".join(banner)
        ws.write_comment(0, 0, note, {"x_scale": 4, "y_scale": 4, "visible": name == "summary"})
    return ws


def _page_setup(
    ws: Worksheet,
    ctx: ExportContext,
    name: str,
    widths: list[float],
    hidden: set[int],
    ids: list[int],
    banner: list[str],
) -> None:
    """A4, landscape when wide, legible scale, header row (and id columns) on every page."""
    setup = page_setup(widths, hidden, len([i for i in ids if i < 3]))
    ws.set_paper(A4)
    ws.set_margins(left=MARGIN_IN, right=MARGIN_IN, top=0.7, bottom=0.6)
    if setup.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    if setup.fit_width:
        ws.fit_to_pages(1, 0)
    else:
        ws.set_print_scale(setup.scale)
        ws.print_across()  # a page's right-hand columns come right after it, not 40 pages later
    ws.repeat_rows(0)
    if setup.repeat_columns:
        ws.repeat_columns(0, setup.repeat_columns - 1)
    title = f"{ctx.run.scheme_name(ctx.lang)} · {ctx.run.period} · {sheet_name(name, ctx.lang)}"
    note = ("\n" + banner[0][:120] + ("…" if len(banner[0]) > 120 else "")) if banner else ""
    ws.set_header(("&L&\"-,Bold\"" + (title + note).replace("&", "&&"))[:250])
    ws.set_footer("&L" + ctx.run.run_id + "&R&P / &N")


def _whole_numbers(ws: Worksheet, fmts: dict[str, Any], first: pl.DataFrame, last: int) -> None:
    """Measured values read as people write them: counts without decimals (66, not 66.00),
    rates below 1 with up to four (0.0123), the rest with one or two (68.7); the cell keeps the
    exact stored value."""
    for col_idx, col in enumerate(first.columns):
        if col in VALUE_COLUMNS:
            cell = xl_rowcol_to_cell(1, col_idx, row_abs=False, col_abs=True)
            for test, fmt in ((f"{cell}=INT({cell})", "whole"), (f"ABS({cell})<1", "small")):
                ws.conditional_format(1, col_idx, last, col_idx, {
                    "type": "formula",
                    "criteria": f"=AND(ISNUMBER({cell}),{test})",
                    "format": fmts[fmt],
                    "stop_if_true": True,
                })


def _grade_colours(
    ws: Worksheet, fmts: dict[str, Any], ctx: ExportContext, first: pl.DataFrame, last: int
) -> None:
    """Colour the grade people read (`grade_name`; the code where no name column exists) by the
    grade's place in the scheme (grades_palette: best green … worst red), as the dashboard and
    the HTML outputs do. The rule tests the stable code, so a scheme's own names work too."""
    if "grade" not in first.columns:
        return
    code_col = first.columns.index("grade")
    shown = first.columns.index("grade_name") if "grade_name" in first.columns else code_col
    code_cell = xl_rowcol_to_cell(1, code_col, row_abs=False, col_abs=True)
    codes = [g.code for g in ctx.scheme.grades] if ctx.scheme else ["excellent", "good", "fair", "poor"]
    for code, colour in grade_colours(codes, light=True).items():
        ws.conditional_format(
            1,
            shown,
            last,
            shown,
            {
                "type": "formula",
                "criteria": f'={code_cell}="{code}"',
                "format": fmts["add"]({"bg_color": colour}),
            },
        )
