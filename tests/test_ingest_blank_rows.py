"""Blank rows (a trailing newline, Excel's `,,,` rows, CRLF blank lines) are skipped and counted in
every format, and the remaining rows keep the row numbers of the original file.

tests/data/outcomes_{blank_line,comma_line,crlf_semicolon}.csv are the files an acceptance tester
found rejected whole with "empty value" on every column.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from helpers.ingest import DATA, fingerprint, ingest

OUT = "unit_id,period,measure,value\n"


def q(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    result = ingest(path, "units", DATA / "units_004.csv")
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("name, blank, stored", [
    ("outcomes_blank_line.csv", 1, [("004", "xb", 1.5, 2)]),
    ("outcomes_comma_line.csv", 1, [("004", "xb2", 1.5, 2)]),
    # CRLF, ';' separated, ' 004' padded, two blank CRLF lines at the end
    ("outcomes_crlf_semicolon.csv", 2, [("004", "xs", 1.5, 2), ("005", "xs", 2.0, 3)]),
])
def test_tester_files_load_and_say_how_many_blank_rows_were_skipped(
        db: Path, name: str, blank: int, stored: list[tuple]) -> None:
    result = ingest(db, "outcomes", DATA / name)
    assert result.exit_code == 0, result.output
    plural = "s" if blank > 1 else ""
    assert f"loaded {len(stored)} outcomes rows" in result.output
    assert f"skipped {blank} blank row{plural}" in result.output
    assert f"已跳过 {blank} 个空行" in result.output
    assert q(db, "SELECT unit_id, measure, value, source_row FROM outcomes "
                 "ORDER BY source_row") == stored
    assert q(db, "SELECT row_count, reason FROM load_batches WHERE kind = 'outcomes'") == [
        (len(stored), f"skipped {blank} blank row{plural}")]


def _write(fmt: str, frame: pl.DataFrame, path: Path) -> Path:
    """The same cells as CSV, XLSX or Parquet (None = empty cell)."""
    if fmt == "csv":
        frame.write_csv(path.with_suffix(".csv"))
    elif fmt == "parquet":
        frame.write_parquet(path.with_suffix(".parquet"))
    else:
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path.with_suffix(".xlsx")))
        ws = wb.add_worksheet()
        ws.write_row(0, 0, frame.columns)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, cell in enumerate(row):
                if cell is not None:
                    ws.write_string(r, c, cell)
        ws.write_blank(frame.height + 1, 0, None, wb.add_format({"bold": True}))  # formatted, empty
        wb.close()
    return path.with_suffix("." + fmt)


# a blank row in the middle, a whitespace-only row, a blank row at the end
CELLS = pl.DataFrame({
    "unit_id": ["004", None, "005", "  ", None],
    "period": ["2026", None, "2026", " ", None],
    "measure": ["a", None, "a", None, None],
    "value": ["1", None, "2", "\t", None],
})


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_every_format_skips_the_same_blank_rows_and_keeps_row_numbers(
        db: Path, tmp_path: Path, fmt: str) -> None:
    result = ingest(db, "outcomes", _write(fmt, CELLS, tmp_path / "o"))
    assert result.exit_code == 0, result.output
    # an XLSX has no cells for trailing empty rows (formatted or not): they are not rows at all
    skipped = {"csv": 3, "parquet": 3, "xlsx": 2}[fmt]
    assert f"skipped {skipped} blank rows" in result.output, result.output
    assert q(db, "SELECT unit_id, value, source_row FROM outcomes ORDER BY source_row") == [
        ("004", 1.0, 2), ("005", 2.0, 4)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_bad_row_after_blank_rows_is_named_by_its_row_in_the_file(
        db: Path, tmp_path: Path, fmt: str) -> None:
    bad = CELLS.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("12 分"))
                             .otherwise(pl.col("value")).alias("value"))
    before = fingerprint(db)
    result = ingest(db, "outcomes", _write(fmt, bad, tmp_path / "o"))
    assert result.exit_code == 1, result.output
    assert "row 4, column value: not a number" in result.output
    assert "empty value" not in result.output  # the blank rows are not problems
    assert fingerprint(db) == before


def test_only_blank_rows_after_the_header_is_no_data_rows(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_bytes(b"unit_id;period;measure;value\r\n\r\n;;;\r\n  ; \t; ;\r\n")
    before = fingerprint(db)
    result = ingest(db, "outcomes", path)
    assert result.exit_code == 1, result.output
    assert "no data rows (skipped 3 blank rows)" in result.output
    assert "empty value" not in result.output
    assert fingerprint(db) == before
    assert q(db, "SELECT status FROM load_batches ORDER BY batch_id DESC LIMIT 1") == [
        ("rejected",)]


def test_blank_rows_in_a_file_read_in_several_batches(
        db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALUATOR_INGEST_CHUNK_ROWS", "3")
    lines = [f"00{4 + i % 2},2026,m{i},{i}" if i % 3 else ",,," for i in range(12)]
    path = tmp_path / "o.csv"
    path.write_text(OUT + "\n".join(lines) + "\n")
    result = ingest(db, "outcomes", path)
    assert result.exit_code == 0, result.output
    assert "loaded 8 outcomes rows" in result.output and "skipped 4 blank rows" in result.output
    assert q(db, "SELECT list(source_row ORDER BY source_row) FROM outcomes") == [
        ([i + 2 for i in range(12) if i % 3],)]


def test_a_row_with_a_value_only_in_an_ignored_column_is_not_blank(
        db: Path, tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("unit_id,period,measure,value,remark\n004,2026,a,1,\n,,,,see row 2\n")
    result = ingest(db, "outcomes", path)
    assert result.exit_code == 1, result.output
    assert "row 3, column unit_id: empty value" in result.output
