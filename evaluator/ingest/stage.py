"""Stage an opened file in DuckDB as text: one row per file row, the cells the checks read.

`_ingest_rows` (a temporary table: connection-local, never in the database file) has
`__row__` (spreadsheet row: header = 1), `__blank__` (every cell of the row, mapped or not, is
empty or whitespace) and one VARCHAR column per mapped contract column, trimmed (Unicode
whitespace), empty → NULL. The polars readers (`evaluator.ingest.readers`) parse and trim every
format the same way, batch by batch; each batch goes to DuckDB through Arrow. While a batch is
at hand its numbers and timestamps are typed, its respondent ids hashed (once per distinct id of
the batch) and every row check run (`__bad__`: the row has a problem, `evaluator.ingest.validate`),
so the whole-file steps after it (the counts, the key checks, the insert) read finished columns
instead of scanning 10 million staged rows again to compute them.

Why not DuckDB's own `read_csv` straight into the table: measured on the 1 M-answer file, the
polars scan with the trim and the Arrow hand-over costs about what `read_csv` plus DuckDB's
Unicode trim costs (DuckDB's `trim(x, chars)` is ~10× slower than polars' `strip_chars`), while
DuckDB's reader splits some files differently (it skips blank lines, which polars reads as rows,
so row numbers would move; lone CR line ends). One reader keeps one set of row numbers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace

import duckdb
import polars as pl

from evaluator.ingest.columns import ColumnPlan
from evaluator.ingest.kinds import Kind
from evaluator.ingest.readers import BLANK, ROW, Source
from evaluator.ingest.validate import RowChecks, quote, typed

ROWS = "_ingest_rows"
BAD = "__bad__"  # the staged row has a row problem (a blank row never has)
CHUNK = "_ingest_chunk"
Progress = Callable[[int, int], None]


def drop(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses it too
        con.execute(f"DROP TABLE IF EXISTS temp.{ROWS}")


def stage(con: duckdb.DuckDBPyConnection, source: Source, plan: ColumnPlan, kind: Kind,
          checks: RowChecks, pseudonym: tuple[str, list[bytes]] | None, chunk_rows: int,
          progress: Progress | None = None) -> int:
    """Fill `_ingest_rows` from `source`; returns the rows staged (blank ones included).

    Numbers and timestamps are also typed here, once, into `__v_<column>` (what the checks
    test and the insert stores); `pseudonym` (a hashing expression over `respondent` and its
    parameters, given when the file has respondent ids) fills `respondent_hash`; `checks` (over
    table `s`, with `q` when they read the declared scales) set `__bad__`. Call it outside a
    transaction: the temporary table is not part of the load, and a reader error (`BadRows`,
    `IngestError`) leaves nothing to roll back."""
    drop(con)
    targets = list(plan.rename.values())
    typed_cols = [c for c in kind.columns
                  if c.name in targets and c.type in ("number", "timestamp")]
    sql_type = {"number": "DOUBLE", "timestamp": "TIMESTAMP"}
    cols = "".join(f", {quote(t)} VARCHAR" for t in targets) + "".join(
        f", {quote('__v_' + c.name)} {sql_type[c.type]}" for c in typed_cols)
    con.execute(f"CREATE TEMP TABLE {ROWS} ({ROW} BIGINT, {BLANK} BOOLEAN{cols}"
                + (", respondent_hash VARCHAR" if pseudonym is not None else "")
                + f", {BAD} BOOLEAN)")
    chunk = (f"(SELECT {ROW}, {BLANK}" + "".join(f", {quote(t)}" for t in targets)
             + "".join(f", {typed(c, quote(c.name))} AS {quote('__v_' + c.name)}"
                       for c in typed_cols) + f" FROM {CHUNK})")
    rc = replace(checks, rows=chunk)  # the same checks, over the batch
    source_sql, params = rc.source(), list[bytes]()
    if pseudonym is not None:
        expr, params = pseudonym
        source_sql += (f" LEFT JOIN (SELECT respondent, {expr} AS respondent_hash FROM "
                       f"(SELECT DISTINCT respondent FROM {CHUNK} WHERE respondent IS NOT NULL))"
                       " AS h ON h.respondent = s.respondent")
    insert = (f"INSERT INTO {ROWS} SELECT s.*" + (", h.respondent_hash" if pseudonym is not None else "")
              + f", NOT s.{BLANK} AND {rc.any()} FROM {source_sql}")
    done = 0
    for batch in source.batches(plan.rename, chunk_rows):
        # Arrow string views: no copy out of polars (large_string would copy every value)
        con.register(CHUNK, batch.to_arrow(compat_level=pl.CompatLevel.newest()))
        try:
            con.execute(insert, params)
        finally:
            with contextlib.suppress(duckdb.Error):
                con.unregister(CHUNK)
        done += batch.height
        if progress:
            progress(done, max(done, source.est_rows))
    return done
