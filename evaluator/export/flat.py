"""CSV and Parquet: the same tables as the workbook, one file each, streamed batch by batch.

CSV encodings: `utf-8` (default), `utf-8-sig` (with a BOM, so Excel opens Chinese text right)
and `gb18030` (for WPS/Excel set to a Chinese locale). Headers follow the export language.
Parquet keeps the English ids as column names: it is read by programs, not people.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from evaluator.export.headers import header
from evaluator.export.tables import ExportContext, batches, empty_frame

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")


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


def _csv_text(ctx: ExportContext, name: str, frame: pl.DataFrame, with_header: bool) -> str:
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
