"""Open CSV/Parquet/XLSX files as batches of all-text polars frames, whatever their encoding.

Everything is read as text so that identifiers stay verbatim ("0101" keeps its zero, an XLSX
number cell 12 reads "12") and so that validation, not the reader, decides what a bad value is.
CSV is decoded in Python (DuckDB's encodings extension cannot be downloaded here), strictly, by the
rule of `evaluator.ingest.encoding` (UTF-8 with or without BOM; GB18030 only when unambiguous;
otherwise refused with the candidates, or as given with `--encoding`); anything but UTF-8 is
transcoded to a temporary UTF-8 file in one streaming pass. Large
CSV and Parquet files are read in batches so a 10-million-row file is never held whole.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from evaluator.ingest.encoding import Undecodable, detect
from evaluator.ingest.errors import IngestError, IngestRejected, RowProblem

ROW = "__row__"  # spreadsheet row number of each data row (the header is row 1)
BLANK = "__blank__"  # True for a row whose every cell is empty or whitespace: skipped, counted
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
    exact_rows: bool = False  # est_rows is the file's own count (Parquet metadata, XLSX)
    notes: list[str] = field(default_factory=list)  # what reading changed (evaluator.ingest.wide)

    def batches(self, rename: dict[str, str], rows: int) -> Iterator[pl.DataFrame]:
        """Mapped columns only, trimmed (Unicode whitespace) with empty as null, plus `_row` and
        `_blank` (every cell of the row, mapped or not, empty or whitespace), in batches of
        about `rows` rows. Each cell is trimmed once: the blank test reads the trimmed cells."""
        lf = self._frame.select(pl.col(ROW), *[_trimmed(h) for h in self.headers])
        blank = (pl.all_horizontal(pl.col(h).is_null() for h in self.headers) if self.headers
                 else pl.lit(False))
        lf = lf.select([pl.col(ROW), *[pl.col(h).alias(t) for h, t in rename.items()],
                        blank.alias(BLANK)])
        read = 0
        try:
            for batch in lf.collect_batches(chunk_size=rows):
                read += batch.height
                yield batch
        except BaseException as exc:
            if not unreadable(exc):
                raise
            found = self._rows_at_fault()
            if found is not None and found.height:
                raise BadRows(found) from None
            raise IngestError(
                f"{self.path}: cannot be read as a table: {_first_line(exc)}") from None
        if self.exact_rows and read != self.est_rows:
            # a reader that fails in a worker thread may end early without an error
            raise IngestError(
                f"{self.path}: the file is damaged: it declares {self.est_rows} rows but only "
                f"{read} could be read; export it again / 文件已损坏，声明 {self.est_rows} 行，"
                f"只能读出 {read} 行")

    def _rows_at_fault(self) -> pl.DataFrame | None:
        if self._diagnose is None:
            return None
        try:
            return self._diagnose()
        except BaseException as exc:  # the diagnosis is best effort; the caller explains
            if not unreadable(exc):
                raise
            return None


def _trimmed(col: str) -> pl.Expr:
    stripped = pl.col(col).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped).alias(col)


class BadRows(Exception):
    """The reader stopped on rows it cannot split (row, column, value, reason frame)."""

    def __init__(self, problems: pl.DataFrame):
        super().__init__(f"{problems.height} row(s) cannot be read")
        self.problems = problems


def unreadable(exc: BaseException) -> bool:
    """Whether a reader failed on the file (not a bug of ours, not Ctrl+C): a polars or OS
    error, or a panic of a Rust reader (polars, fastexcel) on a corrupt file, which pyo3 raises
    as `PanicException`, a BaseException each extension module defines for itself."""
    return isinstance(exc, pl.exceptions.PolarsError | OSError) or \
        type(exc).__name__ == "PanicException"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_source(path: Path, workdir: Path, encoding: str | None = None,
                sheet: str | None = None) -> Source:
    """Open by extension; raise IngestError when unreadable, IngestRejected when undecodable.
    `encoding` (CSV only) overrides the strict detection of `evaluator.ingest.encoding`; `sheet`
    names the spreadsheet sheet to read (default: the first)."""
    ext = path.suffix.lower()
    if encoding and ext not in CSV_EXT:
        raise IngestError(f"{path}: --encoding applies to CSV files only; {ext} files carry "
                          "their own encoding / --encoding 仅适用于 CSV 文件")
    if ext in CSV_EXT:
        return _open_csv(path, workdir, encoding)
    if ext in PARQUET_EXT:
        return _open_parquet(path)
    if ext in XLSX_EXT:
        return _open_excel(path, sheet)
    raise IngestError(
        f"{path}: unknown file type {ext or '(none)'!r}; use .csv, .parquet or .xlsx "
        "/ 不支持的文件类型"
    )


# --------------------------------------------------------------------------- CSV


def _transcode(path: Path, encoding: str, out: Path) -> None:
    """Write `path` decoded from `encoding` as UTF-8 (already checked to decode strictly)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while data := src.read(_CHUNK):
            dst.write(decoder.decode(data))
        dst.write(decoder.decode(b"", final=True))


def _count_lines(path: Path) -> int:
    newlines = 0
    with path.open("rb") as fh:
        while data := fh.read(_CHUNK):
            newlines += data.count(b"\n")
    return newlines


def _undecodable_problem(path: Path, offset: int, reason: str) -> RowProblem:
    """Row (line) and column of the first byte that cannot be decoded."""
    with path.open("rb") as fh:
        prefix = fh.read(offset)
        fh.seek(0)
        header_bytes = fh.readline(1 << 16)
        start = prefix.rfind(b"\n") + 1
        fh.seek(start)
        line = fh.readline(1 << 16)
    line_no = prefix.count(b"\n") + 1
    header_text = header_bytes.decode("utf-8-sig", errors="replace").strip("\r\n")
    sep = _separator_of(header_text)
    column = "?"
    try:
        header = next(csv.reader([header_text], delimiter=sep), [])
        # the bad byte's field: count separators before it on its line (quotes aside)
        before = line[: offset - start].decode("utf-8", errors="replace")
        index = len(next(csv.reader([before.replace("\r", " ")], delimiter=sep), [""])) - 1
        if 0 <= index < len(header) and line_no > 1:
            column = header[index]
    except csv.Error:
        pass
    return RowProblem(line_no, column if line_no > 1 else "(header)", reason)


def _separator_of(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _sniff_separator(path: Path, encoding: str) -> str:
    with path.open("rb") as fh:
        first = fh.readline(1 << 16).decode(encoding, errors="replace")
    return _separator_of(first)


def _open_csv(path: Path, workdir: Path, encoding: str | None = None) -> Source:
    try:
        encoding = detect(path, encoding)
    except Undecodable as bad:
        raise IngestRejected(path, [_undecodable_problem(path, bad.offset, bad.reason)]) from None
    except LookupError:
        raise IngestError(f"--encoding {encoding}: unknown encoding; use e.g. utf-8, gb18030, "
                          "cp1252, shift_jis / 未知的编码名称") from None
    target = path
    if encoding not in ("utf-8", "utf-8-sig"):
        target = workdir / "input.utf8.csv"
        _transcode(path, encoding, target)
    sep = _sniff_separator(target, "utf-8-sig")
    newlines = _count_lines(target)
    try:
        lf = pl.scan_csv(target, separator=sep, infer_schema=False, has_header=True,
                         raise_if_empty=False, truncate_ragged_lines=False)
        headers = lf.collect_schema().names()
    except BaseException as exc:
        if not unreadable(exc):
            raise
        found = _rows_or_none(lambda: _quote_and_ragged(target, sep, 1 << 30))
        if found is not None and found.height:
            raise BadRows(found) from None
        raise IngestError(f"{path}: not a readable CSV file: {_first_line(exc)}") from None
    if not headers:
        raise IngestError(f"{path}: the file is empty (no header row) / 文件为空")
    lf, headers = _safe_names(lf, headers)
    lf = lf.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Source(path, headers, encoding, max(newlines - 1, 0), lf,
                  lambda: _quote_and_ragged(target, sep, len(headers)))


def _rows_or_none(diagnose: Callable[[], pl.DataFrame]) -> pl.DataFrame | None:
    try:
        return diagnose()
    except BaseException as exc:
        if not unreadable(exc):
            raise
        return None


def _safe_names(lf: pl.LazyFrame, headers: list[str]) -> tuple[pl.LazyFrame, list[str]]:
    """Rename file columns that clash with the reader's own columns (a file may have a column
    named like ours: it is an extra column like any other, never an error)."""
    taken = set(headers)
    rename = {}
    for h in headers:
        if h in (ROW, BLANK):
            new = h
            while new in taken:
                new += "_"
            taken.add(new)
            rename[h] = new
    if not rename:
        return lf, headers
    return lf.rename(rename), [rename.get(h, h) for h in headers]


def _quote_and_ragged(target: Path, sep: str, width: int) -> pl.DataFrame:
    """The rows polars cannot split: an unclosed quote, or more fields than the header."""
    return pl.concat([_unclosed_quote(target), _ragged_lines(target, sep, width)])


def _unclosed_quote(target: Path) -> pl.DataFrame:
    """The line where a double quote opens that no later quote closes (the value then runs to
    the end of the file, which polars refuses without saying where)."""
    lines = _lines(target).with_row_index("row", offset=1).with_columns(
        (pl.col("line").str.count_matches('"', literal=True).cum_sum() % 2).alias("open"))
    opened = (lines.filter((pl.col("open") == 1)
                           & (pl.col("open").shift(1, fill_value=0) == 0))
              .select(pl.col("row").max()).collect().item())
    still_open = lines.select(pl.col("open").last()).collect().item()
    if not still_open or opened is None:
        return pl.DataFrame(schema={"row": pl.Int64, "column": pl.String, "value": pl.String,
                                    "reason": pl.String})
    return pl.DataFrame([{
        "row": int(opened), "column": "(all)", "value": None,
        "reason": "a double quote opens a value here and is never closed, so the rest of the "
                  "file would be one value: close the quote or remove it "
                  "/ 此行的双引号没有闭合，请补上或删除该引号"}],
        schema={"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String})


def _lines(target: Path) -> pl.LazyFrame:
    return pl.scan_csv(target, has_header=False, separator="\x1f", quote_char=None,
                       infer_schema=False, new_columns=["line"], truncate_ragged_lines=True,
                       raise_if_empty=False).with_columns(pl.col("line").fill_null(""))


def _ragged_lines(target: Path, sep: str, width: int) -> pl.DataFrame:
    """Lines with more fields than the header, which polars refuses without saying where.

    Each line is read whole; quoted values (`"a,b"`, `"say ""hi"" "`) are removed before the
    separators are counted. A line with an odd number of quotes is part of a value spanning
    lines and is not judged.
    """
    lines = _lines(target)
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
    except BaseException as exc:
        if not unreadable(exc):
            raise
        raise IngestError(f"{path}: not a readable Parquet file: {_first_line(exc)}") from None
    lf, headers = _safe_names(lf.select([_as_text(n, t) for n, t in schema.items()]),
                              list(schema.names()))
    lf = lf.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Source(path, headers, "parquet", int(rows), lf, exact_rows=True)


# --------------------------------------------------------------------------- XLSX


def _open_excel(path: Path, sheet: str | None = None) -> Source:
    """First sheet (or the one named `sheet`), header in its first row; cells read as the text
    a spreadsheet shows."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except BaseException as exc:  # fastexcel raises its own error types for corrupt files
        if not (isinstance(exc, Exception) or unreadable(exc)):
            raise
        raise IngestError(f"{path}: not a readable spreadsheet: {_first_line(exc)}") from None
    if sheet is not None and sheet not in reader.sheet_names:
        raise IngestError(
            f"{path}: no sheet named {sheet!r} (sheets: {', '.join(reader.sheet_names)}); is this "
            "a collection form made by `evaluator forms`? / 文件中没有名为 form 的工作表")
    try:
        df = reader.load_sheet(0 if sheet is None else sheet, dtypes="string").to_polars()
    except BaseException as exc:  # fastexcel raises its own error types for corrupt files
        if not (isinstance(exc, Exception) or unreadable(exc)):
            raise
        raise IngestError(f"{path}: not a readable spreadsheet: {_first_line(exc)}") from None
    df = df.with_columns(pl.col(c).cast(pl.String) for c in df.columns)
    lf, headers = _safe_names(df.lazy(), list(df.columns))
    lf = lf.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return Source(path, headers, "xlsx", df.height, lf)
