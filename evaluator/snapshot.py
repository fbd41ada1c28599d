"""Read-only snapshots of the data DB for the dashboard, swapped in atomically.

DuckDB lets one process write a file or many processes read it, never both. The dashboard must
stay up while `evaluator score` writes, so it never opens the main DB: it reads
`<db dir>/snapshots/<db file name>` (the whole name, so `x.duckdb` and `x.db` in one folder never
share a snapshot), which a writer publishes after committing. The copy is made
by DuckDB itself (`COPY FROM DATABASE`, a consistent transaction), written to a temporary file in
the same directory, checkpointed, made read-only and moved over the old snapshot with
`os.replace`, so a reader sees either the old or the new snapshot, never half of one.
"""

from __future__ import annotations

import glob
import os
import stat
import time
import uuid
from pathlib import Path

import duckdb

from evaluator.errors import EvaluatorError
from evaluator.store.db import StoreError, check_db_path

SNAPSHOT_DIR = "snapshots"


class SnapshotError(EvaluatorError):
    """The snapshot could not be published; the message says why and what to do."""


def snapshot_path(db_path: str | Path) -> Path:
    """Where the latest snapshot of `db_path` lives (it may not exist yet)."""
    db = Path(db_path)
    return db.parent / SNAPSHOT_DIR / db.name


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _copy_into(con: duckdb.DuckDBPyConnection, source_alias: str, target: Path) -> None:
    alias = f"snap_{uuid.uuid4().hex[:8]}"
    con.execute(f"ATTACH {_sql_str(str(target))} AS {alias}")
    try:
        con.execute(f'COPY FROM DATABASE "{source_alias}" TO {alias}')
        con.execute(f"CHECKPOINT {alias}")
    finally:
        con.execute(f"DETACH {alias}")


def _swap_in(tmp: Path, final: Path) -> Path:
    wal = tmp.with_name(tmp.name + ".wal")
    if wal.exists():  # checkpointed above, so any WAL left is empty
        wal.unlink()
    tmp.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(tmp, final)
    return final


def _temp_beside(final: Path) -> Path:
    """A fresh temporary file beside `final`; stale ones of dead publishers are removed first."""
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final)
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.duckdb")


STALE_AFTER_S = 24 * 3600  # a temporary copy this old is stale even if its pid is alive again


def clean_stale(final: Path) -> list[Path]:
    """Delete temporary snapshots (and their WALs) left by a publisher that was killed.

    A temporary file is named `.<snapshot name>.<pid>.<random>.tmp.duckdb` (older versions
    used the DB's stem); it is stale when that process no longer runs, or after a day."""
    removed = []
    now = time.time()
    for prefix in {final.name, final.stem}:
        for tmp in final.parent.glob(f".{glob.escape(prefix)}.*.tmp.duckdb*"):
            pid = tmp.name[len(prefix) + 2:].split(".", 1)[0]
            try:
                age = now - tmp.stat().st_mtime
            except FileNotFoundError:
                continue
            if pid.isdigit() and (not _alive(int(pid)) or age > STALE_AFTER_S):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True



def _discard(tmp: Path) -> None:
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)


def publish_snapshot(db_path: str | Path) -> Path:
    """Copy the DB at `db_path` into its snapshot file and swap it in. Returns the snapshot path.

    Opens the DB read-only, so it fails (SnapshotError) while another process writes it; a writer
    that holds the DB open should call `publish_from_connection` instead.
    """
    db = Path(db_path)
    if not db.exists():
        raise SnapshotError(
            f"{db}: no such database; run `evaluator ingest` or `evaluator demo` first"
        )
    try:
        check_db_path(db)
    except StoreError as exc:
        raise SnapshotError(str(exc)) from None
    final = snapshot_path(db)
    tmp = _temp_beside(final)
    con = duckdb.connect()
    try:
        try:
            con.execute(f"ATTACH {_sql_str(str(db))} AS src (READ_ONLY)")
        except duckdb.Error as exc:
            raise SnapshotError(
                f"{db}: cannot open the database to publish a snapshot ({exc}). Another process "
                "may be writing it: `evaluator score` publishes a fresh snapshot itself when it "
                "finishes; otherwise retry when the writer is done"
            ) from None
        _copy_into(con, "src", tmp)
        con.execute("DETACH src")
    except SnapshotError:
        _discard(tmp)
        raise
    except (duckdb.Error, OSError) as exc:
        _discard(tmp)
        raise SnapshotError(f"{db}: publishing the snapshot failed: {exc}") from None
    finally:
        con.close()
    return _swap_in(tmp, final)


def publish_from_connection(con: duckdb.DuckDBPyConnection, db_path: str | Path) -> Path:
    """Publish a snapshot through a connection that already has `db_path` open (e.g. for writing).

    Call it after the transaction that wrote the run has committed.
    """
    final = snapshot_path(db_path)
    tmp = _temp_beside(final)
    rows = con.execute("SELECT current_database()").fetchall()
    source = str(rows[0][0]) if rows else "main"
    try:
        _copy_into(con, source, tmp)
    except (duckdb.Error, OSError) as exc:
        _discard(tmp)
        raise SnapshotError(f"{db_path}: publishing the snapshot failed: {exc}") from None
    return _swap_in(tmp, final)


def latest_snapshot(db_path: str | Path) -> Path | None:
    """The snapshot the dashboard should read, or None when none was published yet."""
    path = snapshot_path(db_path)
    return path if path.exists() else None


def snapshot_version(path: str | Path) -> int:
    """Changes whenever a new snapshot is swapped in: caches key on it together with the run id."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return 0
    return st.st_mtime_ns ^ st.st_ino
