"""Shared helpers of the read layer: the connection type and small query helpers."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

Con = duckdb.DuckDBPyConnection

GRADE_ORDER_DEFAULT = ("excellent", "good", "fair", "poor")

#: `run_indicator_scores` without `local_weight` and `contribution`, for reads that need
#: neither: the view joins every unit's unnested parts of the run (a LEFT JOIN the optimiser
#: cannot drop), ~0.6 s at province (20,000 units) even for a count
INDICATOR_LINES = """(
    SELECT w.run_id, b.unit_id, b.indicator_id, b.dimension_id, b.evidence, b.raw_value,
           b.transformed_value, b.rule, b.score, w.declared_weight, w.weight,
           b.missing_policy, b.imputed, b.flags
    FROM run_indicator_weights w
    JOIN run_indicator_base b ON b.base_id = w.base_id AND b.indicator_id = w.indicator_id)"""


def _df(con: Con, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or None).pl()


def _one(con: Con, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """First row or None; fetches everything so the connection is free for the next query."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _lang_col(prefix: str, lang: str) -> str:
    return f"{prefix}_{'zh' if lang == 'zh' else 'en'}"
