"""Open CSV/Parquet/XLSX files as batches of all-text polars frames, whatever their encoding.

Everything is read as text so that identifiers stay verbatim ("0101" keeps its zero, an XLSX
number cell 12 reads "12") and so that validation, not the reader, decides what a bad value is.
CSV is decoded in Python (DuckDB's encodings extension cannot be downloaded here): UTF-8, UTF-8
with BOM, or GB18030, which is transcoded to a temporary UTF-8 file in one streaming pass. Large
CSV and Parquet files are read in batches so a 10-million-row file is never held whole.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from evaluator.ingest.errors import IngestError, IngestRejected, RowProblem

ROW = "_row"  # spreadsheet row number of each data row (the header is row 1)
BLANK = "_blank"  # True for a row whose every cell is empty or whitespace: skipped, counted
CSV_EXT = {".csv", ".txt", ".tsv"}
XLSX_EXT = {".xlsx", ".xlsm", ".xls", ".ods"}
PARQUET_EXT = {".parquet", ".pq"}
_CHUNK = 1 << 20


@dataclass
class Source:
    """An opened input file: its header, how to iterate it, and what we learnt reading it."""

    path: Path
    headers: list[str]
    encoding: str
    est_rows: int
    _frame: pl.LazyFrame
    _diagnose: Callable[[], pl.DataFrame] | None = None  # rows at fault when the reader fails

    def batches(self, rename: dict[str, str], rows: int) -> Iterator[pl.DataFrame]:
        """Mapped columns only, plus `_row` and `_blank` (every cell of the row, mapped or not,
        empty or whitespace), in batches of about `rows` rows."""
        blank = (pl.all_horizontal(pl.col(h).is_null() | (pl.col(h).str.strip_chars() == "")
                                   for h in self.headers) if self.headers else pl.lit(False))
        lf = self._frame.select([pl.col(ROW), *[pl.col(h).alias(t) for h, t in rename.items()],
                                 blank.alias(BLANK)])
        try:
            yield from lf.collect_batches(chunk_size=rows)
        except pl.exceptions.PolarsError as exc:
            found = self._rows_at_fault()
            if found is not None and found.height:
                raise BadRows(found) from None
            raise IngestError(
                f"{self.path}: cannot be read as a table: {_first_line(exc)}") from None

    def _rows_at_fault(self) -> pl.DataFrame | None:
        if self._diagnose is None:
            return None
        try:
            return self._diagnose()
        except pl.exceptions.PolarsError:  # the diagnosis is best effort; the caller explains
            return None


class BadRows(Exception):
    """The reader stopped on rows it cannot split (row, column, value, reason frame)."""

    def __init__(self, problems: pl.DataFrame):
        super().__init__(f"{problems.height} row(s) cannot be read")
        self.problems = problems


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_source(path: Path, workdir: Path, sheet: str | None = None) -> Source:
    """Open by extension; raise IngestError when unreadable, IngestRejected when undecodable.
    `sheet` names the spreadsheet sheet to read (default: the first)."""
    ext = path.suffix.lower()
    if ext in CSV_EXT:
        return _open_csv(path, workdir)
    if ext in PARQUET_EXT:
        return _open_parquet(path)
    if ext in XLSX_EXT:
        return _open_excel(path, sheet)
    raise IngestError(
        f"{path}: unknown file type {ext or '(none)'!r}; use .csv, .parquet or .xlsx "
        "/ 不支持的文件类型"
    )


# --------------------------------------------------------------------------- CSV


class _Undecodable(Exception):
    def __init__(self, offset: int):
        self.offset = offset


def _scan_text(path: Path, encoding: str, out: io.TextIOBase | None = None) -> int:
    """Decode the whole file strictly in 1 MiB steps (optionally writing UTF-8); count newlines."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines, offset = 0, 0
    with path.open("rb") as fh:
        while True:
            data = fh.read(_CHUNK)
            try:
                text = decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                raise _Undecodable(offset + max(exc.start, 0)) from None
            if out is not None and text:
                out.write(text)
            newlines += data.count(b"\n")
            offset += len(data)
            if not data:
                return newlines


def _undecodable_problem(path: Path, offset: int, sep: str) -> RowProblem:
    """Row (line) and column of the first byte that is neither UTF-8 nor GB18030."""
    with path.open("rb") as fh:
        prefix = fh.read(offset)
        line_no = prefix.count(b"\n") + 1
        fh.seek(0)
        header_bytes = fh.readline()
        start = prefix.rfind(b"\n") + 1
        fh.seek(start)
        line = fh.readline()
    header = next(csv.reader([header_bytes.decode("utf-8-sig", errors="replace").strip("\r\n")],
                             delimiter=sep), [])
    fields = next(csv.reader([line.decode("utf-8", errors="replace").strip("\r\n")],
                             delimiter=sep), [])
    bad = next((i for i, f in enumerate(fields) if "\ufffd" in f), None)
    column = header[bad] if bad is not None and bad < len(header) else "?"
    return RowProblem(
        line_no, column,
        "text is neither UTF-8 nor GB18030 (undecodable bytes); save the file as "
        "'CSV UTF-8' or GB18030 / 文本编码无法识别，请另存为 UTF-8 或 GB18030 编码的 CSV",
    )


def _sniff_separator(path: Path, encoding: str) -> str:
    with path.open("rb") as fh:
        first = fh.readline(1 << 16).decode(encoding, errors="replace")
    counts = {sep: first.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _open_csv(path: Path, workdir: Path) -> Source:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise IngestRejected(path, [RowProblem(
            1, "?", "file is UTF-16 (Excel 'Unicode text'); save it as 'CSV UTF-8' "
            "/ 请另存为 UTF-8 编码的 CSV")])
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    sep = _sniff_separator(path, encoding)
    target = path
    try:
        newlines = _scan_text(path, encoding)
    except _Undecodable as bad:
        with path.open("rb") as fh:
            prefix = fh.read(bad.offset)
        if not prefix.isascii():  # clearly UTF-8 text with a bad byte: not a GB18030 file
            raise IngestRejected(path, [_undecodable_problem(path, bad.offset, sep)]) from None
        target = workdir / (path.stem + ".utf8.csv")
        try:
            with target.open("w", encoding="utf-8", newline="") as out:
                newlines = _scan_text(path, "gb18030", out)
        except _Undecodable:
            raise IngestRejected(path, [_undecodable_problem(path, bad.offset, sep)]) from None
        encoding, sep = "gb18030", _sniff_separator(target, "utf-8")
    try:
        lf = pl.scan_csv(target, separator=sep, infer_schema=False, has_header=True,
                         raise_if_empty=False, truncate_ragged_lines=False)
        headers = lf.collect_schema().names()
    except pl.exceptions.PolarsError as exc:
        raise IngestError(f"{path}: not a readable CSV file: {_first_line(exc)}") from None
    if not headers:
        raise IngestError(f"{path}: the file is empty (no header row) / 文件为空")
    lf = lf.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Source(path, headers, encoding, max(newlines - 1, 0), lf,
                  lambda: _ragged_lines(target, sep, len(headers)))


def _ragged_lines(target: Path, sep: str, width: int) -> pl.DataFrame:
    """Lines with more fields than the header, which polars refuses without saying where.

    Each line is read whole; quoted values (`"a,b"`, `"say ""hi"" "`) are removed before the
    separators are counted. A line with an odd number of quotes is part of a value spanning
    lines and is not judged.
    """
    lines = pl.scan_csv(target, has_header=False, separator="\x1f", quote_char=None,
                        infer_schema=False, new_columns=["line"], truncate_ragged_lines=True,
                        raise_if_empty=False)
    fields = (pl.col("line").str.replace_all(r'"[^"]*"', "")
              .str.count_matches(sep, literal=True) + 1)
    shown = {"\t": "tab"}.get(sep, sep)
    return (
        lines.with_row_index("row", offset=1)
        .filter((pl.col("row") > 1) & (pl.col("line").str.count_matches('"', literal=True) % 2 == 0))
        .select(pl.col("row").cast(pl.Int64), fields.alias("n"))
        .filter(pl.col("n") > width)
        .select(
            "row",
            pl.lit("(all)").alias("column"),
            pl.lit(None, dtype=pl.String).alias("value"),
            pl.format(
                f"line {{}} of the file has {{}} fields but the header has {width} columns: "
                f"delete the extra '{shown}' separators, or put double quotes around a value "
                f"that contains one / 该行有 {{}} 个字段，多于表头的 {width} 列：请删除多余的"
                f"分隔符，或给含分隔符的值加双引号",
                pl.col("row"), pl.col("n"), pl.col("n"),
            ).alias("reason"),
        )
        .collect()
    )


# --------------------------------------------------------------------------- Parquet


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    """Text form of a typed column; integral floats lose their '.0' so ids read as written."""
    col = pl.col(name)
    if dtype.is_float():
        integral = col.is_finite() & (col.abs() < 2**53) & (col == col.floor())
        return (pl.when(integral).then(col.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(col.cast(pl.String)).alias(name))
    if dtype == pl.String:
        return col
    return col.cast(pl.String, strict=False).alias(name)


def _open_parquet(path: Path) -> Source:
    try:
        lf = pl.scan_parquet(path)
        schema = lf.collect_schema()
        rows = lf.select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise IngestError(f"{path}: not a readable Parquet file: {_first_line(exc)}") from None
    lf = lf.select([_as_text(n, t) for n, t in schema.items()])
    lf = lf.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Source(path, list(schema.names()), "parquet", int(rows), lf)


# --------------------------------------------------------------------------- XLSX


def _open_excel(path: Path, sheet: str | None = None) -> Source:
    """First sheet (or the one named `sheet`), header in its first row; cells read as the text
    a spreadsheet shows."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error types for corrupt files
        raise IngestError(f"{path}: not a readable spreadsheet: {_first_line(exc)}") from None
    if sheet is not None and sheet not in reader.sheet_names:
        raise IngestError(
            f"{path}: no sheet named {sheet!r} (sheets: {', '.join(reader.sheet_names)}); is this "
            "a collection form made by `evaluator forms`? / 文件中没有名为 form 的工作表")
    try:
        df = reader.load_sheet(0 if sheet is None else sheet, dtypes="string").to_polars()
    except Exception as exc:  # fastexcel raises its own error types for corrupt files
        raise IngestError(f"{path}: not a readable spreadsheet: {_first_line(exc)}") from None
    df = df.with_columns(pl.col(c).cast(pl.String) for c in df.columns)
    df = df.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Source(path, [c for c in df.columns if c != ROW], "xlsx", df.height, df.lazy())
