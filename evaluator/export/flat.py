"""CSV and Parquet: the same tables as the workbook, one file each, streamed batch by batch.

CSV encodings: `utf-8` (default), `utf-8-sig` (with a BOM, so Excel opens Chinese text right)
and `gb18030` (for WPS/Excel set to a Chinese locale). Headers follow the export language.
Parquet keeps the English ids as column names: it is read by programs, not people.

Every CSV value is written exactly as stored (an id `0518` is `0518`, never `="0518"`). A
spreadsheet that guesses types turns such ids into the number 518, so the manifest names each
file's text columns and the LibreOffice import filter that reads them as text
(`csv_import_filter`; docs/export.md shows it and the Excel steps).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from evaluator.export.headers import for_people, header
from evaluator.export.tables import ExportContext, batches, empty_frame

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
LIBREOFFICE_CHARSET = {"utf-8": 76, "utf-8-sig": 76, "gb18030": 85}  # its character set codes
LIBREOFFICE_TEXT = 2  # its column type "Text" (1 is "Standard": guess)


def write_csv(
    ctx: ExportContext,
    name: str,
    path: Path,
    *,
    encoding: str = "utf-8",
    advance: Callable[[str, int], None] = lambda _label, _n: None,
) -> int:
    """Write one table as CSV in `encoding`; returns data rows written."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    rows = 0
    with path.open("wb") as fh:
        if encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        first = True
        for batch in batches(ctx, name):
            fh.write(_csv_text(ctx, name, batch, first).encode(codec))
            first = False
            rows += batch.height
            advance(name, batch.height)
        if first:
            fh.write(_csv_text(ctx, name, empty_frame(ctx, name), True).encode(codec))
    return rows


def csv_text_columns(ctx: ExportContext, name: str) -> list[str]:
    """The table's columns that hold text (ids, codes, names), as headed in the CSV."""
    frame = for_people(empty_frame(ctx, name), ctx.lang)
    return [header(c, ctx.lang, name) for c, t in frame.schema.items() if t == pl.String]


def csv_import_filter(ctx: ExportContext, name: str, encoding: str) -> str:
    """LibreOffice's CSV import filter that reads the table's text columns as text, e.g.
    `soffice --infilter="CSV:44,34,76,1,1/2/2/2" summary.csv`: comma, double quote, the
    character set, data from line 1, then column/type pairs (2 = Text)."""
    frame = for_people(empty_frame(ctx, name), ctx.lang)
    types = "/".join(f"{i}/{LIBREOFFICE_TEXT}" for i, t in enumerate(frame.schema.values(), 1)
                     if t == pl.String)
    return f"CSV:44,34,{LIBREOFFICE_CHARSET[encoding]},1,{types}"


def _csv_text(ctx: ExportContext, name: str, frame: pl.DataFrame, with_header: bool) -> str:
    frame = for_people(frame, ctx.lang)
    renamed = frame.rename({c: header(c, ctx.lang, name) for c in frame.columns})
    return renamed.write_csv(include_header=with_header, datetime_format="%Y-%m-%dT%H:%M:%S")


def write_parquet(
    ctx: ExportContext,
    name: str,
    path: Path,
    advance: Callable[[str, int], None] = lambda _label, _n: None,
) -> int:
    """Write one table as Parquet (zstd), batch by batch; returns rows written."""
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for batch in batches(ctx, name):
            table = batch.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema, compression="zstd")
            writer.write_table(table)
            rows += batch.height
            advance(name, batch.height)
        if writer is None:
            empty_frame(ctx, name).write_parquet(path)
    finally:
        if writer is not None:
            writer.close()
    return rows
