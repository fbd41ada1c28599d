"""The narrow seam between the scoring logic and the engine that executes it.

Scoring is written once, as sqlglot expression trees. An engine only has to render a tree in
its SQL dialect, run it, return results as polars, and accept small frames (scheme metadata)
as tables. `DuckDBEngine` is the engine today; a Spark engine renders the very same trees
with dialect "spark" (ROADMAP: "Beyond one machine").

Values that come from a scheme (ids, numbers) enter SQL only as sqlglot literals through
`sql(template, **params)`: templates are this package's own text, never scheme text.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol, cast

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

TEMPLATE_DIALECT = "duckdb"


class Engine(Protocol):
    """What the scoring pipeline needs from an execution engine."""

    dialect: str

    def execute(self, expr: exp.Expression) -> None:
        """Run a statement (DDL, INSERT, transaction control)."""

    def fetch_polars(self, expr: exp.Expression) -> pl.DataFrame:
        """Run a query and return its result."""

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """Make `frame` available as a temporary table called `name` (replacing any)."""


def lit(value: Any) -> exp.Expression:
    """A Python value as a SQL literal node (strings are quoted, never spliced)."""
    if isinstance(value, exp.Expression):
        return value
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, float) and value != value:  # NaN
        return exp.Null()
    if isinstance(value, list | tuple):
        return exp.Tuple(expressions=[lit(v) for v in value])
    return cast(exp.Expression, exp.convert(value))


@functools.lru_cache(maxsize=512)
def _parse(template: str) -> exp.Expression:
    return cast(exp.Expression, sqlglot.parse_one(template, read=TEMPLATE_DIALECT))


def sql(template: str, **params: Any) -> exp.Expression:
    """Parse one of our SQL templates and bind `:name` placeholders to literals or subtrees.

    Templates are parsed once and cached; binding works on a copy. A placeholder may not be the
    first item of a SELECT list (DuckDB reads `SELECT :x AS y` as a prefix alias): write
    `SELECT CAST(:x AS VARCHAR) AS y`.
    """
    tree = _parse(template)
    if params:
        return cast(exp.Expression, exp.replace_placeholders(
            tree, **{k: lit(v) for k, v in params.items()}))
    return tree.copy()


def union_all(queries: list[exp.Expression]) -> exp.Expression:
    """q1 UNION ALL q2 UNION ALL …, as one tree."""
    out = queries[0]
    for q in queries[1:]:
        out = exp.union(out, q, distinct=False)
    return out


def create_temp(engine: Engine, name: str, query: exp.Expression) -> str:
    """CREATE OR REPLACE TEMPORARY TABLE name AS query; returns the name."""
    stmt = exp.Create(
        this=exp.to_table(name),
        kind="TABLE",
        expression=query,
        replace=True,
        properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
    )
    engine.execute(stmt)
    return name


class DuckDBEngine:
    """The engine over one DuckDB connection (temp tables live as long as the connection)."""

    dialect = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def render(self, expr: exp.Expression) -> str:
        return expr.sql(dialect=self.dialect)

    def execute(self, expr: exp.Expression) -> None:
        self.con.execute(self.render(expr)).fetchall()  # drain: DuckDB keeps results pending

    def fetch_polars(self, expr: exp.Expression) -> pl.DataFrame:
        return self.con.sql(self.render(expr)).pl()

    def register(self, name: str, frame: pl.DataFrame) -> None:
        view = f"{name}__frame"
        self.con.register(view, frame.to_arrow())
        try:
            self.con.execute(
                f'CREATE OR REPLACE TEMPORARY TABLE "{name}" AS SELECT * FROM "{view}"').fetchall()
        finally:
            self.con.unregister(view)
