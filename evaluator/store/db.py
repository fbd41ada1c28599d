"""Open the DuckDB file and bring its schema up to date. The only place that runs DDL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.store.migrations import MIGRATIONS

DEFAULT_DB = Path("data/evaluator.duckdb")


class StoreError(EvaluatorError):
    """The database cannot be opened or migrated; the message says what to do."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    # fetchall: a result left open by fetchone() blocks the connection's next relation query
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()
    if not exists or not exists[0][0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()
    return int(row[0][0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply pending migrations, each in its own transaction. Returns the new version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
    )
    current = schema_version(con)
    latest = max(v for v, _, _ in MIGRATIONS)
    if current > latest:
        raise StoreError(
            f"database schema version {current} is newer than this evaluator ({latest}): "
            "upgrade evaluator"
        )
    for version, description, ddl in MIGRATIONS:
        if version <= current:
            continue
        with transaction(con):
            con.execute(ddl)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [version, description, datetime.now(UTC).replace(tzinfo=None)],
            )
    return latest


def connect(db: str | Path, read_only: bool = False, create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the database. Read-only opens never migrate.

    `create=False` for commands that need data already there (score): a mistyped path then
    fails with a message instead of leaving an empty database behind."""
    path = Path(db)
    if path.is_dir():
        raise StoreError(f"{path} is a directory: give the path of a DuckDB file, e.g. data/evaluator.duckdb")
    if (read_only or not create) and not path.exists():
        raise StoreError(f"{path}: no such database; load data with `evaluator ingest` "
                         "(or build the demo with `evaluator demo`) first")
    if read_only:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot open database: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        raise StoreError(
            f"{path}: cannot open database for writing ({exc}). Another process may hold it; "
            "the dashboard reads a snapshot, so stop any other writer and retry"
        ) from None
    except duckdb.Error as exc:
        raise StoreError(f"{path}: not a usable DuckDB database: {exc}") from None
    migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
