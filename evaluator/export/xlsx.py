"""The year-end workbook: one sheet per exported table, formatted for people, written per batch.

xlsxwriter writes each sheet's header row and every sheet- and workbook-level feature (styles,
print setup, filters, frozen panes, conditional formats); the data rows are built as sheet XML by
polars string expressions, one batch at a time (no Python loop per row or cell: a cell through
xlsxwriter's `write_row` cost ~5 µs, 25 M cells at province size), deflated as they are built,
and spliced into each sheet's `<sheetData>` when the zip is rewritten. A 2-million-row breakdown
costs one batch of memory. A table longer than Excel's limit continues on `breakdown_2`,
`breakdown_3`, … (the caller also writes it as Parquet and says so). Sheets are named by table
id (`summary`…) in English workbooks and by name (汇总…) in Chinese ones; codes keep their
columns (hidden when their names stand beside them) and print setup is A4 and legible
(evaluator.export.printing).
"""

from __future__ import annotations

import io
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import polars as pl
import xlsxwriter
from isal import isal_zlib
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
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
    "observed",  # value_added: the score, the score expected of its peers, and the gap
    "expected",
    "value_added",
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
# Ranks that can be fractional (medians over replicates) read the same way: 12, 12.5.
VALUE_COLUMNS = {
    "raw_value",
    "transformed_value",
    "value",
    "effective_n",
    "sample_size",  # funnels: the unit's n, and its limits at that n
    "centre",
    "lo95",
    "hi95",
    "lo998",
    "hi998",
    "tau2",
    "rank_median",  # sensitivity
    "mc_rank_median",
    "mc_rank_p05",
    "mc_rank_p95",
    "mean_abs_rank_change",
    "max_abs_rank_change",
}
# Test statistics (funnel z, overdispersion) with two decimals; fit and rank correlations with three.
STAT_COLUMNS = {"z", "z_adjusted", "phi"}
COEFFICIENT_COLUMNS = {"r2", "spearman"}
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
    with tempfile.TemporaryDirectory(prefix="evaluator-xlsx-") as tmp:
        book = Path(tmp) / "book.xlsx"
        wb = xlsxwriter.Workbook(
            str(book),
            {
                "constant_memory": True,
                "tmpdir": tmp,
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
        rows = _SheetRows(Path(tmp))
        try:
            for name in tables:
                counts[name] = _write_table(wb, fmts, ctx, name, max_rows, banner, advance, rows)
        finally:
            rows.close()
        wb.close()
        _splice(book, path, wb, rows)
    return counts


@dataclass
class _Fragment:
    """One sheet's data rows, deflated as they are built: `crc` and `size` are those of the
    uncompressed XML, `last` the last row (1-based) and column."""

    path: Path
    last: tuple[int, int]
    crc: int = 0
    size: int = 0


class _SheetRows:
    """The data-row XML of each sheet, deflated batch by batch into one fragment file per sheet
    (a raw deflate stream ending on a byte boundary, not final) until the zip is rewritten. The
    XML itself (2.6 GB at province size) never reaches the disk, only its deflated bytes: the
    disk, not the CPU, was the slow part of the export. A batch is deflated and written on a
    second thread while polars builds the next one (ISA-L and the file write release the GIL);
    at most two batches of XML are in memory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.fragments: dict[Worksheet, _Fragment] = {}
        self._open: IO[bytes] | None = None
        self._deflate: Any = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlsx-deflate")
        self._pending: Future[None] | None = None

    def start(self, ws: Worksheet, columns: int) -> None:
        self._finish()
        path = self.tmp / f"rows-{len(self.fragments) + 1}.deflate"
        self.fragments[ws] = _Fragment(path, (1, columns - 1))
        self._open = path.open("wb")
        self._deflate = _deflater()

    def add(self, ws: Worksheet, xml: pl.DataFrame) -> None:
        """Append the `<row>` elements of `xml` (one column, one row element per frame row):
        written by polars itself, unquoted and without line breaks."""
        assert self._open is not None
        buffer = io.BytesIO()
        xml.write_csv(buffer, include_header=False, quote_style="never", line_terminator="")
        frag = self.fragments[ws]
        frag.last = (frag.last[0] + xml.height, frag.last[1])
        self._wait()
        self._pending = self._writer.submit(self._write, frag, self._open, self._deflate, buffer)

    @staticmethod
    def _write(frag: _Fragment, out: IO[bytes], deflate: Any, buffer: io.BytesIO) -> None:
        data = buffer.getbuffer()
        frag.crc = zlib.crc32(data, frag.crc)
        frag.size += len(data)
        out.write(deflate.compress(data))

    def _wait(self) -> None:
        """The previous batch written (its error, such as a full disk, raised here)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def _finish(self) -> None:
        """The open sheet's fragment completed and closed."""
        if self._open is not None:
            try:
                self._wait()
                self._open.write(self._deflate.flush(isal_zlib.Z_FULL_FLUSH))
            finally:
                self._open.close()
                self._open = None

    def close(self) -> None:
        try:
            self._finish()
        finally:
            self._writer.shutdown()


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
        "coefficient": wb.add_format({"num_format": "0.000"}),
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
    if col in STAT_COLUMNS:
        return fmts["score"]
    if col in COEFFICIENT_COLUMNS:
        return fmts["coefficient"]
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
    out: _SheetRows,
) -> int:
    """Sheets (and continuation sheets) of one table: xlsxwriter writes each header row and the
    sheet features; the data rows go to a fragment file per sheet as XML built by polars
    (`_rows_xml`), spliced in by `_splice` once the workbook is closed."""
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
                out.start(ws, first.width)
                row = 1
            take = min(batch.height - offset, max_rows - row + 1)
            part = batch.slice(offset, take)
            out.add(ws, _rows_xml(part, row, _cell_exprs(wb, part, first.schema, fmts)))
            row += take
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
    # the data rows come from _rows_xml; sheet features that need the last row are set after them
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


# ------------------------------------------------------------------ data rows as sheet XML

_ROW = "\x00row"  # the Excel row number of each data row, as text
_CONTROL = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20))]
# What xlsxwriter escapes in an inline string: XML's &<> and the characters XML 1.0 forbids
# (as _xHHHH_, the escape Excel reads back; a literal _xHHHH_ gets its underscore escaped first).
_ESCAPE_FROM = ["&", "<", ">", *_CONTROL, "\ufffe", "\uffff"]
_ESCAPE_TO = ["&amp;", "&lt;", "&gt;", *(f"_x{ord(c):04X}_" for c in _CONTROL), "_xFFFE_", "_xFFFF_"]
# Anything in a text that _cell must escape or mark as preserved whitespace.
_SPECIAL = r"_x|[&<>\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]|^\s|\s$"
_STRING_MAX = 32_767  # characters in a cell (xlsxwriter truncates longer strings too)
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
ZIP_LEVEL = 1  # deflate level: zlib's default 6 is 3x slower for files ~25 % smaller


def _cell_exprs(
    wb: Workbook, batch: pl.DataFrame, first: pl.Schema, fmts: dict[str, Any]
) -> list[pl.Expr]:
    """One expression per column giving each row's `<c>` element (null when the cell is empty:
    a null or an empty string), as xlsxwriter's constant-memory writer spells it: the column's
    number format as the cell style, text as an inline string, NaN as #NUM! and ±inf as #DIV/0!.
    Text columns are escaped, and float columns get error cells, only in the batches that have
    something to escape or a NaN or ±inf (one scan)."""
    schema = batch.schema
    texts = [c for c, t in schema.items() if t in (pl.String, pl.Categorical) or t == pl.Enum]
    floats = [c for c, t in schema.items() if t.is_float()]
    special = batch.select(
        *(pl.col(c).cast(pl.String).str.contains(_SPECIAL).any().alias(c) for c in texts),
        *((~pl.col(c).is_finite()).any().alias(c) for c in floats),  # NaN or ±inf
    ).row(0, named=True) if (texts or floats) and batch.height else {}
    exprs = []
    for idx, (col, dtype) in enumerate(schema.items()):
        fmt = _column_format(col, first.get(col, dtype), fmts)
        if dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime):
            fmt = wb.default_date_format  # what xlsxwriter's write_datetime does
        style = f' s="{fmt._get_xf_index()}"' if fmt is not None else ""
        head = [pl.lit(f'<c r="{xl_col_to_name(idx)}'), pl.col(_ROW), pl.lit(f'"{style}')]
        exprs.append(_cell(pl.col(col), dtype, head, special.get(col, True)).alias(f"\x00{idx}"))
    return exprs


def _cell(value: pl.Expr, dtype: pl.DataType, head: list[pl.Expr], special: bool) -> pl.Expr:
    def tag(*parts: pl.Expr | str) -> pl.Expr:
        return pl.concat_str([*head, *(pl.lit(p) if isinstance(p, str) else p for p in parts)])

    if dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum:
        text = value.cast(pl.String).str.slice(0, _STRING_MAX)
        if not special:  # nothing to escape in this batch, no edge whitespace
            return pl.when(text != "").then(tag(' t="inlineStr"><is><t>', text, "</t></is></c>"))
        escaped = text.str.replace_all(r"(_x[0-9a-fA-F]{4}_)", "_x005F${1}").str.replace_many(
            _ESCAPE_FROM, _ESCAPE_TO
        )
        space = pl.when(escaped.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"'))
        cell = tag(' t="inlineStr"><is><t', space.otherwise(pl.lit("")), ">", escaped, "</t></is></c>")
        return pl.when(text != "").then(cell)
    if dtype == pl.Boolean:
        return tag(' t="b"><v>', value.cast(pl.UInt8).cast(pl.String), "</v></c>")
    if dtype.is_integer():
        return tag("><v>", value.cast(pl.String), "</v></c>")
    if dtype.is_numeric():  # floats and decimals
        number = value.cast(pl.Float64)
        # polars prints the shortest exact form (xlsxwriter: 16 significant digits); a whole
        # number without its ".0", as xlsxwriter writes it, so readers see 66, not 66.0
        text = number.cast(pl.String).str.strip_suffix(".0")
        if not special:  # no NaN or ±inf in this batch: a null stays null through the concat
            return tag("><v>", text, "</v></c>")
        # NaN and ±inf as the error formulas xlsxwriter's nan_inf_to_errors writes
        return (
            pl.when(number.is_finite()).then(tag("><v>", text, "</v></c>"))
            .when(number.is_nan()).then(tag(' t="e"><f>#NUM!</f><v>#NUM!</v></c>'))
            .when(number > 0).then(tag(' t="e"><f>1/0</f><v>#DIV/0!</v></c>'))
            .when(number < 0).then(tag(' t="e"><f>-1/0</f><v>#DIV/0!</v></c>'))
        )
    if dtype == pl.Date:
        return tag("><v>", (value.dt.epoch("d") + 25569).cast(pl.String), "</v></c>")
    if isinstance(dtype, pl.Datetime):
        naive = value.dt.replace_time_zone(None) if dtype.time_zone else value
        serial = naive.dt.epoch("us").cast(pl.Float64) / 86_400_000_000 + 25569
        return tag("><v>", serial.cast(pl.String), "</v></c>")
    raise TypeError(f"XLSX export: no cell type for column dtype {dtype}")


def _rows_xml(batch: pl.DataFrame, first_row: int, cells: list[pl.Expr]) -> pl.DataFrame:
    """The `<row>` element of each row of `batch`, the first at 0-based sheet row `first_row`."""
    number = (pl.int_range(pl.len(), dtype=pl.Int64) + (first_row + 1)).cast(pl.String)
    rows = batch.with_columns(number.alias(_ROW)).select(
        pl.concat_str(
            [pl.lit('<row r="'), pl.col(_ROW), pl.lit('">'), *cells, pl.lit("</row>")],
            ignore_nulls=True,  # an empty cell is left out, as xlsxwriter does
        ).alias("xml")
    )
    return rows


def _splice(book: Path, path: Path, wb: Workbook, rows: _SheetRows) -> None:
    """Copy xlsxwriter's workbook to `path`, each sheet's data rows inserted before its
    `</sheetData>` and its `<dimension ref>` widened to them."""
    sheets = {f"xl/worksheets/sheet{i + 1}.xml": ws for i, ws in enumerate(wb.worksheets())}
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(
        path, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
    ) as dest:
        for info in src.infolist():
            data = src.read(info)
            ws = sheets.get(info.filename)
            frag = rows.fragments.get(ws) if ws is not None else None
            if frag is None:
                dest.writestr(info, data, compresslevel=ZIP_LEVEL)
                continue
            head, tail = data.split(b"</sheetData>", 1)
            last_row, last_col = frag.last
            ref = f'<dimension ref="A1:{xl_col_to_name(last_col)}{last_row}"/>'.encode()
            head = _DIMENSION.sub(ref, head, count=1)
            _write_around(dest, zipfile.ZipInfo(info.filename, info.date_time), head, frag,
                          b"</sheetData>" + tail)


def _deflater() -> Any:
    """A raw deflate stream (ISA-L: 5x zlib's speed at level 1, and smaller)."""
    return isal_zlib.compressobj(ZIP_LEVEL, isal_zlib.DEFLATED, -15)


class _Deflated:
    """zipfile's compressor for bytes that are deflated already."""

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def _write_around(dest: zipfile.ZipFile, entry: zipfile.ZipInfo, head: bytes, frag: _Fragment,
                  tail: bytes) -> None:
    """Write the entry head + fragment + tail: head and tail are deflated on their own and the
    three raw streams joined (only the tail's is final), their CRCs combined. zipfile has no
    public way to write deflated bytes, so its writer gets a pass-through compressor and is
    told the CRC and size of what the bytes inflate to."""
    first = _deflater()
    start = first.compress(head) + first.flush(isal_zlib.Z_FULL_FLUSH)
    last = _deflater()
    end = last.compress(tail) + last.flush(isal_zlib.Z_FINISH)
    crc = isal_zlib.crc32_combine(zlib.crc32(head), frag.crc, frag.size)
    crc = isal_zlib.crc32_combine(crc, zlib.crc32(tail), len(tail))
    entry.compress_type = zipfile.ZIP_DEFLATED
    with dest.open(entry, "w", force_zip64=True) as out, frag.path.open("rb") as part:
        out._compressor = _Deflated()  # type: ignore[attr-defined]
        out.write(start)
        shutil.copyfileobj(part, out, 1 << 20)
        out.write(end)
        out._crc = crc  # type: ignore[attr-defined]
        out._file_size = len(head) + frag.size + len(tail)  # type: ignore[attr-defined]
