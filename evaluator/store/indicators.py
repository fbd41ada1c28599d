"""`run_indicator_scores` is a view (migration 9); its rows are stored in three tables.

A weights-only re-score changes no indicator's score, raw value or flags, only weights and
contributions. So the weight-independent columns are stored once per `base_id` (a hash of the
run's indicator-level key, `scoring/reuse.run_key`) in `run_indicator_base`; each run adds its
indicator weights and positions (`run_indicator_weights`, which also names the base it reads)
and, per unit (one row, not one per indicator), the lists of its weighted indicators'
positions, local weights and contributions (`run_indicator_parts`). The view joins them back
into the contract's columns, so every reader's SQL is unchanged. Reading a whole run through
it costs about 1.5-2.5x a scan of the base rows (province, loaded machine): the unnested parts
are joined back on (run, unit, position).

Scoring writes the three tables from its own temporary tables (`scoring/run.py`); this module
loads rows that come with all of the view's columns (an engine's Parquet output, tests).
"""

from __future__ import annotations

import hashlib

import duckdb

#: the view's columns, in order (what exports and `indicator_scores.csv` read)
COLUMNS = ("run_id", "unit_id", "indicator_id", "dimension_id", "evidence", "raw_value",
           "transformed_value", "rule", "score", "declared_weight", "weight", "local_weight",
           "contribution", "missing_policy", "imputed", "flags")
BASE_COLUMNS = ("base_id", "unit_id", "indicator_id", "dimension_id", "evidence", "raw_value",
                "transformed_value", "rule", "score", "missing_policy", "imputed", "flags")
WEIGHT_COLUMNS = ("run_id", "base_id", "indicator_id", "pos", "declared_weight", "weight")
PART_COLUMNS = ("run_id", "unit_id", "positions", "local_weights", "contributions")
#: an indicator's position in a run's lists: its rank by id among the run's indicators
POSITION = "CAST(row_number() OVER (PARTITION BY run_id ORDER BY indicator_id) - 1 AS INTEGER)"


def base_id(key: str) -> str:
    """The stored name of an indicator-level key (the key itself is long JSON)."""
    return "b" + hashlib.sha256(key.encode()).hexdigest()[:24]


def has_base(con: duckdb.DuckDBPyConnection, base: str) -> bool:
    """Whether the store already holds the weight-independent rows of `base`."""
    return bool(con.execute("SELECT 1 FROM run_indicator_base WHERE base_id = ? LIMIT 1",
                            [base]).fetchall())


def insert_rows(con: duckdb.DuckDBPyConnection, relation: str,
                params: list[object] | None = None) -> None:
    """Store rows with the view's columns (by name; the run's own base = its run id).

    `relation` is a SQL table expression (a table name, `read_parquet(…)`, or a subquery in
    parentheses) holding every column of `COLUMNS`; its rows may span several runs."""
    src = f"(SELECT * FROM {relation})"
    p = params or []
    con.execute(f"INSERT INTO run_indicator_base ({', '.join(BASE_COLUMNS)}) SELECT run_id, "
                f"{', '.join(BASE_COLUMNS[1:])} FROM {src}", p)
    con.execute(f"INSERT INTO run_indicator_weights ({', '.join(WEIGHT_COLUMNS)}) SELECT run_id, "
                f"run_id, indicator_id, {POSITION}, min(declared_weight), min(weight) FROM "
                f"{src} GROUP BY run_id, indicator_id", p)
    runs = f"(SELECT DISTINCT run_id FROM {src})"
    con.execute(f"INSERT INTO run_indicator_parts ({', '.join(PART_COLUMNS)}) SELECT s.run_id, "
                "s.unit_id, list(w.pos ORDER BY w.pos), list(s.local_weight ORDER BY w.pos), "
                f"list(s.contribution ORDER BY w.pos) FROM {src} s JOIN run_indicator_weights w "
                "ON w.run_id = s.run_id AND w.indicator_id = s.indicator_id "
                f"WHERE w.run_id IN {runs} GROUP BY s.run_id, s.unit_id", p + p)


def delete_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Remove one run's indicator rows (and its base rows, when no other run reads them)."""
    con.execute("DELETE FROM run_indicator_parts WHERE run_id = ?", [run_id])
    bases = [r[0] for r in con.execute(
        "SELECT DISTINCT base_id FROM run_indicator_weights WHERE run_id = ?", [run_id]
    ).fetchall()]
    con.execute("DELETE FROM run_indicator_weights WHERE run_id = ?", [run_id])
    for base in bases:
        con.execute("DELETE FROM run_indicator_base WHERE base_id = ? AND NOT EXISTS (SELECT 1 "
                    "FROM run_indicator_weights WHERE base_id = ?)", [base, base])
