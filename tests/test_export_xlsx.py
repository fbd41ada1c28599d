"""The XLSX data rows (built as sheet XML by polars, spliced into xlsxwriter's workbook) read
back as the tables they came from, and as xlsxwriter's own cell writer would have written them.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import polars as pl
import pytest
import xlsxwriter
from xlsxwriter.xmlwriter import XMLwriter

from evaluator.appeals import appeals_for_export
from evaluator.export import xlsx
from evaluator.export.headers import for_people, sheet_name
from evaluator.export.runinfo import resolve_run
from evaluator.export.tables import TABLES, ExportContext, frame
from evaluator.runs import stored_scheme

OPTIONS = {"constant_memory": True, "nan_inf_to_errors": True, "strings_to_formulas": False,
           "strings_to_urls": False, "strings_to_numbers": False,
           "default_date_format": "yyyy-mm-dd hh:mm:ss"}


def _sheet(path: Path, name: str = "t") -> list[list[Any]]:
    """Rows of a sheet as openpyxl reads them, trailing empty cells dropped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # openpyxl warns on anything it must repair
        wb = openpyxl.load_workbook(path, read_only=True)
    rows = []
    for row in wb[name].iter_rows(values_only=True):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        rows.append(cells)
    wb.close()
    return rows


def _expected(value: Any) -> Any:
    """What openpyxl reads back for a frame value: no cell for null and "", and the error
    formulas of NaN (#NUM!) and ±inf (#DIV/0!)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "=#NUM!" if math.isnan(value) else "=1/0" if value > 0 else "=-1/0"
    if isinstance(value, str):  # openpyxl keeps Excel's _xHHHH_ escapes of control characters
        return XMLwriter._escape_control_characters(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)  # a date cell reads as a datetime
    return value


def _trim(row: list[Any]) -> list[Any]:
    while row and row[-1] is None:
        row.pop()
    return row


TRICKY = pl.DataFrame(
    {
        "text": ["007", "a & b <c> \"d\"", " lead", "trail ", "tab\tin", "ctl\x01x\x1f",
                 "_x0041_ stays", "=1+1", "中文 名称", "", None, "line\nbreak"],
        "score": [0.1, 1 / 3, 1e-14, -2.84e-14, 1e20, float("nan"), float("inf"), float("-inf"),
                  66.0, None, 62.46153846153846, -0.0],
        "rank": [1, 2, None, 4, 5, 6, 7, 8, 9, 10, 11, 2**40],
        "firm": [True, False, None, True, True, True, True, True, True, True, True, False],
        "day": [date(2026, 12, 2)] * 11 + [None],
        "at": [datetime(2026, 12, 2, 13, 30, 15)] * 11 + [None],
    }
)


TRICKY = TRICKY.with_columns(plain=pl.format("unit {}", pl.int_range(pl.len())))


def _fast(df: pl.DataFrame, tmp: Path) -> Path:
    """`df` through the XLSX writer's own row path (header by xlsxwriter, rows by polars)."""
    wb = xlsxwriter.Workbook(str(tmp / "fast-book.xlsx"), OPTIONS)
    fmts = xlsx._formats(wb)
    ws = wb.add_worksheet("t")
    for i, (col, dtype) in enumerate(df.schema.items()):
        ws.set_column(i, i, 12, xlsx._column_format(col, dtype, fmts))
    ws.write_row(0, 0, df.columns)
    rows = xlsx._SheetRows(tmp)
    rows.start(ws, df.width)
    rows.add(ws, xlsx._rows_xml(df, 1, xlsx._cell_exprs(wb, df, df.schema, fmts)))
    rows.close()
    wb.close()
    xlsx._splice(tmp / "fast-book.xlsx", tmp / "fast.xlsx", wb, rows)
    return tmp / "fast.xlsx"


def _slow(df: pl.DataFrame, tmp: Path) -> Path:
    """`df` cell by cell through xlsxwriter's `write_row` (the writer before the polars path)."""
    wb = xlsxwriter.Workbook(str(tmp / "slow.xlsx"), OPTIONS)
    fmts = xlsx._formats(wb)
    ws = wb.add_worksheet("t")
    for i, (col, dtype) in enumerate(df.schema.items()):
        ws.set_column(i, i, 12, xlsx._column_format(col, dtype, fmts))
    ws.write_row(0, 0, df.columns)
    for r, values in enumerate(df.iter_rows(), start=1):
        ws.write_row(r, 0, values)
    wb.close()
    return tmp / "slow.xlsx"


@pytest.mark.parametrize("finite", [False, True], ids=["with-nan-inf", "finite-and-null"])
def test_rows_read_back_as_xlsxwriter_writes_them(tmp_path: Path, finite: bool) -> None:
    # a batch without NaN or ±inf takes the writer's shorter float path; its nulls stay empty
    df = TRICKY.filter(pl.col("score").is_finite() | pl.col("score").is_null()) if finite else TRICKY
    fast, slow = _sheet(_fast(df, tmp_path)), _sheet(_slow(df, tmp_path))
    assert len(fast) == len(slow) == df.height + 1
    for got, old in zip(fast, slow, strict=True):
        assert len(got) == len(old)
        for a, b in zip(got, old, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                assert a == pytest.approx(b, rel=1e-15)  # xlsxwriter keeps 16 digits
            else:
                assert a == b and type(a) is type(b), (a, b)
    # and exactly the frame's values (polars writes the shortest exact form)
    for got, want in zip(fast[1:], df.iter_rows(), strict=True):
        assert got == _trim([_expected(v) for v in want])
    if not finite:
        assert fast[1][0] == "007" and fast[6][0] == "ctl_x0001_x_x001F_" and fast[8][0] == "=1+1"


def test_number_formats_and_dimension(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(_fast(TRICKY, tmp_path))
    ws = wb["t"]
    assert ws.dimensions == f"A1:G{TRICKY.height + 1}"
    assert ws["B2"].number_format == "0.00" and ws["C2"].number_format == "0"
    assert ws["E2"].number_format == ws["F2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert ws["A2"].data_type == "s" and ws["B7"].data_type == "f"  # the #NUM! error formula


@pytest.fixture(scope="module")
def ctx(demo_build) -> ExportContext:  # type: ignore[no-untyped-def]
    """The shared demo run (conftest), read-only."""
    db = Path(demo_build.db)
    con = duckdb.connect(str(db), read_only=True)
    run = resolve_run(con, demo_build.run_ids["2026"], published_only=False)
    loaded = stored_scheme(run.scheme_yaml, run.run_id)
    return ExportContext(con, run, loaded.scheme if loaded else None, "en",
                         appeals=appeals_for_export(con, db, run.run_id))


def test_every_sheet_is_its_table(ctx: ExportContext, tmp_path: Path) -> None:
    book = tmp_path / "results.xlsx"
    counts = xlsx.write_xlsx(ctx, book)
    cells = 0
    for name in TABLES:
        want = for_people(frame(ctx, name), ctx.lang)
        rows = _sheet(book, sheet_name(name, ctx.lang))
        assert rows[0] == want.columns
        assert len(rows) - 1 == want.height == counts[name], name
        for got, row in zip(rows[1:], want.iter_rows(), strict=True):
            assert got == _trim([_expected(v) for v in row]), name
            cells += len(got)
    assert cells > 10_000


def test_continuation_sheets(ctx: ExportContext, tmp_path: Path) -> None:
    book = tmp_path / "results.xlsx"
    xlsx.write_xlsx(ctx, book, max_rows=700, tables=["breakdown"])
    want = frame(ctx, "breakdown")
    names = openpyxl.load_workbook(book, read_only=True).sheetnames
    assert len(names) == -(-want.height // 700) > 1
    rows = [r for n in names for r in _sheet(book, n)[1:]]
    assert rows == [_trim([_expected(v) for v in r]) for r in want.iter_rows()]
    wb = openpyxl.load_workbook(book)
    assert wb[names[1]].dimensions.endswith("701") and wb[names[1]].auto_filter.ref
    # each sheet's entry joins three deflate streams: every CRC and size holds, and the XML
    # ends where xlsxwriter ended it
    with zipfile.ZipFile(book) as z:
        assert z.testzip() is None
        for info in z.infolist():
            if info.filename.startswith("xl/worksheets/sheet"):
                xml = z.read(info)
                assert len(xml) == info.file_size and xml.rstrip().endswith(b"</worksheet>")


def test_every_float_column_has_a_number_format(ctx: ExportContext, tmp_path: Path) -> None:
    """funnels, value_added, sensitivity… showed raw floats (62.46154, -2.84E-14) before."""
    book = tmp_path / "results.xlsx"
    xlsx.write_xlsx(ctx, book)
    wb = openpyxl.load_workbook(book, read_only=True)
    checked = set()
    for name in TABLES:
        ws = wb[sheet_name(name, ctx.lang)]
        for row in ws.iter_rows(min_row=2, max_row=40):
            for cell in row:
                if isinstance(cell.value, float):
                    assert cell.number_format != "General", (name, cell.coordinate)
                    checked.add(name)
    assert {"summary", "breakdown", "funnels"} <= checked
