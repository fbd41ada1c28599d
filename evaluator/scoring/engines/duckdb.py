"""The DuckDB engine: the embedded default, over the run store's own connection.

Temporary tables live as long as the connection. The store is this same connection, so a run's
rows are INSERTed straight from the temporary tables inside one DuckDB transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import duckdb
import polars as pl
from sqlglot import exp

from evaluator.scoring.engine import Output, sql


class DuckDBEngine:
    """The engine over one DuckDB connection."""

    dialect = "duckdb"
    SHARES_STORE: ClassVar[bool] = True
    answers_keyed = True  # it reads the store's views

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

    def create_temp(self, name: str, query: exp.Expression) -> str:
        self.execute(exp.Create(
            this=exp.to_table(name), kind="TABLE", expression=query, replace=True,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
        ))
        return name

    def append_temp(self, name: str, query: exp.Expression) -> None:
        self.execute(exp.insert(query, name))

    def drop_temp(self, name: str) -> None:
        self.execute(sql(f"DROP TABLE IF EXISTS {name}"))

    def table_exists(self, name: str) -> bool:
        found = self.con.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchall()
        return bool(found[0][0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute(exp.Transaction())
        try:
            yield
        except BaseException:
            self.execute(exp.Rollback())
            raise
        self.execute(exp.Commit())

    @contextmanager
    def session(self) -> Iterator[None]:
        """One thread for the run: floating-point sums depend on the order rows arrive in, and
        only one thread makes that order (and so every last digit) the same from run to run."""
        threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        self.con.execute("SET threads = 1").fetchall()
        try:
            yield
        finally:
            self.con.execute(f"SET threads = {int(threads)}").fetchall()

    def write_outputs(self, outputs: list[Output], run_id: str) -> tuple[str, dict[str, str]]:
        raise NotImplementedError("DuckDB shares the store: run rows are INSERTed directly")
