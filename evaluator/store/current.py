"""Which raw rows are current, kept as data: `superseded_by` is set when a later batch lands.

A raw row is superseded by the first later accepted batch that brings a row with the same
natural key. Ingest sets `superseded_by` set-based in the loading transaction (one join of the
new batch's keys against the older current rows), so "current" is a plain filter
(`superseded_by IS NULL`) instead of a window over every row ever loaded, and "as of batch N"
is a range filter: `batch_id <= N AND (superseded_by IS NULL OR superseded_by > N)`. That is
exactly "the latest batch ≤ N per key", because `superseded_by` is the *next* batch of the key.
Events are facts, not values: nothing supersedes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

#: raw table → natural key (a row of a later batch with the same key supersedes the row)
KEYS: dict[str, tuple[str, ...]] = {
    "units": ("unit_id",),
    "outcomes": ("unit_id", "period", "measure"),
    "targets": ("unit_id", "period", "measure"),
    "questions": ("question",),
    "survey_responses": ("year", "response_id", "question"),
}
#: raw table → the view scoring and the read side use
VIEWS: dict[str, str] = {
    "units": "current_units", "outcomes": "current_outcomes", "targets": "current_targets",
    "questions": "current_questions", "survey_responses": "current_survey_responses",
    "events": "current_events",
}


def mark_superseded(con: duckdb.DuckDBPyConnection, table: str, batch_id: int) -> None:
    """Mark the rows that batch `batch_id` (just inserted into `table`) supersedes.

    Runs inside the loading transaction: a rejected batch rolls the marks back with its rows.
    A first load of a table has nothing older to mark and costs one cheap probe."""
    key = KEYS.get(table)
    if key is None:
        return
    older = con.execute(f"SELECT 1 FROM {table} WHERE batch_id < ? LIMIT 1",
                        [batch_id]).fetchall()
    if not older:
        return
    cols = ", ".join(key)
    match = " AND ".join(f"t.{k} = n.{k}" for k in key)
    con.execute(
        f"UPDATE {table} AS t SET superseded_by = ? "
        f"FROM (SELECT DISTINCT {cols} FROM {table} WHERE batch_id = ?) AS n "
        f"WHERE {match} AND t.superseded_by IS NULL AND t.batch_id < ?",
        [batch_id, batch_id, batch_id])


def as_of_sql(table: str, batch: int) -> str:
    """The rows of `table` that were current once batch `batch` had landed."""
    if table not in KEYS:  # events: everything loaded up to the batch
        return f"SELECT * FROM main.{table} WHERE batch_id <= {int(batch)}"
    return (f"SELECT * EXCLUDE (superseded_by) FROM main.{table} WHERE batch_id <= {int(batch)} "
            f"AND (superseded_by IS NULL OR superseded_by > {int(batch)})")


@contextmanager
def as_of(con: duckdb.DuckDBPyConnection, batch: int) -> Iterator[None]:
    """Inside the block, every `current_*` view of this connection reads as of batch `batch`.

    Temporary views of the same names shadow the stored ones for this connection only, so all
    of scoring (and anything else reading `current_*`) sees the data a past run saw."""
    made = []
    try:
        for table, view in VIEWS.items():
            con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {view} AS {as_of_sql(table, batch)}")
            made.append(view)
        yield
    finally:
        for view in made:
            con.execute(f"DROP VIEW IF EXISTS temp.{view}")
