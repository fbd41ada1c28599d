"""The narrow seam between the scoring logic and the engine that executes it.

Scoring is written once, as sqlglot expression trees. An engine renders a tree in its SQL
dialect, runs it, returns results as polars, accepts small frames (scheme metadata) as tables,
and owns everything that differs between engines: temporary tables, appending to them, table
existence, transactions and the session settings a reproducible run needs. A capability flag
says what an engine can do (as SQLMesh's engine adapters do); one module per engine lives in
`evaluator/scoring/engines/` (`duckdb.py`, the embedded default; `spark.py`).

Values that come from a scheme (ids, numbers) enter SQL only as sqlglot literals through
`sql(template, **params)`: templates are this package's own text, never scheme text.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, cast

import polars as pl
import sqlglot
from sqlglot import exp

TEMPLATE_DIALECT = "duckdb"


@dataclass(frozen=True)
class Output:
    """One run table: its columns and the engine query that yields its rows (by position)."""

    table: str
    columns: tuple[str, ...]
    query: exp.Expression


class Engine(Protocol):
    """What the scoring pipeline needs from an execution engine."""

    dialect: str
    #: the engine's tables live in the run store (the DuckDB file): run rows are INSERTed there
    #: directly; otherwise they are written as Parquet and the store loads them
    SHARES_STORE: ClassVar[bool]
    #: the survey answers hold one row per (year, response, question), as the store's views do
    #: (ingest refuses a repeated key); False for inputs read unchecked (Spark `--inputs`)
    answers_keyed: bool

    def execute(self, expr: exp.Expression) -> None:
        """Run a statement."""

    def fetch_polars(self, expr: exp.Expression) -> pl.DataFrame:
        """Run a query and return its result."""

    def register(self, name: str, frame: pl.DataFrame) -> None:
        """Make `frame` available as a temporary table called `name` (replacing any)."""

    def create_temp(self, name: str, query: exp.Expression) -> str:
        """Materialise `query` as temporary table `name` (replacing any); returns the name."""

    def append_temp(self, name: str, query: exp.Expression) -> None:
        """Append the rows of `query` (same columns, by position) to temporary table `name`."""

    def drop_temp(self, name: str) -> None:
        """Forget temporary table `name` if it exists."""

    def table_exists(self, name: str) -> bool:
        """Whether a table or temporary table called `name` exists."""

    def transaction(self) -> AbstractContextManager[None]:
        """All-or-nothing block (used where SHARES_STORE; a no-op elsewhere)."""

    def session(self) -> AbstractContextManager[None]:
        """Settings pinned for one run (DuckDB: one thread, so float sums are reproducible)."""

    def write_outputs(self, outputs: list[Output], run_id: str) -> tuple[str, dict[str, str]]:
        """Engines that do not share the store: materialise each output in order (later ones
        may read earlier ones by table name), write it as Parquet; return the run's folder and
        table → Parquet path (glob) of the non-empty ones."""


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
    """Materialise `query` as temporary table `name` on `engine`; returns the name."""
    return engine.create_temp(name, query)


# the embedded default engine, importable from the seam (its code: engines/duckdb.py)
from evaluator.scoring.engines.duckdb import DuckDBEngine  # noqa: E402

__all__ = ["DuckDBEngine", "Engine", "Output", "create_temp", "lit", "sql", "union_all"]
