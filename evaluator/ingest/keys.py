"""Checks over the whole file: duplicate keys, and survey responses split across units or periods.

They read the staged rows that passed the row checks (`evaluator.ingest.validate`), typed the
way they will be stored. Each check is first a count (one hash aggregation, usually finding
nothing); only a non-zero count runs the query that names every row at fault with the row it
clashes with. The across-batch response check reads the stored table after the insert, and only
when an earlier survey batch exists.
"""

from __future__ import annotations

import duckdb
import polars as pl

from evaluator.ingest.kinds import Kind
from evaluator.ingest.validate import quote, value

PROBLEM_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}


def _good(kind: Kind, rows: str) -> str:
    """The staged rows that passed the row checks, key columns typed as stored."""
    cols = {k for k in kind.key} | ({"unit_id", "period"} if kind.name == "surveys" else set())
    typed_cols = ", ".join(f"{value(kind.column(c))} AS {quote(c)}" for c in sorted(cols))
    return (f"(SELECT s.__row__ AS source_row, {typed_cols} FROM {rows} AS s "
            "WHERE NOT s.__blank__ AND NOT s.__bad__)")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def file_key_problems(con: duckdb.DuckDBPyConnection, kind: Kind, rows: str) -> pl.DataFrame:
    """Duplicate keys within the file; a response for two units or periods within the file."""
    frames = []
    good = _good(kind, rows)
    if kind.key:
        keys = ", ".join(quote(k) for k in kind.key)
        dups = _count(con, f"SELECT count(*) FROM (SELECT 1 FROM {good} GROUP BY {keys} "
                           "HAVING count(*) > 1)")
        if dups:
            shown = " || ' / ' || ".join(quote(k) for k in kind.key)
            frames.append(con.sql(
                f"""SELECT source_row AS row, ? AS "column", {shown} AS value,
                           'duplicate key (' || ? || '): same as row ' || first_row
                           || ' / 重复的键，与第 ' || first_row || ' 行相同' AS reason
                    FROM (SELECT *, min(source_row) OVER (PARTITION BY {keys}) AS first_row
                          FROM {good})
                    WHERE source_row > first_row""",
                params=["+".join(kind.key), ", ".join(kind.key)]).pl())
    if kind.name == "surveys":
        split = _count(con, f"SELECT count(*) FROM (SELECT 1 FROM {good} GROUP BY response_id "
                            "HAVING min(unit_id) <> max(unit_id) OR min(period) <> max(period))")
        if split:
            frames.append(con.sql(
                f"""WITH g AS {good},
                   f AS (SELECT response_id, arg_min(unit_id, source_row) AS u,
                                arg_min(period, source_row) AS p, min(source_row) AS r0
                         FROM g GROUP BY response_id)
                   SELECT s.source_row AS row, 'unit_id+period' AS "column",
                          s.unit_id || ' / ' || s.period AS value,
                          'response ' || s.response_id || ' is for ' || f.u || ' / ' || f.p
                          || ' on row ' || f.r0 || '; one response belongs to one unit and period'
                          || ' / 同一问卷编号对应了不同单位或期间' AS reason
                   FROM g s JOIN f USING (response_id)
                   WHERE s.unit_id <> f.u OR s.period <> f.p""").pl())
    if not frames:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return pl.concat([f.cast(PROBLEM_SCHEMA) for f in frames])


def stored_key_problems(con: duckdb.DuckDBPyConnection, kind: Kind,
                        batch_id: int) -> pl.DataFrame:
    """Answers of earlier batches that stay current (not superseded by this batch's rows for
    the same question) must be for the same unit and period as this batch's. Runs after the
    insert and the supersession marks."""
    if kind.name != "surveys" or not con.execute(
            "SELECT 1 FROM survey_responses WHERE batch_id < ? LIMIT 1", [batch_id]).fetchall():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return con.sql(
        """WITH mine AS (SELECT DISTINCT response_id FROM survey_responses WHERE batch_id = ?),
           o AS (SELECT c.response_id, min(c.unit_id) AS u, min(c.period) AS p,
                        min(c.batch_id) AS b
                 FROM current_survey_responses c JOIN mine USING (response_id)
                 WHERE c.batch_id <> ? GROUP BY c.response_id)
           SELECT s.source_row AS row, 'response_id' AS "column", s.response_id AS value,
                  'response ' || s.response_id || ' is already loaded for ' || o.u || ' / '
                  || o.p || ' (batch ' || o.b || '); one response belongs to one unit and '
                  || 'period: give it another id, or reload all its answers / '
                  || '该问卷编号已在其他批次中属于另一单位或期间' AS reason
           FROM survey_responses s JOIN o USING (response_id)
           WHERE s.batch_id = ? AND (s.unit_id <> o.u OR s.period <> o.p)""",
        params=[batch_id, batch_id, batch_id]).pl().cast(PROBLEM_SCHEMA)
