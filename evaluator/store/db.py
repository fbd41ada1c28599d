"""Open the DuckDB file and bring its schema up to date. The only place that runs DDL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from evaluator.defaults import DEFAULT_DB as DEFAULT_DB  # re-exported by evaluator.store
from evaluator.errors import EvaluatorError
from evaluator.store.migrations import MIGRATIONS

MAGIC_OFFSET, MAGIC = 8, b"DUCK"  # every DuckDB database file carries this at byte 8


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


def is_duckdb_file(path: Path) -> bool:
    """Whether `path` is a DuckDB database file (by its header, never by its name)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(MAGIC_OFFSET + len(MAGIC))
    except OSError:
        return False
    return head[MAGIC_OFFSET:] == MAGIC


def check_db_path(path: Path) -> None:
    """Refuse, before any work, a `--db` that names anything but a DuckDB file or a new file.

    DuckDB opens some other files (CSV, Parquet, JSON) as an in-memory database without a word,
    so a load into `--db units.csv` would report success and keep nothing."""
    if path.is_dir():
        raise StoreError(f"{path} is a directory: give the path of a DuckDB file, e.g. "
                         "data/evaluator.duckdb / 这是一个文件夹，请给出 DuckDB 数据库文件路径")
    if path.exists() and not is_duckdb_file(path):
        raise StoreError(
            f"{path}: exists and is not a DuckDB database (is it a data file? give it as the "
            "FILE argument, and --db the database, e.g. data/evaluator.duckdb); nothing was done "
            "/ 该文件不是 DuckDB 数据库，未做任何操作")


def connect(db: str | Path, read_only: bool = False, create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the database. Read-only opens never migrate.

    `create=False` for commands that need data already there (score): a mistyped path then
    fails with a message instead of leaving an empty database behind."""
    path = Path(db)
    check_db_path(path)
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
    try:
        migrate(con)
        reclaim(con, path)
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"{path}: cannot prepare the database ({_first_line(exc)}); "
                         f"{storage_hint(exc)}") from None
    return con


def reclaim(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Give back the space of a load that was killed half-way (its rows were never committed).

    DuckDB writes a large uncommitted batch straight into the file; after a kill those blocks
    are free but the file keeps its size until a checkpoint, which truncates free blocks at the
    end. So when the file is larger than its used blocks (or a WAL is left over), checkpoint."""
    if not path.is_file():  # ":memory:"
        return
    rows = con.execute("SELECT block_size, total_blocks FROM pragma_database_size() "
                       "WHERE database_name = current_database()").fetchall()
    if not rows:
        return
    block, blocks = int(rows[0][0]), int(rows[0][1])
    wal = path.with_name(path.name + ".wal")
    slack = 2 * block + (1 << 16)  # the three file headers and the block being filled
    if (wal.exists() and wal.stat().st_size) or path.stat().st_size > blocks * block + slack:
        con.execute("CHECKPOINT")


FULL_MARKERS = ("no space left", "file too large", "disk quota", "not enough space")


def is_storage_error(exc: BaseException) -> bool:
    """An I/O failure of the disk (full, quota, read-only), not of the data written."""
    return isinstance(exc, duckdb.IOException | OSError) or any(
        m in str(exc).lower() for m in FULL_MARKERS)


def storage_hint(exc: BaseException) -> str:
    """What to do about a storage error: free space when the disk (or a quota) is full."""
    text = str(exc).lower()
    if any(m in text for m in FULL_MARKERS):
        return ("the disk is full (or a file-size quota was reached): free some space and retry; "
                "nothing was written / 磁盘已满，请释放空间后重试，未写入任何数据")
    return "check that the file is readable and writable and retry / 请检查文件权限后重试"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


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
