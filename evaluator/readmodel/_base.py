"""Shared helpers of the read layer: the connection type and small query helpers."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

Con = duckdb.DuckDBPyConnection

GRADE_ORDER_DEFAULT = ("excellent", "good", "fair", "poor")


def _df(con: Con, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
    return con.sql(sql, params=params or None).pl()


def _one(con: Con, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """First row or None; fetches everything so the connection is free for the next query."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def _lang_col(prefix: str, lang: str) -> str:
    return f"{prefix}_{'zh' if lang == 'zh' else 'en'}"
